/**
 * The servers of `npm run bench:http`, on the runtime it is started with:
 * weft's HTTP/1.1 server (serveHttp() with a fetch handler answering
 * "Hello, World!") and the runtime's own — `node:http` on Node, `Deno.serve`
 * on Deno, `Bun.serve` on Bun — answering the same (status 200,
 * `content-type: text/plain;charset=UTF-8`).
 * Prints {"runtime","native":port,"weft":port} and serves until stdin closes.
 */
import type { Adapter } from "../mod.ts";
import { serveHttp } from "../src/protocols/http/mod.ts";
import { runtime, version } from "./_worker.ts";

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

const native = await nativeServer();
const listener = await adapter.listen({ hostname: HOST, port: 0, noDelay: true });
const weft = serveHttp({ listener, fetch: () => new Response(BODY), onError: () => {} });
// The same with lazyRequests: a Request is built only when the handler reads more than url, method, headers, signal.
const lazy = serveHttp({ listener: await adapter.listen({ hostname: HOST, port: 0, noDelay: true }), lazyRequests: true, fetch: () => new Response(BODY), onError: () => {} });

console.log(JSON.stringify({ runtime: `${runtime} ${version}`, native: native.port, weft: weft.addr.port, lazy: lazy.addr.port }));
process.stdin.resume();
process.stdin.on("end", async () => {
  await Promise.race([Promise.all([weft.shutdown({ timeoutMs: 1000 }), lazy.shutdown({ timeoutMs: 1000 })]), new Promise((r) => setTimeout(r, 2000))]);
  await Promise.race([native.close(), new Promise((r) => setTimeout(r, 1000))]);
  process.exit(0);
});
