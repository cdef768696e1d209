/** concurrencyLimit(): order, aborts while queued and running, no permit leaks, ready(), close(). */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { concurrencyLimit, NetError } from "../../mod.ts";
import { aborter, hold, Mock, state, tick } from "./_mock.ts";

const test = suite("middleware: concurrencyLimit");

test("at most max calls run; the rest start in order as slots free", async () => {
  const mock = new Mock<number, number>();
  const svc = concurrencyLimit({ max: 2 })(mock);
  const ps = [1, 2, 3, 4].map((n) => svc.call(n));
  assert.equal(mock.calls.map((c) => c.req), [1, 2]);
  mock.at(1).resolve(2);
  await tick();
  assert.equal(mock.calls.map((c) => c.req), [1, 2, 3]);
  mock.at(0).reject(new Error("one"));
  await tick();
  assert.equal(mock.calls.map((c) => c.req), [1, 2, 3, 4]);
  mock.at(2).resolve(3);
  mock.at(3).resolve(4);
  assert.equal(await Promise.allSettled(ps).then((r) => r.map((x) => x.status)), ["rejected", "fulfilled", "fulfilled", "fulfilled"]);
  assert.is(svc.capacity, 2);
});

test("abort while queued: leaves the line at once, never calls, takes no slot", async () => {
  const mock = new Mock<number, number>();
  const svc = concurrencyLimit({ max: 1 })(mock);
  const running = svc.call(1);
  const a = aborter();
  const queued = hold(svc.call(2, { signal: a.signal }));
  const next = svc.call(3);
  a.abort();
  assert.equal(await state(queued), { error: a.reason });
  mock.at(0).resolve(1);
  await running;
  await tick();
  assert.equal(mock.calls.map((c) => c.req), [1, 3]); // 2 was skipped
  mock.at(1).resolve(3);
  assert.is(await next, 3);
  assert.is(svc.capacity, 1);
});

test("abort while running: the inner call sees it, and its slot comes back when it settles", async () => {
  const mock = new Mock<number, number>();
  mock.honorAbort = false; // a service that takes its time to stop
  const svc = concurrencyLimit({ max: 1 })(mock);
  const a = aborter();
  const p = hold(svc.call(1, { signal: a.signal }));
  a.abort();
  assert.ok(mock.at(0).signal!.aborted);
  assert.is(svc.capacity, 0); // still running in the inner service
  mock.at(0).reject(a.reason);
  await state(p);
  assert.is(svc.capacity, 1);
});

test("a call aborted just as its turn comes passes the slot on", async () => {
  const mock = new Mock<number, number>();
  const svc = concurrencyLimit({ max: 1 })(mock);
  const first = svc.call(1);
  const a = aborter();
  const second = hold(svc.call(2, { signal: a.signal }));
  const third = svc.call(3);
  mock.at(0).resolve(1);
  a.abort(); // between its wake-up and its start
  await first;
  await tick();
  assert.ok("error" in ((await state(second)) as object));
  assert.equal(mock.calls.map((c) => c.req), [1, 3]);
  mock.at(1).resolve(3);
  await third;
  assert.is(svc.capacity, 1);
});

test("a thousand calls, a third aborted while queued: no permit leaks", async () => {
  const mock = new Mock<number, number>();
  const svc = concurrencyLimit({ max: 3 })(mock);
  const aborters = Array.from({ length: 1000 }, () => aborter());
  const ps = aborters.map((a, i) => hold(svc.call(i, { signal: a.signal })));
  aborters.forEach((a, i) => i % 3 === 0 && a.abort());
  while (mock.pending.length > 0) {
    for (const c of mock.pending) c.resolve(c.req);
    await tick();
  }
  await Promise.allSettled(ps);
  assert.is(mock.calls.length, 1000 - 334 + 1); // call 0 was running when aborted
  assert.is(svc.capacity, 3);
});

test("ready() waits for a free slot without taking it, and can be abandoned", async () => {
  const mock = new Mock<number, number>();
  const svc = concurrencyLimit({ max: 1 })(mock);
  assert.equal(await state(svc.ready!()), { value: undefined });
  const p = svc.call(1);
  const r = svc.ready!();
  const a = aborter();
  const abandoned = hold(svc.ready!(a.signal));
  a.abort();
  assert.equal(await state(abandoned), { error: a.reason });
  assert.is(await state(r), "pending");
  mock.at(0).resolve(1);
  await p;
  assert.equal(await state(r), { value: undefined });
  assert.is(svc.capacity, 1);
});

test("close() lets calls in flight and in line finish, refuses new ones, then closes the inner", async () => {
  const mock = new Mock<number, number>();
  const svc = concurrencyLimit({ max: 1 })(mock);
  const a = svc.call(1);
  const b = svc.call(2);
  const closed = svc.close!();
  assert.ok(((await state(svc.call(3))) as { error: NetError }).error.code === "closed");
  mock.at(0).resolve(1);
  await tick();
  mock.at(1).resolve(2);
  assert.equal([await a, await b], [1, 2]);
  await closed;
  assert.ok(mock.closed);
});

test("bad options", () => {
  assert.throws(() => concurrencyLimit({ max: 0 }), (e: unknown) => e instanceof RangeError && /max 0 for concurrencyLimit\(\)/.test((e as Error).message));
  assert.throws(() => concurrencyLimit({} as never), TypeError);
});

test.run();
