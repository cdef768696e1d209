/**
 * `npm start`: the byte layer on this runtime. Starts the echo server on a
 * loopback port, has a client talk to it, prints both sides, and stops.
 *
 *   npm start            (Node)      deno run -A examples/main.ts      bun examples/main.ts
 */
import { formatAddr } from "../mod.ts";
import { askEcho } from "./echo_client.ts";
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
