/** reconnect(): made lazily, shared, made again after it breaks, backoff after failures, aborts while waiting. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { ManualClock, NetError, reconnect, type Service } from "../../mod.ts";
import { aborter, hold, Mock, state, tick } from "./_mock.ts";

const test = suite("middleware: reconnect");

test("makes the service on the first call, once for calls that arrive together, and again after it breaks", async () => {
  const maker = new Mock<string, Service<number, number>>();
  const svc = reconnect({ target: "db", clock: new ManualClock() })(maker);
  assert.is(maker.calls.length, 0);
  const p1 = svc.call(1);
  const p2 = svc.call(2);
  assert.is(maker.calls.length, 1);
  assert.is(maker.at(0).req, "db");
  const conn = new Mock<number, number>();
  maker.at(0).resolve(conn);
  await tick();
  conn.at(0).resolve(10);
  conn.at(1).reject(new NetError("connection-reset", "reset"));
  assert.is(await p1, 10);
  assert.ok(((await state(p2)) as { error: NetError }).error.code === "connection-reset");
  assert.ok(conn.closed);
  const p3 = svc.call(3);
  assert.is(maker.calls.length, 2);
  const conn2 = new Mock<number, number>();
  maker.at(1).resolve(conn2);
  await tick();
  conn2.at(0).resolve(30);
  assert.is(await p3, 30);
});

test("a failure to make rejects the waiting calls; the next attempt waits the backoff", async () => {
  const clock = new ManualClock();
  const maker = new Mock<undefined, Service<number, number>>();
  const svc = reconnect({ backoff: (n) => 100 * n, clock })(maker);
  const p = hold(svc.call(1));
  maker.at(0).reject(new NetError("connection-refused", "refused"));
  assert.ok(((await state(p)) as { error: NetError }).error.code === "connection-refused");
  assert.is(svc.capacity, 0);
  const q = hold(svc.call(2));
  await clock.advance(99);
  assert.is(maker.calls.length, 1);
  await clock.advance(1);
  assert.is(maker.calls.length, 2);
  const conn = new Mock<number, number>();
  maker.at(1).resolve(conn);
  await tick();
  conn.at(0).resolve(2);
  assert.is(await q, 2);
});

test("abort while waiting: the caller leaves at once; with nobody left the attempt and its timer stop", async () => {
  const clock = new ManualClock();
  const maker = new Mock<undefined, Service<number, number>>();
  const svc = reconnect({ backoff: () => 100, clock })(maker);
  const a = aborter();
  const p = hold(svc.call(1, { signal: a.signal }));
  const b = aborter();
  const q = hold(svc.call(2, { signal: b.signal }));
  a.abort();
  assert.equal(await state(p), { error: a.reason });
  assert.not.ok(maker.at(0).signal!.aborted); // q still waits
  b.abort();
  assert.equal(await state(q), { error: b.reason });
  assert.ok(maker.at(0).signal!.aborted && maker.at(0).settled);
  // In the backoff: aborting stops its timer.
  const r = hold(svc.call(3));
  maker.at(1).reject(new Error("refused"));
  await state(r);
  const c = aborter();
  const s = hold(svc.call(4, { signal: c.signal }));
  assert.is(clock.pending, 1);
  c.abort();
  assert.equal(await state(s), { error: c.reason });
  assert.is(clock.pending, 0);
  assert.is(maker.calls.length, 2);
});

test("close() closes the service and refuses calls", async () => {
  const maker = new Mock<undefined, Service<number, number>>();
  const svc = reconnect({ clock: new ManualClock() })(maker);
  const p = svc.call(1);
  const conn = new Mock<number, number>();
  maker.at(0).resolve(conn);
  await tick();
  conn.at(0).resolve(1);
  await p;
  await svc.close!();
  assert.ok(conn.closed);
  assert.ok(((await state(svc.call(2))) as { error: NetError }).error.code === "closed");
});

test.run();
