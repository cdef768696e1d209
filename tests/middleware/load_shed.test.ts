/** loadShed(): refuses at once without capacity, reserves nothing. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { concurrencyLimit, loadShed, NetError, stack } from "../../mod.ts";
import { aborter, CapacityMock, hold, Mock, state } from "./_mock.ts";

const test = suite("middleware: loadShed");

test("refuses with overloaded when the inner has no capacity, passes otherwise", async () => {
  const mock = new CapacityMock<number, number>();
  const svc = loadShed()(mock);
  const ok = svc.call(1);
  mock.setCapacity(0);
  const s = (await state(svc.call(2))) as { error: NetError };
  assert.is(s.error.code, "overloaded");
  assert.is(mock.calls.length, 1);
  mock.at(0).resolve(1);
  assert.is(await ok, 1);
});

test("in front of a limit: nothing ever waits, and aborts while running free the slot", async () => {
  const mock = new Mock<number, number>();
  const svc = stack(loadShed(), concurrencyLimit({ max: 2 }))(mock);
  const a = aborter();
  const p1 = hold(svc.call(1, { signal: a.signal }));
  hold(svc.call(2));
  assert.is(((await state(svc.call(3))) as { error: NetError }).error.code, "overloaded");
  a.abort();
  await state(p1);
  assert.is(svc.capacity, 1);
  hold(svc.call(4));
  assert.equal(mock.calls.map((c) => c.req), [1, 2, 4]);
});

test("a service without capacity is never shed", async () => {
  const mock = new Mock<number, number>();
  const svc = loadShed()(mock);
  hold(svc.call(1));
  hold(svc.call(2));
  assert.is(mock.calls.length, 2);
  assert.is(svc.capacity, undefined);
});

test.run();
