/** mapRequest, mapResponse, mapError, filter and observe. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { filter, ManualClock, mapError, mapRequest, mapResponse, NetError, observe, serviceFn, stack } from "../../mod.ts";
import { aborter, CapacityMock, hold, Mock, state } from "./_mock.ts";

const test = suite("middleware: map, filter, observe");

test("mapRequest and mapResponse change the types on the way in and out; capacity is forwarded", async () => {
  const inner = new CapacityMock<string, number>();
  const svc = mapResponse((n: number, req: number) => `${req}=${n}`)(mapRequest((n: number) => String(n))(inner));
  const p = svc.call(42);
  await state(Promise.resolve());
  assert.is(inner.at(0).req, "42");
  inner.at(0).resolve(2);
  assert.is(await p, "42=2");
  assert.is(svc.capacity, 1);
});

test("mapError wraps errors; a throwing mapper is the call's error", async () => {
  const svc = mapError((e) => new NetError("unavailable", "wrapped", { cause: e }))(serviceFn(async (): Promise<number> => {
    throw new Error("raw");
  }));
  const s = (await state(svc.call(1))) as { error: NetError };
  assert.is(s.error.code, "unavailable");
  assert.is((s.error.cause as Error).message, "raw");
  const bad = mapRequest((): string => {
    throw new Error("parse");
  })(serviceFn(async (s: string) => s));
  assert.equal(await state(bad.call(1)), { error: new Error("parse") });
});

test("filter: refused requests never reach the service; async predicates; custom errors", async () => {
  const mock = new Mock<string, string>();
  const svc = filter(async (r: string) => r.startsWith("ok"), (r) => new RangeError(`no ${r}`))(mock);
  assert.equal(await state(svc.call("bad")), { error: new RangeError("no bad") });
  assert.is(mock.calls.length, 0);
  const p = svc.call("ok1");
  await state(Promise.resolve());
  mock.at(0).resolve("done");
  assert.is(await p, "done");
  assert.throws(() => filter(5 as never), TypeError);
});

test("observe: hooks with durations, context, and whether the caller aborted", async () => {
  const clock = new ManualClock();
  const mock = new Mock<string, number>();
  const log: string[] = [];
  const svc = observe<string, number, number>({
    onRequest: (req) => (log.push(`req ${req}`), clock.now()),
    onResponse: (res, o) => log.push(`res ${res} ${o.req} ${o.durationMs}ms from ${o.context}`),
    onError: (e, o) => log.push(`err ${(e as Error).message} ${o.durationMs}ms aborted=${o.aborted}`),
    clock,
  })(mock);
  const p = svc.call("a");
  await clock.advance(25);
  mock.at(0).resolve(1);
  await p;
  const a = aborter();
  const q = hold(svc.call("b", { signal: a.signal }));
  await clock.advance(5);
  a.abort();
  await state(q);
  assert.equal(log, ["req a", "res 1 a 25ms from 0", "req b", "err caller gave up 5ms aborted=true"]);
});

test("observe outside a stack sees everything; inside, only what gets through", async () => {
  const seen: string[] = [];
  const spy = (name: string) => observe({ onRequest: () => void seen.push(name) });
  const svc = stack(spy("outer"), filter((n: number) => n > 0), spy("inner"))(serviceFn(async (n: number) => n));
  await svc.call(1);
  await svc.call(-1).catch(() => {});
  assert.equal(seen, ["outer", "inner", "outer"]);
});

test.run();
