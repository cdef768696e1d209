/** respClient() against a real redis-server on this runtime: replies, errors as values, RESP3, setup commands, pub/sub, pipelining. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { NetError } from "../../mod.ts";
import { respClient, type RespClientOptions, RespError } from "../../src/protocols/resp/mod.ts";
import { loadAdapter } from "../_runtime.ts";
import { type RedisServer, startRedis } from "./_redis_server.ts";

const net = await loadAdapter();
const test = suite(`resp: client against redis-server (${net.name})`);
let redis: RedisServer;

test.before(async () => {
  redis = await startRedis(net);
});
test.after(async () => {
  await redis.stop();
});

const client = (o: Partial<RespClientOptions> = {}) =>
  respClient({ connect: (signal) => net.connect({ hostname: "127.0.0.1", port: redis.port, signal }), ...o });

test("strings, integers, nulls, arrays; an error reply is a RespError value", async () => {
  const r = client();
  assert.is(await r.send("FLUSHDB"), "OK");
  assert.is(await r.send("SET", "k", "v"), "OK");
  assert.is(await r.send("GET", "k"), "v");
  assert.is(await r.send("GET", "missing"), null);
  assert.is(await r.send("INCRBY", "n", 41), 41);
  assert.is(await r.send("INCR", "n"), 42);
  assert.equal(await r.send("MGET", "k", "missing", "n"), ["v", null, "42"]);
  const err = await r.send("INCR", "k");
  assert.instance(err, RespError);
  assert.is((err as RespError).prefix, "ERR");
  assert.is((err as RespError).message, "ERR value is not an integer or out of range");
  const unknown = await r.call(["NOSUCHCOMMAND", "a"]);
  assert.instance(unknown, RespError);
  assert.is(await r.send("SET", "bin", Uint8Array.of(0xff, 0x00)), "OK");
  assert.equal(await r.send("GET", "bin"), Uint8Array.of(0xff, 0x00), "bytes that are not UTF-8 stay bytes");
  await r.close();
});

test("10,000 calls at once are pipelined over the pool and answered in order", async () => {
  const r = client({ poolSize: 2 });
  const replies = await Promise.all(Array.from({ length: 10_000 }, (_, i) => r.send("ECHO", `m${i}`)));
  assert.ok(replies.every((v, i) => v === `m${i}`));
  assert.ok(r.connections <= 2);
  await r.close();
});

test("RESP3: HELLO 3, maps and doubles; SELECT and CLIENT SETNAME on each connection", async () => {
  const r = client({ protocol: 3, database: 2, name: "weft-test" });
  assert.is(await r.send("CLIENT", "GETNAME"), "weft-test");
  await r.send("SET", "only-in-db-2", "x");
  const info = await r.send("HELLO", 3);
  assert.instance(info, Map);
  assert.is((info as Map<unknown, unknown>).get("proto"), 3);
  assert.is(await r.send("INCRBYFLOAT", "f", "1.5"), "1.5");
  await r.close();
  const db0 = client();
  assert.is(await db0.send("EXISTS", "only-in-db-2"), 0);
  await db0.close();
});

test("a setup the server refuses fails the call with a NetError whose cause is the RespError", async () => {
  const r = client({ password: "wrong" });
  const e = await r.send("PING").then(() => undefined, (err: unknown) => err);
  assert.instance(e, NetError);
  assert.is((e as NetError).code, "rejected");
  assert.instance((e as Error).cause, RespError);
  await r.close();
});

test("subscribe: published messages arrive as a stream; cancelling unsubscribes", async () => {
  for (const protocol of [2, 3] as const) {
    const r = client({ protocol });
    const messages = r.subscribe(["news", "sport"]);
    const reader = messages.getReader();
    const first = reader.read();
    // The subscription is set up when the first read starts; publish until it is seen.
    let got: Awaited<typeof first> | undefined;
    for (let i = 0; got === undefined && i < 200; i++) {
      await r.send("PUBLISH", "news", `hello ${protocol}`);
      got = await Promise.race([first, new Promise<undefined>((res) => setTimeout(res, 10))]);
    }
    assert.equal(got?.value, { channel: "news", message: `hello ${protocol}` });
    await r.send("PUBLISH", "sport", "goal");
    let next = await reader.read();
    while (next.value?.channel === "news") next = await reader.read();
    assert.equal(next.value, { channel: "sport", message: "goal" });
    await reader.cancel();
    await r.close();
  }
});

test.run();
