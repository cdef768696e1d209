/** circuitBreaker(): failure accrual, fail fast, half-open probes, growing rests, aborts. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { circuitBreaker, ManualClock, NetError } from "../../mod.ts";
import { aborter, hold, Mock, state, tick } from "./_mock.ts";

const test = suite("middleware: circuitBreaker");
const code = async (p: Promise<unknown>) => ((await state(p)) as { error: NetError }).error.code;

test("opens after consecutive failures, fails fast, probes after the rest, closes on success", async () => {
  const clock = new ManualClock();
  const mock = new Mock<number, number>();
  const rests: number[] = [];
  const svc = circuitBreaker({ consecutiveFailures: 2, backoff: (n) => (rests.push(n), 100 * n), clock })(mock);
  for (let i = 0; i < 2; i++) {
    const p = hold(svc.call(i));
    mock.at(i).reject(new Error("down"));
    await state(p);
  }
  assert.is(await code(svc.call(9)), "circuit-open");
  assert.is(svc.capacity, 0);
  assert.is(mock.calls.length, 2);
  await clock.advance(100);
  assert.is(svc.capacity, 1); // half-open: one probe
  const probe = hold(svc.call(3));
  assert.is(await code(svc.call(4)), "circuit-open"); // only one probe at a time
  mock.at(2).reject(new Error("still down"));
  await state(probe);
  assert.is(svc.capacity, 0); // open again, for longer
  await clock.advance(100);
  assert.is(svc.capacity, 0);
  await clock.advance(100);
  const probe2 = svc.call(5);
  mock.at(3).resolve(5);
  assert.is(await probe2, 5);
  assert.is(svc.capacity, undefined); // closed
  assert.equal(rests, [1, 2]);
  assert.is(clock.pending, 0);
});

test("a success resets the count; an aborted call counts neither way, an aborted probe frees the probe", async () => {
  const clock = new ManualClock();
  const mock = new Mock<number, number>();
  const svc = circuitBreaker({ consecutiveFailures: 2, backoff: () => 10, clock })(mock);
  const fail = async (i: number) => {
    const p = hold(svc.call(i));
    mock.at(mock.calls.length - 1).reject(new Error("x"));
    await state(p);
  };
  await fail(0);
  const ok = svc.call(1);
  mock.at(1).resolve(1);
  await ok;
  await fail(2);
  const a = aborter();
  const aborted = hold(svc.call(3, { signal: a.signal }));
  a.abort();
  await state(aborted);
  assert.is(svc.capacity, undefined); // still closed
  await fail(4);
  assert.is(svc.capacity, 0);
  await clock.advance(10);
  const b = aborter();
  const probe = hold(svc.call(5, { signal: b.signal }));
  assert.is(svc.capacity, 0);
  b.abort();
  await state(probe);
  assert.is(svc.capacity, 1); // half-open again: the next call probes
});

test("success rate in a window opens it once there are enough calls", async () => {
  const clock = new ManualClock();
  const mock = new Mock<number, number>();
  const svc = circuitBreaker({ consecutiveFailures: 100, successRate: { minRate: 0.5, windowMs: 1000, minRequests: 4 }, clock })(mock);
  const run = async (ok: boolean) => {
    const p = hold(svc.call(0));
    const c = mock.at(mock.calls.length - 1);
    if (ok) c.resolve(0);
    else c.reject(new Error("x"));
    await state(p);
  };
  await run(false);
  await run(true);
  await run(false);
  assert.is(svc.capacity, undefined); // 3 calls: not enough to judge
  await run(false); // 1 of 4
  assert.is(svc.capacity, 0);
});

test("ready() waits out the rest, and can be abandoned", async () => {
  const clock = new ManualClock();
  const mock = new Mock<number, number>();
  const svc = circuitBreaker({ consecutiveFailures: 1, backoff: () => 50, clock })(mock);
  const p = hold(svc.call(0));
  mock.at(0).reject(new Error("x"));
  await state(p);
  const r = svc.ready!();
  const a = aborter();
  const gone = hold(svc.ready!(a.signal));
  a.abort();
  assert.equal(await state(gone), { error: a.reason });
  assert.is(clock.pending, 1);
  await clock.advance(50);
  await tick();
  assert.equal(await state(r), { value: undefined });
  assert.is(clock.pending, 0);
});

test("bad options", () => {
  assert.throws(() => circuitBreaker({ consecutiveFailures: 0 }), RangeError);
  assert.throws(() => circuitBreaker({ successRate: { minRate: 2 } }), (e: unknown) => e instanceof RangeError && /successRate.minRate 2/.test((e as Error).message));
});

test.run();
