/**
 * The servers of `npm run bench:http`, on the runtime it is started with, all
 * answering "Hello, World!" (status 200, `content-type:
 * text/plain;charset=UTF-8`):
 * - `native`: the runtime's own server (`node:http`, `Deno.serve`, `Bun.serve`);
 * - `raw`: a hand-written responder on the runtime's socket API, which does
 *   no more than count request heads: the ceiling on this machine;
 * - `weft`: serveHttp() with `new Response()` and its default, standard Requests;
 * - `fastResponse`: the same answering with a FastResponse;
 * - `fast`: FastResponse and `lazyRequests: true`, weft's fastest path.
 * Runs the one server `--server=` names (each in a process of its own, so
 * that one's code paths do not slow another's down through shared call
 * sites), prints {"runtime","port"} and serves until stdin closes.
 */
import type { Adapter } from "../mod.ts";
import { FastResponse, serveHttp } from "../src/protocols/http/mod.ts";
import type { BenchServer } from "./_scenarios.ts";
import { arg, runtime, version } from "./_worker.ts";

const HOST = "127.0.0.1";
const BODY = "Hello, World!";

interface NativeServer {
  port: number;
  close(): Promise<void>;
}

// Only the runtime's own globals, typed here: this file is type-checked with Node's types alone.
interface DenoServe {
  serve(options: { hostname: string; port: number; onListen(): void }, handler: () => Response): {
    addr: { port: number };
    shutdown(): Promise<void>;
  };
}
interface BunServe {
  serve(options: { hostname: string; port: number; fetch: () => Response }): { port: number; stop(closeActive?: boolean): Promise<void> | void };
}
const g = globalThis as { Deno?: DenoServe; Bun?: BunServe };

/** The runtime's own HTTP server, with its defaults (keep-alive on). */
async function nativeServer(): Promise<NativeServer> {
  if (g.Deno) {
    const server = g.Deno.serve({ hostname: HOST, port: 0, onListen() {} }, () => new Response(BODY));
    return { port: server.addr.port, close: () => server.shutdown() };
  }
  if (g.Bun) {
    const server = g.Bun.serve({ hostname: HOST, port: 0, fetch: () => new Response(BODY) });
    return { port: server.port, close: async () => void (await server.stop(true)) };
  }
  const http = await import("node:http");
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain;charset=UTF-8" });
    res.end(BODY);
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const adapter = (await import(`../adapters/${runtime}.ts`)) as Adapter;
const listen = () => adapter.listen({ hostname: HOST, port: 0, noDelay: true });

/** The server `kind` names, started. */
async function start(kind: string): Promise<NativeServer> {
  if (kind === "native") return nativeServer();
  if (kind === "raw") return ((await import(`./${runtime}_native.ts`)).httpResponder as () => Promise<BenchServer>)();
  let server: ReturnType<typeof serveHttp>;
  if (kind === "weft") server = serveHttp({ listener: await listen(), fetch: () => new Response(BODY), onError: () => {} });
  else if (kind === "fastResponse") server = serveHttp({ listener: await listen(), fetch: () => new FastResponse(BODY), onError: () => {} });
  // A Request is built only when the handler reads more than url, method, headers, signal.
  else if (kind === "fast") server = serveHttp({ listener: await listen(), lazyRequests: true, fetch: () => new FastResponse(BODY), onError: () => {} });
  else throw new Error(`Unknown --server=${kind}: expected native, raw, weft, fastResponse or fast`);
  return { port: server.addr.port!, close: () => server.shutdown({ timeoutMs: 1000 }) };
}

const server = await start(arg("server", "weft"));
console.log(JSON.stringify({ runtime: `${runtime} ${version}`, port: server.port }));
process.stdin.resume();
process.stdin.on("end", async () => {
  await Promise.race([server.close(), new Promise((r) => setTimeout(r, 2000))]);
  process.exit(0);
});
