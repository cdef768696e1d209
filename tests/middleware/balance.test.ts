/** balance(): power of two choices by pending calls or peak EWMA, capacity first, a set that changes. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { balance, ManualClock, NetError } from "../../mod.ts";
import { aborter, CapacityMock, hold, Mock, state } from "./_mock.ts";

const test = suite("middleware: balance");

/** A random source that returns the given numbers in turn. */
const seq = (...xs: number[]) => {
  let i = 0;
  return () => xs[i++ % xs.length]!;
};

test("of two candidates, the one with fewer calls pending", async () => {
  const a = new Mock<number, string>();
  const b = new Mock<number, string>();
  // Candidates: (a, b) every time.
  const lb = balance({ services: [a, b], random: seq(0, 0) });
  hold(lb.call(1)); // equal: the first candidate
  hold(lb.call(2)); // a has 1 pending: b
  hold(lb.call(3)); // equal again: a
  assert.equal([a.calls.length, b.calls.length], [2, 1]);
  assert.equal(lb.pending, [2, 1]);
  a.at(0).resolve("x");
  a.at(1).resolve("y");
  await state(Promise.resolve());
  assert.equal(lb.pending, [0, 1]);
});

test("prefers a candidate with capacity", async () => {
  const full = new CapacityMock<number, string>();
  full.setCapacity(0);
  const free = new CapacityMock<number, string>();
  const lb = balance({ services: [full, free], random: seq(0, 0) });
  hold(lb.call(1));
  hold(lb.call(2));
  assert.equal([full.calls.length, free.calls.length], [0, 2]);
  assert.is(lb.capacity, 1);
});

test("peak EWMA steers away from a slow service", async () => {
  const clock = new ManualClock();
  const slow = new Mock<number, number>();
  const fast = new Mock<number, number>();
  const lb = balance({ services: [slow, fast], load: "peak-ewma", random: seq(0, 0), clock });
  const p = lb.call(1);
  hold(lb.call(2));
  fast.at(0).resolve(2);
  await clock.advance(500);
  slow.at(0).resolve(1);
  await p;
  hold(lb.call(3));
  hold(lb.call(4));
  assert.equal([slow.calls.length, fast.calls.length], [1, 3]);
});

test("add and remove at run time; empty is unavailable; the caller's abort reaches the pick", async () => {
  const a = new Mock<number, number>();
  const b = new Mock<number, number>();
  const lb = balance<number, number>({});
  assert.is(((await state(lb.call(1))) as { error: NetError }).error.code, "unavailable");
  lb.add(a);
  const ab = aborter();
  const p = hold(lb.call(2, { signal: ab.signal }));
  ab.abort();
  assert.equal(await state(p), { error: ab.reason });
  assert.equal(lb.pending, [0]);
  lb.add(b);
  assert.ok(lb.remove(a));
  assert.not.ok(lb.remove(a));
  hold(lb.call(3));
  assert.equal([a.calls.length, b.calls.length], [1, 1]);
  await lb.close();
  assert.ok(b.closed);
  assert.is(((await state(lb.call(4))) as { error: NetError }).error.code, "closed");
});

test("ready() resolves when any service has room, and the other waits are stopped", async () => {
  const a = new CapacityMock<number, number>();
  const b = new CapacityMock<number, number>();
  a.setCapacity(0);
  b.setCapacity(0);
  const lb = balance({ services: [a, b] });
  const r = lb.ready!();
  assert.equal([a.readyWaiters, b.readyWaiters], [1, 1]);
  b.setCapacity(1);
  assert.equal(await state(r), { value: undefined });
  assert.equal([a.readyWaiters, b.readyWaiters], [0, 0]);
});

test("bad options", () => {
  assert.throws(() => balance({ load: "random" as never }), (e: unknown) => e instanceof TypeError && /load "random" for balance\(\)/.test((e as Error).message));
  assert.throws(() => balance({ services: [{} as never] }), TypeError);
});

test.run();
