/** rateLimit(): windows, waiting calls, aborts while queued, the timer only while someone waits. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { ManualClock, rateLimit } from "../../mod.ts";
import { aborter, hold, Mock, state } from "./_mock.ts";

const test = suite("middleware: rateLimit");

test("requests per window; the rest start, in order, in the next windows", async () => {
  const clock = new ManualClock();
  const mock = new Mock<number, number>();
  const svc = rateLimit({ requests: 2, perMs: 100, clock })(mock);
  [1, 2, 3, 4, 5].forEach((n) => hold(svc.call(n)));
  assert.equal(mock.calls.map((c) => c.req), [1, 2]);
  assert.is(svc.capacity, 0);
  await clock.advance(100);
  assert.equal(mock.calls.map((c) => c.req), [1, 2, 3, 4]);
  await clock.advance(100);
  assert.equal(mock.calls.map((c) => c.req), [1, 2, 3, 4, 5]);
  assert.is(clock.pending, 0);
  assert.is(svc.capacity, 1);
  await clock.advance(100);
  assert.is(svc.capacity, 2);
});

test("abort while queued: leaves at once, never calls; the timer stops when nobody waits", async () => {
  const clock = new ManualClock();
  const mock = new Mock<number, number>();
  const svc = rateLimit({ requests: 1, perMs: 1000, clock })(mock);
  hold(svc.call(1));
  const a = aborter();
  const queued = hold(svc.call(2, { signal: a.signal }));
  assert.is(clock.pending, 1);
  a.abort();
  assert.equal(await state(queued), { error: a.reason });
  assert.is(clock.pending, 0);
  await clock.advance(1000);
  assert.is(mock.calls.length, 1);
  assert.is(svc.capacity, 1);
});

test("ready() resolves with the next window, and can be abandoned", async () => {
  const clock = new ManualClock();
  const svc = rateLimit({ requests: 1, perMs: 50, clock })(new Mock());
  hold(svc.call(1));
  const r = svc.ready!();
  const a = aborter();
  const gone = hold(svc.ready!(a.signal));
  a.abort();
  assert.equal(await state(gone), { error: a.reason });
  await clock.advance(50);
  assert.equal(await state(r), { value: undefined });
  assert.is(clock.pending, 0);
});

test("bad options", () => {
  assert.throws(() => rateLimit({ requests: 1, perMs: -1 }), (e: unknown) => e instanceof RangeError && /perMs -1 for rateLimit\(\)/.test((e as Error).message));
  assert.throws(() => rateLimit({ requests: 1.5, perMs: 1 }), RangeError);
});

test.run();
