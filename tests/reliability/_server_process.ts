/**
 * A server process for the reliability tests that measure a server from the
 * outside: serveHttp() and respServer() on this runtime's loopback, in a
 * process of their own, so that its memory is its alone.
 *
 *   <runtime> tests/reliability/_server_process.ts [--body-bytes=N]
 *
 * Prints one JSON line `{"http":port,"resp":port,"pid":pid}`, then answers
 * each line `stats` on stdin with `{"http":{...},"resp":{...},"rss":bytes}`:
 * requests handled and connections open per server, and its resident memory.
 * Shuts down and exits when stdin closes (or after 10 minutes).
 *
 * HTTP: every request gets `--body-bytes` bytes (default 1024). RESP:
 * respStore()'s commands, counted as they run.
 */
import { serve } from "../../mod.ts";
import { serveHttp } from "../../src/protocols/http/mod.ts";
import { respServer, respStore } from "../../src/protocols/resp/mod.ts";
import { loadAdapter } from "../_runtime.ts";

const net = await loadAdapter();
const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const body = new Uint8Array(Number(arg("body-bytes", "1024"))).fill(0x78);

let requests = 0;
let commands = 0;
const http = serveHttp({
  listener: await net.listen({ hostname: "127.0.0.1", port: 0 }),
  fetch: () => {
    requests++;
    return new Response(body);
  },
  onError: () => {},
});
const store = respStore();
const resp = serve(
  await net.listen({ hostname: "127.0.0.1", port: 0 }),
  respServer({
    ...store,
    guard: (name, args, ctx) => {
      commands++;
      return store.guard?.(name, args, ctx);
    },
  }),
  { onError: () => {} },
);

/** Resident memory, from /proc: what the operating system gives this process. */
function rss(): number {
  return process.memoryUsage().rss;
}

process.stdout.write(`${JSON.stringify({ http: http.addr.port, resp: resp.addr.port, pid: process.pid })}\n`);

let line = "";
process.stdin.on("data", (d: Uint8Array | string) => {
  line += typeof d === "string" ? d : new TextDecoder().decode(d);
  for (let i = line.indexOf("\n"); i >= 0; i = line.indexOf("\n")) {
    const command = line.slice(0, i).trim();
    line = line.slice(i + 1);
    if (command === "stats") {
      const stats = {
        http: { requests, connections: http.connections, refused: http.refused },
        resp: { commands, connections: resp.connections, refused: resp.refused },
        rss: rss(),
      };
      process.stdout.write(`${JSON.stringify(stats)}\n`);
    }
  }
});
const exit = async () => {
  await Promise.all([http.shutdown({ timeoutMs: 500 }), resp.shutdown({ timeoutMs: 500 })]);
  process.exit(0);
};
process.stdin.on("end", () => void exit());
process.stdin.resume();
setTimeout(() => void exit(), 600_000).unref?.();
