/** timeout(): the deadline, the inner signal, aborts, one timer for all calls. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { ManualClock, serviceFn, timeout } from "../../mod.ts";
import { aborter, hold, Mock, state } from "./_mock.ts";

const test = suite("middleware: timeout");

const isTimeout = (e: unknown) => e instanceof DOMException && e.name === "TimeoutError";

test("rejects with a TimeoutError at the deadline and aborts the inner signal with it", async () => {
  const clock = new ManualClock();
  const mock = new Mock<string, string>();
  const svc = timeout({ ms: 100, clock })(mock);
  const p = hold(svc.call("x"));
  await clock.advance(99);
  assert.is(await state(p), "pending");
  await clock.advance(1);
  const s = await state(p);
  assert.ok(typeof s === "object" && "error" in s && isTimeout(s.error));
  assert.ok(mock.at(0).signal!.aborted && mock.at(0).signal!.reason === (s as { error: unknown }).error);
  assert.is(clock.pending, 0);
});

test("rejects at the deadline even when the inner service ignores its signal", async () => {
  const clock = new ManualClock();
  const mock = new Mock<string, string>();
  mock.honorAbort = false;
  const p = hold(timeout({ ms: 10, clock })(mock).call("x"));
  await clock.advance(10);
  const s = await state(p);
  assert.ok(typeof s === "object" && "error" in s && isTimeout(s.error));
  mock.at(0).resolve("late"); // too late: changes nothing
  assert.is(clock.pending, 0);
});

test("a call that ends in time leaves no timer behind", async () => {
  const clock = new ManualClock();
  const mock = new Mock<string, string>();
  const svc = timeout({ ms: 100, clock })(mock);
  const a = svc.call("a");
  const b = svc.call("b");
  assert.is(clock.pending, 1); // one timer for every call
  mock.at(1).resolve("B");
  mock.at(0).reject(new Error("A"));
  assert.is(await b, "B");
  assert.equal(await state(a), { error: new Error("A") });
  assert.is(clock.pending, 0);
});

test("each call gets its own deadline, with one timer", async () => {
  const clock = new ManualClock();
  const mock = new Mock<number, number>();
  const svc = timeout({ ms: 100, clock })(mock);
  const a = hold(svc.call(1));
  await clock.advance(30);
  const b = svc.call(2);
  await clock.advance(30);
  const c = hold(svc.call(3));
  mock.at(1).resolve(2); // b ends early; a and c go on
  await clock.advance(40); // t = 100: a's deadline
  assert.ok(isTimeout(((await state(a)) as { error: unknown }).error));
  assert.is(await b, 2);
  assert.is(await state(c), "pending");
  await clock.advance(59);
  assert.is(await state(c), "pending");
  await clock.advance(1); // t = 160: c's deadline
  assert.ok(isTimeout(((await state(c)) as { error: unknown }).error));
  assert.is(clock.pending, 0);
});

test("the caller's abort reaches the inner service while running; nothing is left pending", async () => {
  const clock = new ManualClock();
  const mock = new Mock<string, string>();
  const a = aborter();
  const p = timeout({ ms: 100, clock })(mock).call("x", { signal: a.signal });
  assert.not.ok(mock.at(0).signal!.aborted);
  a.abort();
  assert.equal(await state(p), { error: a.reason });
  assert.is(mock.at(0).signal!.reason, a.reason);
  assert.is(clock.pending, 0);
  assert.equal(mock.pending, []);
});

test("an already aborted signal rejects without calling", async () => {
  const mock = new Mock();
  const a = aborter();
  a.abort();
  assert.equal(await state(timeout({ ms: 5, clock: new ManualClock() })(mock).call(1, { signal: a.signal })), { error: a.reason });
  assert.is(mock.calls.length, 0);
});

test("the inner signal is made on demand: read after the deadline it is already aborted", async () => {
  const clock = new ManualClock();
  let options: { signal: AbortSignal } | undefined;
  const p = hold(timeout({ ms: 5, clock })(serviceFn((_: number, o) => {
    options = o;
    return new Promise<number>(() => {});
  })).call(1));
  await clock.advance(5);
  await p.catch(() => {});
  assert.ok(options!.signal.aborted && isTimeout(options!.signal.reason));
});

test("bad options are TypeError or RangeError naming the option", () => {
  assert.throws(() => timeout(undefined as never), (e: unknown) => e instanceof TypeError);
  assert.throws(() => timeout({ ms: 0 }), (e: unknown) => e instanceof RangeError && (e as Error).message === "Invalid ms 0 for timeout(): expected a positive number of milliseconds");
  assert.throws(() => timeout({ ms: "5" as never }), (e: unknown) => e instanceof TypeError && /ms "5"/.test((e as Error).message));
  assert.throws(() => timeout({ ms: 5, clock: {} as never }), TypeError);
});

test.run();
