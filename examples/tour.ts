/**
 * `npm run demo`: weft on this runtime, layer by layer. The byte layer: an echo
 * server on a loopback port and a client talking to it. Frames and dispatch:
 * a pipelined line protocol (a key-value store) served with serve() and
 * called through a pool of pipelined connections; a multiplexed RPC whose
 * answers come back out of order, one of them with a streamed body. Then it
 * stops.
 *
 *   npm run demo         (Node)      deno run -A examples/tour.ts      bun examples/tour.ts
 */
import { formatAddr } from "../mod.ts";
import { askEcho } from "./echo_client.ts";
import { demo as pipelineDemo } from "./pipeline_lines.ts";
import { demo as multiplexDemo } from "./multiplex_rpc.ts";
import { serveEcho } from "./echo_server.ts";
import { net, runtime } from "./_net.ts";

const port = Number(process.env.PORT ?? 0);
const listener = await net.listen({ hostname: "127.0.0.1", port });
console.log(`weft on ${runtime}: echo server listening on ${formatAddr(listener.addr)}`);
const serving = serveEcho(listener, console.log);

const reply = await askEcho(net, listener.addr.port!, ["hello from weft", "bytes in, bytes out", "bye"], console.log);

await listener.close();
await serving;
console.log(`done: ${reply.length} bytes echoed; listener closed`);

console.log("\npipelined key-value store (lines() + serve() + a pool of pipelined clients):");
await pipelineDemo(net, console.log);

console.log("\nmultiplexed RPC (lengthDelimited() frames with a 4-byte id, streamed responses), one connection:");
await multiplexDemo(net, console.log);
