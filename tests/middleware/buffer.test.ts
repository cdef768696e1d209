/** buffer(): a bounded queue in front of a service's capacity; full means overloaded; aborts while queued. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { buffer, concurrencyLimit, NetError, stack } from "../../mod.ts";
import { aborter, CapacityMock, hold, Mock, state, tick } from "./_mock.ts";

const test = suite("middleware: buffer");

test("waits for the inner's capacity, in order; one more than capacity is overloaded", async () => {
  const mock = new CapacityMock<number, number>();
  mock.setCapacity(0);
  const svc = buffer({ capacity: 2 })(mock);
  const a = svc.call(1);
  const b = svc.call(2);
  assert.is(((await state(svc.call(3))) as { error: NetError }).error.code, "overloaded");
  assert.is(mock.calls.length, 0);
  assert.is(mock.readyWaiters, 1);
  mock.setCapacity(5);
  await tick();
  assert.equal(mock.calls.map((c) => c.req), [1, 2]);
  mock.at(0).resolve(1);
  mock.at(1).resolve(2);
  assert.equal([await a, await b], [1, 2]);
});

test("abort while queued: leaves the queue; when it empties the wait on the inner is cancelled", async () => {
  const mock = new CapacityMock<number, number>();
  mock.setCapacity(0);
  const svc = buffer({ capacity: 1 })(mock);
  const a = aborter();
  const p = hold(svc.call(1, { signal: a.signal }));
  assert.is(mock.readyWaiters, 1);
  a.abort();
  assert.equal(await state(p), { error: a.reason });
  assert.is(mock.readyWaiters, 0);
  mock.setCapacity(1);
  await tick();
  assert.is(mock.calls.length, 0);
  const q = svc.call(2); // room again
  mock.at(0).resolve(2);
  assert.is(await q, 2);
});

test("outside a concurrency limit it bounds the line; inside, it holds nothing", async () => {
  const outside = new Mock<number, number>();
  const o = stack(buffer({ capacity: 1 }), concurrencyLimit({ max: 1 }))(outside);
  hold(o.call(1));
  hold(o.call(2));
  assert.is(((await state(o.call(3))) as { error: NetError }).error.code, "overloaded");

  const inside = new Mock<number, number>();
  const i = stack(concurrencyLimit({ max: 1 }), buffer({ capacity: 1 }))(inside);
  const ps = [1, 2, 3].map((n) => i.call(n)); // all wait in the limit, none is refused
  for (let k = 0; k < 3; k++) {
    inside.at(k).resolve(k);
    await tick();
  }
  assert.equal(await Promise.all(ps), [0, 1, 2]);
});

test("close() lets the queue drain, refuses new calls, then closes the inner", async () => {
  const mock = new CapacityMock<number, number>();
  mock.setCapacity(0);
  const svc = buffer({ capacity: 4 })(mock);
  const p = svc.call(1);
  const closed = svc.close!();
  assert.is(((await state(svc.call(2))) as { error: NetError }).error.code, "closed");
  assert.is(await state(closed), "pending");
  mock.setCapacity(1);
  await tick();
  mock.at(0).resolve(1);
  assert.is(await p, 1);
  await closed;
  assert.ok(mock.closed);
});

test("bad options", () => {
  assert.throws(() => buffer({ capacity: 0 }), (e: unknown) => e instanceof RangeError && /capacity 0 for buffer\(\)/.test((e as Error).message));
});

test.run();
