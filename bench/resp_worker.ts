/**
 * The server of `npm run bench:resp`, on the runtime it is started with:
 * weft's Redis-compatible server (serve() with respServer(respStore())).
 * Prints {"runtime","weft":port} and serves until stdin closes.
 */
import { type Adapter, serve } from "../mod.ts";
import { respServer, respStore } from "../src/protocols/resp/mod.ts";
import { runtime, version } from "./_worker.ts";

const adapter = (await import(`../adapters/${runtime}.ts`)) as Adapter;
const listener = await adapter.listen({ hostname: "127.0.0.1", port: 0 });
const server = serve(listener, respServer(respStore()), { onError: () => {} });

console.log(JSON.stringify({ runtime: `${runtime} ${version}`, weft: listener.addr.port }));
process.stdin.resume();
process.stdin.on("end", async () => {
  await Promise.race([server.shutdown({ timeoutMs: 1000 }), new Promise((r) => setTimeout(r, 2000))]);
  process.exit(0);
});
