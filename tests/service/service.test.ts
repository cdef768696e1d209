/** Service, serviceFn, stack, capacity and the manual clock. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { concurrencyLimit, type Layer, ManualClock, NetError, observe, serviceFn, stack, systemClock } from "../../mod.ts";
import { aborter, Mock, state, tick } from "../middleware/_mock.ts";

const test = suite("service: Service, serviceFn, stack, clocks");

test("serviceFn passes the caller's signal, and a never-aborting one when there is none", async () => {
  const seen: AbortSignal[] = [];
  const svc = serviceFn((req: number, { signal }) => {
    seen.push(signal);
    return req * 2;
  });
  const a = aborter();
  assert.is(await svc.call(2, { signal: a.signal }), 4);
  assert.is(await svc.call(3), 6);
  assert.is(seen[0], a.signal);
  assert.ok(seen[1] instanceof AbortSignal && !seen[1].aborted);
});

test("serviceFn turns a throw into a rejection", async () => {
  const svc = serviceFn((): number => {
    throw new Error("sync");
  });
  const s = await state(svc.call(1));
  assert.ok(typeof s === "object" && "error" in s && (s.error as Error).message === "sync");
});

test("close() drains the calls in flight, then rejects new ones with closed", async () => {
  const gates: (() => void)[] = [];
  const svc = serviceFn((n: number) => new Promise<number>((r) => gates.push(() => r(n))));
  const inFlight = svc.call(1);
  const closed = svc.close();
  const late = await state(svc.call(2));
  assert.ok(typeof late === "object" && "error" in late && (late.error as NetError).code === "closed");
  assert.is(await state(closed), "pending");
  gates[0]!();
  assert.is(await inFlight, 1);
  assert.equal(await state(closed), { value: undefined });
  assert.is(gates.length, 1);
});

test("close() after calls answered at once, and mixed with one in flight, waits only for the one in flight", async () => {
  let gate: (() => void) | undefined;
  const svc = serviceFn((n: number) => (n < 0 ? new Promise<number>((r) => (gate = () => r(n))) : n));
  assert.is(await svc.call(1), 1);
  const thenable = svc.call(-1);
  assert.is(await svc.call(2), 2);
  const closed = svc.close();
  assert.is(await state(closed), "pending");
  gate!();
  assert.is(await thenable, -1);
  assert.equal(await state(closed), { value: undefined });
  const quiet = serviceFn((n: number) => n);
  await quiet.call(1);
  assert.equal(await state(quiet.close()), { value: undefined });
});

test("stack: the first layer sees the request first and the response last", async () => {
  const order: string[] = [];
  const tag = (name: string): Layer<string, string> => (inner) => ({
    call: async (req, options) => {
      order.push(`${name} in`);
      const res = await inner.call(`${req}${name}`, options);
      order.push(`${name} out`);
      return res;
    },
  });
  const svc = stack(tag("a"), tag("b"), tag("c"))(serviceFn(async (s: string) => s));
  assert.is(await svc.call(">"), ">abc");
  assert.equal(order, ["a in", "b in", "c in", "c out", "b out", "a out"]);
  assert.throws(() => stack(tag("a"), 5 as never), (e: unknown) => e instanceof TypeError && /layer 1/.test((e as Error).message));
});

test("stack: a caller's signal reaches the innermost service through every layer", async () => {
  const mock = new Mock<string, string>();
  const svc = stack(observe({}), concurrencyLimit({ max: 1 }))(mock);
  const a = aborter();
  const p = svc.call("x", { signal: a.signal });
  assert.is(mock.at(0).signal, a.signal);
  a.abort();
  assert.equal(await state(p), { error: a.reason });
});

test("capacity: reading it reserves nothing; a call takes its slot at once and gives it back however it ends", async () => {
  const mock = new Mock<number, number>();
  const svc = concurrencyLimit({ max: 2 })(mock);
  for (let i = 0; i < 100; i++) assert.is(svc.capacity, 2); // probes that are never followed by calls
  const ok = svc.call(1);
  const a = aborter();
  const aborted = svc.call(2, { signal: a.signal });
  assert.is(svc.capacity, 0);
  mock.at(0).resolve(1);
  a.abort();
  await ok;
  await aborted.catch(() => {});
  assert.is(svc.capacity, 2);
  const failing = svc.call(3);
  mock.at(2).reject(new Error("x"));
  await failing.catch(() => {});
  assert.is(svc.capacity, 2);
});

test("ManualClock: timers fire in order of time, then of setting; cleared ones never", async () => {
  const clock = new ManualClock(100);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push("b"), 10);
  clock.setTimeout(() => fired.push("a"), 5);
  const c = clock.setTimeout(() => fired.push("never"), 5);
  clock.setTimeout(() => {
    fired.push("b2");
    clock.setTimeout(() => fired.push(`nested at ${clock.now()}`), 0);
  }, 10);
  clock.clearTimeout(c);
  await clock.advance(10);
  assert.equal(fired, ["a", "b", "b2", "nested at 110"]);
  assert.is(clock.now(), 110);
  assert.is(clock.pending, 0);
  await clock.advance(-1).then(() => assert.unreachable("accepted -1"), (e) => assert.instance(e, RangeError));
});

test("systemClock: now() is monotonic and its timers can be cleared", async () => {
  const t0 = systemClock.now();
  let fired = false;
  const h = systemClock.setTimeout(() => (fired = true), 1);
  systemClock.clearTimeout(h);
  await new Promise((r) => setTimeout(r, 3));
  assert.not.ok(fired);
  assert.ok(systemClock.now() >= t0);
  await tick();
});

test.run();
