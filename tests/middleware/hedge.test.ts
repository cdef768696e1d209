/** hedge(): a backup after the observed percentile, the loser aborted, aborts while hedged. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { hedge, ManualClock, RetryBudget } from "../../mod.ts";
import { aborter, hold, Mock, state } from "./_mock.ts";

const test = suite("middleware: hedge");

/** A hedge layer that has seen `n` calls of `ms` each. */
async function warmed(ms: number, n: number, extra: Parameters<typeof hedge>[0] = {}) {
  const clock = new ManualClock();
  const mock = new Mock<number, number>();
  const svc = hedge({ minSamples: n, clock, ...extra })(mock);
  for (let i = 0; i < n; i++) {
    const p = svc.call(i);
    await clock.advance(ms);
    mock.at(i).resolve(i);
    await p;
  }
  return { clock, mock, svc, base: n };
}

test("no hedging before minSamples", async () => {
  const clock = new ManualClock();
  const mock = new Mock<number, number>();
  const svc = hedge({ minSamples: 5, clock })(mock);
  hold(svc.call(1));
  assert.is(clock.pending, 0);
  await clock.advance(1000);
  assert.is(mock.calls.length, 1);
});

test("a slow call gets a backup after the percentile; the first answer wins and the loser is aborted", async () => {
  const { clock, mock, svc, base } = await warmed(10, 20);
  const p = svc.call(100);
  await clock.advance(9);
  assert.is(mock.calls.length, base + 1);
  await clock.advance(1);
  assert.is(mock.calls.length, base + 2); // the backup
  mock.at(base + 1).resolve(7);
  assert.is(await p, 7);
  assert.ok(mock.at(base).signal!.aborted && mock.at(base).settled);
  assert.is(clock.pending, 0);
});

test("an error of one call waits for the other; both failing gives the first error", async () => {
  const { clock, mock, svc, base } = await warmed(10, 20);
  const p = hold(svc.call(1));
  await clock.advance(10);
  mock.at(base).reject(new Error("first"));
  assert.is(await state(p), "pending");
  mock.at(base + 1).reject(new Error("second"));
  assert.equal(await state(p), { error: new Error("first") });
  const q = hold(svc.call(2));
  mock.at(base + 2).reject(new Error("before the backup"));
  assert.equal(await state(q), { error: new Error("before the backup") });
  assert.is(clock.pending, 0);
});

test("abort while hedged: both calls are aborted, nothing is left pending", async () => {
  const { clock, mock, svc, base } = await warmed(10, 20);
  const a = aborter();
  const p = hold(svc.call(1, { signal: a.signal }));
  await clock.advance(10);
  assert.is(mock.pending.length, 2);
  a.abort();
  assert.equal(await state(p), { error: a.reason });
  assert.equal(mock.pending, []);
  assert.ok(mock.at(base).signal!.reason === a.reason && mock.at(base + 1).signal!.reason === a.reason);
  assert.is(clock.pending, 0);
});

test("abort before the backup: the timer is cleared", async () => {
  const { clock, mock, svc } = await warmed(10, 20);
  const a = aborter();
  const p = hold(svc.call(1, { signal: a.signal }));
  a.abort();
  assert.equal(await state(p), { error: a.reason });
  assert.is(clock.pending, 0);
  assert.equal(mock.pending, []);
});

test("no backup when the budget is empty", async () => {
  const clock0 = new ManualClock();
  const budget = new RetryBudget({ minRetriesPerSecond: 0, retryPercent: 0, clock: clock0 });
  const { clock, mock, svc, base } = await warmed(10, 20, { budget });
  hold(svc.call(1));
  await clock.advance(50);
  assert.is(mock.calls.length, base + 1);
});

test("bad options", () => {
  assert.throws(() => hedge({ percentile: 1.5 }), (e: unknown) => e instanceof RangeError && /percentile 1.5 for hedge\(\)/.test((e as Error).message));
});

test.run();
