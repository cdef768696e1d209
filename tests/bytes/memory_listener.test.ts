/** memoryListener(): connect() reaches accept(), a bounded backlog, close() and signal refuse later connects. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { memoryListener, NetError } from "../../mod.ts";
import { readText, settle, writeText } from "../_helpers.ts";

const test = suite("bytes: memoryListener");

test("connect() hands the far end of a pipe to accept(), in order", async () => {
  const listener = memoryListener();
  assert.is(listener.addr.transport, "memory");
  const a = await listener.connect();
  const b = await listener.connect();
  const sa = (await listener.accept())!;
  const sb = (await listener.accept())!;
  assert.equal(sa.remoteAddr, a.localAddr);
  assert.equal(sb.remoteAddr, b.localAddr);
  await writeText(a.writable, "to a", true);
  assert.is(await readText(sa.readable), "to a");
  await Promise.all([a.close(), b.close(), sa.close(), sb.close()]);
  await listener.close();
});

test("a full backlog refuses connects and counts them; accepting makes room", async () => {
  const listener = memoryListener({ backlog: 2 });
  const held = [await listener.connect(), await listener.connect()];
  const refused = await settle(listener.connect());
  assert.ok(!refused.ok && refused.error instanceof NetError && refused.error.code === "connection-refused");
  assert.match((refused as { error: Error }).error.message, /backlog is full/);
  assert.is(listener.dropped, 1);
  const accepted = (await listener.accept())!;
  const third = await listener.connect();
  await Promise.all([...held, third, accepted].map((c) => c.close()));
  await listener.close();
});

test("close() and the signal refuse later connects; iteration ends", async () => {
  const controller = new AbortController();
  const listener = memoryListener({ signal: controller.signal });
  const queued = await listener.connect();
  const got: unknown[] = [];
  const iterating = (async () => {
    for await (const conn of listener) got.push(conn);
  })();
  await new Promise((r) => setTimeout(r, 0));
  controller.abort();
  await iterating;
  assert.is(got.length, 1);
  const late = await settle(listener.connect());
  assert.ok(!late.ok && (late.error as NetError).code === "connection-refused");
  assert.match((late as { error: Error }).error.message, /is closed/);
  await queued.close();
});

test("bad options are TypeErrors and RangeErrors", () => {
  assert.throws(() => memoryListener(null as never), TypeError);
  assert.throws(() => memoryListener({ backlog: 0 }), RangeError);
  assert.throws(() => memoryListener({ capacityBytes: 0 }), RangeError);
});

test.run();
