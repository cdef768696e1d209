/**
 * The servers of `npm run bench:dispatch`, on the runtime it is started with:
 * weft's (lines() and the pipeline dispatcher through serve(), a service
 * answering "+PONG") and a hand-written one on the runtime's own socket API.
 * Prints {"runtime","native":port,"weft":port} and serves until stdin closes.
 */
import { type Adapter, lines, serve, serviceFn } from "../mod.ts";
import type { BenchServer } from "./_scenarios.ts";
import { runtime, version } from "./_worker.ts";

const adapter = (await import(`../adapters/${runtime}.ts`)) as Adapter;
const native = (await import(`./${runtime}_native.ts`)).pingServer as () => Promise<BenchServer>;

const nativeServer = await native();
const listener = await adapter.listen({ hostname: "127.0.0.1", port: 0, noDelay: true });
const weft = serve(listener, {
  codec: () => lines({ lineEnding: "\r\n" }),
  mode: "pipeline",
  service: serviceFn(() => "+PONG"),
});

console.log(JSON.stringify({ runtime: `${runtime} ${version}`, native: nativeServer.port, weft: listener.addr.port }));
process.stdin.resume();
process.stdin.on("end", async () => {
  await Promise.race([weft.shutdown({ timeoutMs: 1000 }), new Promise((r) => setTimeout(r, 2000))]);
  await nativeServer.close();
  process.exit(0);
});
