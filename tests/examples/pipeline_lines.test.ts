/** examples/pipeline_lines.ts over real sockets on this runtime: the session it prints, and nothing left open. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { demo, kvClient, serveKv } from "../../examples/pipeline_lines.ts";
import { loadAdapter } from "../_runtime.ts";

const net = await loadAdapter();
const test = suite(`examples: pipelined key-value store (${net.name})`);

test("the demo's session", async () => {
  assert.equal(await demo(net, () => {}), ["OK", "hello pipelined world", "100", "ERR unknown command 'NOPE'"]);
});

test("replies come back in request order, 1,000 calls over two connections", async () => {
  const listener = await net.listen({ hostname: "127.0.0.1", port: 0 });
  const server = serveKv(listener);
  const client = kvClient(net, listener.addr.port!, 2);
  const sets = await Promise.all(Array.from({ length: 1000 }, (_, i) => client.call(`SET k${i} v${i}`)));
  assert.ok(sets.every((r) => r === "OK"));
  const gets = await Promise.all(Array.from({ length: 1000 }, (_, i) => client.call(`GET k${i}`)));
  assert.ok(gets.every((r, i) => r === `v${i}`));
  await client.close();
  await server.shutdown();
  assert.is(server.connections, 0);
});

test.run();
