/** retry(), RetryBudget and backoff(): what is retried, when, within what budget, and aborts. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { backoff, ManualClock, NetError, retry, RetryBudget, retrySafe } from "../../mod.ts";
import { aborter, Mock, state } from "./_mock.ts";

const test = suite("middleware: retry");
const refused = () => new NetError("connection-refused", "refused");

test("retries what the policy calls safe, after the backoff, up to maxAttempts", async () => {
  const clock = new ManualClock();
  const mock = new Mock<string, string>();
  const delays: number[] = [];
  const svc = retry({ clock, backoff: (n) => (delays.push(n), n * 10) })(mock);
  const p = svc.call("x");
  mock.at(0).reject(refused());
  await clock.advance(9);
  assert.is(mock.calls.length, 1);
  await clock.advance(1);
  assert.is(mock.calls.length, 2);
  mock.at(1).reject(refused());
  await clock.advance(20);
  mock.at(2).reject(new NetError("overloaded", "third"));
  const s = await state(p);
  assert.ok(typeof s === "object" && "error" in s && (s.error as Error).message === "third");
  assert.equal(delays, [1, 2]);
  assert.is(clock.pending, 0);
});

test("does not retry what is unsafe, nor a call whose caller aborted", async () => {
  const clock = new ManualClock();
  const mock = new Mock<string, string>();
  const svc = retry({ clock, shouldRetry: () => true })(mock);
  const a = aborter();
  const p = svc.call("x", { signal: a.signal });
  a.abort(); // aborted while running: the mock rejects with the reason
  assert.equal(await state(p), { error: a.reason });
  assert.is(mock.calls.length, 1);
  assert.is(clock.pending, 0);

  const plain = retry({ clock })(mock);
  const q = plain.call("y");
  mock.at(1).reject(new NetError("connection-reset", "reset"));
  assert.ok(((await state(q)) as { error: NetError }).error.code === "connection-reset");
  assert.is(mock.calls.length, 2);
});

test("an abort during the backoff ends the wait at once: no timer, no further call", async () => {
  const clock = new ManualClock();
  const mock = new Mock<string, string>();
  const a = aborter();
  const p = retry({ clock, backoff: () => 1000 })(mock).call("x", { signal: a.signal });
  mock.at(0).reject(refused());
  await clock.advance(10);
  assert.is(clock.pending, 1); // retrying: waiting for the backoff
  a.abort();
  assert.equal(await state(p), { error: a.reason });
  assert.is(clock.pending, 0);
  await clock.advance(2000);
  assert.is(mock.calls.length, 1);
});

test("an empty budget stops retries with retry-budget-exhausted and the last error as cause", async () => {
  const clock = new ManualClock();
  const budget = new RetryBudget({ minRetriesPerSecond: 0, retryPercent: 50, clock });
  const mock = new Mock<number, number>();
  const svc = retry({ clock, budget, backoff: () => 0 })(mock);
  const a = svc.call(1);
  const b = svc.call(2); // two requests: one retry in the budget
  const first = refused();
  mock.at(0).reject(first);
  await clock.advance(0);
  assert.is(mock.calls.length, 3); // retried
  const second = refused();
  mock.at(1).reject(second);
  const s = (await state(b)) as { error: NetError };
  assert.is(s.error.code, "retry-budget-exhausted");
  assert.is(s.error.cause, second);
  mock.at(2).resolve(10);
  assert.is(await a, 10);
});

test("RetryBudget: a reserve per second, a share of requests, over a sliding window", async () => {
  const clock = new ManualClock();
  const budget = new RetryBudget({ windowMs: 1000, minRetriesPerSecond: 2, retryPercent: 20, clock });
  assert.is(budget.balance, 2);
  for (let i = 0; i < 10; i++) budget.deposit();
  assert.is(budget.balance, 4);
  for (let i = 0; i < 4; i++) assert.ok(budget.withdraw());
  assert.not.ok(budget.withdraw());
  await clock.advance(500);
  assert.not.ok(budget.withdraw());
  await clock.advance(600); // the deposits and withdrawals have left the window
  assert.is(budget.balance, 2);
  assert.throws(() => new RetryBudget({ retryPercent: -1 }), RangeError);
  assert.throws(() => new RetryBudget({ windowMs: 0 }), RangeError);
});

test("backoff(): exponential, capped, jittered over the upper half", () => {
  const lo = backoff({ baseMs: 100, maxMs: 1000, random: () => 0 });
  const hi = backoff({ baseMs: 100, maxMs: 1000, random: () => 0.999999 });
  assert.equal([1, 2, 3, 4, 5].map(lo), [50, 100, 200, 400, 500]);
  assert.ok(Math.abs(hi(3) - 400) < 0.01);
  assert.throws(() => backoff({ baseMs: 10, maxMs: 5 }), (e: unknown) => e instanceof RangeError && /maxMs 5/.test((e as Error).message));
  assert.throws(() => backoff({ factor: 0.5 }), RangeError);
});

test("retrySafe and bad options", () => {
  assert.ok(retrySafe(new NetError("circuit-open", "x")));
  assert.not.ok(retrySafe(new DOMException("t", "TimeoutError")));
  assert.throws(() => retry({ maxAttempts: 0 }), (e: unknown) => e instanceof RangeError && /maxAttempts 0 for retry\(\)/.test((e as Error).message));
  assert.throws(() => retry({ shouldRetry: 1 as never }), TypeError);
  assert.throws(() => retry({ budget: {} as never }), TypeError);
});

test.run();
