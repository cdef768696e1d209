/** pipelineServer() and pipelineClient(): order, limits, aborts, broken connections, drain, idle, errors. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { framed, lines, ManualClock, memoryPipe, NetError, pipelineClient, pipelineServer, serviceFn } from "../../mod.ts";
import { settle, stillPending, until } from "../_helpers.ts";
import { hold, Mock, state, tick } from "../middleware/_mock.ts";
import { pairs, random } from "./_pairs.ts";

const test = suite("dispatch: pipeline");

test("responses leave in request order, whatever order the calls finish in", async () => {
  for (const p of pairs()) {
    const [a, b] = await p.pair();
    const mock = new Mock<string, string>();
    const served = pipelineServer(framed(b, lines()), mock);
    const client = pipelineClient<string, string>(framed(a, lines()));
    const calls = ["a", "b", "c", "d"].map((s) => client.call(s));
    await until(() => mock.calls.length === 4, "four calls");
    for (const i of [3, 1, 2, 0]) mock.at(i).resolve(mock.at(i).req.toUpperCase());
    assert.equal(await Promise.all(calls), ["A", "B", "C", "D"], p.name);
    await client.close();
    await served;
    await p.done();
  }
});

test("maxInFlight holds: the server stops reading at the limit and reads again when a call ends", async () => {
  for (const p of pairs()) {
    const [a, b] = await p.pair();
    const mock = new Mock<string, string>();
    const served = pipelineServer(framed(b, lines()), mock, { maxInFlight: 3 });
    const client = pipelineClient<string, string>(framed(a, lines()));
    const calls = Array.from({ length: 10 }, (_, i) => client.call(`r${i}`));
    await until(() => mock.calls.length === 3, "three calls");
    assert.ok(await stillPending(calls[0]!, 20));
    assert.is(mock.calls.length, 3, p.name);
    mock.at(1).resolve("1");
    assert.ok(await stillPending(calls[1]!, 20), "waits for the first response");
    assert.is(mock.calls.length, 3, `${p.name}: the slot frees when the response is written, in order`);
    mock.at(0).resolve("0");
    await until(() => mock.calls.length === 5, "two more calls");
    assert.is(mock.calls.length, 5);
    for (let i = 2; i < 10; i++) {
      await until(() => mock.calls.length > i, `call ${i}`);
      mock.at(i).resolve(String(i));
      assert.ok(mock.pending.length <= 3);
    }
    assert.equal(await Promise.all(calls), Array.from({ length: 10 }, (_, i) => String(i)));
    await client.close();
    await served;
    await p.done();
  }
});

test("10,000 pipelined calls with random aborts: every other call gets its own response", async () => {
  for (const p of pairs()) {
    const [a, b] = await p.pair();
    const rand = random(42);
    let served = 0;
    const server = pipelineServer(
      framed(b, lines()),
      serviceFn(async (s: string) => {
        served++;
        // Some answers take a few turns, so responses finish out of order.
        for (let i = rand() * 3; i > 1; i--) await null;
        return `re:${s}`;
      }),
      { maxInFlight: 16 },
    );
    const client = pipelineClient<string, string>(framed(a, lines()), { maxInFlight: 10_000 });
    const outcomes: Promise<void>[] = [];
    let aborted = 0;
    for (let i = 0; i < 10_000; i++) {
      const controller = new AbortController();
      const call = client.call(`${i}`, { signal: controller.signal });
      const roll = rand();
      if (roll < 0.05) controller.abort(new Error(`gave up ${i}`)); // at once
      else if (roll < 0.1) queueMicrotask(() => controller.abort(new Error(`gave up ${i}`))); // later, on the wire
      outcomes.push(
        call.then(
          (res) => assert.is(res, `re:${i}`),
          (error) => {
            aborted++;
            assert.is((error as Error).message, `gave up ${i}`);
          },
        ),
      );
    }
    await Promise.all(outcomes);
    assert.ok(aborted > 500 && aborted < 1500, `${p.name}: ${aborted} aborted`);
    await until(() => client.pending === 0, "aborted responses read and dropped");
    assert.is(served, 10_000, "every request reached the server");
    assert.is(await client.call("last"), "re:last", "still in sync");
    await client.close();
    await server;
    await p.done();
  }
});

test("a connection killed mid-flight rejects exactly the pending calls; the server's calls see their signal abort", async () => {
  for (const p of pairs()) {
    const [a, b] = await p.pair();
    const mock = new Mock<string, string>();
    const errors: unknown[] = [];
    const served = pipelineServer(framed(b, lines()), mock, { onError: (e) => errors.push(e) });
    const client = pipelineClient<string, string>(framed(a, lines()));
    const calls = Array.from({ length: 6 }, (_, i) => hold(client.call(`r${i}`)));
    await until(() => mock.calls.length === 6, "six calls");
    for (let i = 0; i < 3; i++) mock.at(i).resolve(`ok${i}`);
    assert.equal(await Promise.all(calls.slice(0, 3)), ["ok0", "ok1", "ok2"]);
    await a.close(new NetError("connection-reset", "killed by the test"));
    for (const call of calls.slice(3)) {
      const r = await settle(call);
      assert.ok(!r.ok && r.error instanceof NetError, p.name);
    }
    await client.closed;
    const late = await settle(client.call("late"));
    assert.ok(!late.ok && (late.error as NetError).code === "closed");
    if (p.resets) {
      await served;
      for (let i = 3; i < 6; i++) assert.ok(mock.at(i).signal!.aborted, `${p.name}: call ${i} aborted`);
      assert.ok(errors.some((e) => e instanceof NetError), `${p.name}: onError told`);
    } else {
      // Deno's close() sends a FIN: the server sees a half-close and still answers what it read.
      for (let i = 3; i < 6; i++) mock.at(i).resolve("late");
      await served;
    }
    await p.done();
  }
});

test("a reset from the server rejects pending calls with connection-reset", async () => {
  for (const p of pairs()) {
    if (!p.resets) continue;
    const [a, b] = await p.pair();
    const client = pipelineClient<string, string>(framed(a, lines()));
    const call = hold(client.call("x"));
    const reader = b.readable.getReader();
    await reader.read();
    reader.releaseLock();
    await b.close(new NetError("connection-reset", "reset by the test"));
    const r = await settle(call);
    assert.ok(!r.ok && r.error instanceof NetError && r.error.code === "connection-reset", `${p.name}: ${(r as { error: Error }).error}`);
    await client.closed;
    assert.is(client.pending, 0);
    await p.done();
  }
});

test("the peer closing with calls pending rejects them with closed", async () => {
  const [a, b] = memoryPipe();
  const client = pipelineClient<string, string>(framed(a, lines()));
  const call = hold(client.call("x"));
  await b.close();
  const r = await settle(call);
  assert.ok(!r.ok && (r.error as NetError).code === "closed");
  await client.closed;
});

test("close(): refuses new calls, waits for pending ones, then closes; the server finishes", async () => {
  const [a, b] = memoryPipe();
  const mock = new Mock<string, string>();
  const served = pipelineServer(framed(b, lines()), mock);
  const client = pipelineClient<string, string>(framed(a, lines()));
  const call = client.call("x");
  await until(() => mock.calls.length === 1, "one call");
  const closing = client.close();
  const refused = await settle(client.call("y"));
  assert.ok(!refused.ok && (refused.error as NetError).code === "closed");
  assert.is(await state(closing), "pending");
  mock.at(0).resolve("X");
  assert.is(await call, "X");
  await closing;
  await client.closed;
  await served;
});

test("client: maxInFlight refuses with overloaded; capacity and ready() follow the pending calls", async () => {
  const [a, b] = memoryPipe();
  const mock = new Mock<string, string>();
  pipelineServer(framed(b, lines()), mock);
  const client = pipelineClient<string, string>(framed(a, lines()), { maxInFlight: 2 });
  assert.is(client.capacity, 2);
  const c1 = client.call("1");
  const c2 = client.call("2");
  assert.is(client.capacity, 0);
  assert.is(client.pending, 2);
  const over = await settle(client.call("3"));
  assert.ok(!over.ok && (over.error as NetError).code === "overloaded");
  const ready = client.ready!();
  await until(() => mock.calls.length === 2, "two calls");
  assert.is(await state(ready), "pending");
  mock.at(0).resolve("one");
  await ready;
  assert.is(client.capacity, 1);
  mock.at(1).resolve("two");
  assert.equal(await Promise.all([c1, c2]), ["one", "two"]);
  await client.close();
});

test("an aborted call rejects at once with signal.reason; its response is dropped", async () => {
  const [a, b] = memoryPipe();
  const mock = new Mock<string, string>();
  mock.honorAbort = false;
  pipelineServer(framed(b, lines()), mock);
  const client = pipelineClient<string, string>(framed(a, lines()));
  const controller = new AbortController();
  const first = client.call("first", { signal: controller.signal });
  const second = client.call("second");
  await until(() => mock.calls.length === 2, "two calls");
  const reason = new Error("no longer needed");
  controller.abort(reason);
  const r = await settle(first);
  assert.ok(!r.ok && r.error === reason);
  assert.is(client.pending, 2, "still counted until its response is read");
  mock.at(1).resolve("SECOND");
  mock.at(0).resolve("FIRST");
  assert.is(await second, "SECOND");
  assert.is(client.pending, 0);
  await client.close();
});

test("a response nobody asked for is a protocol error", async () => {
  const [a, b] = memoryPipe();
  const client = pipelineClient<string, string>(framed(a, lines()));
  const w = framed(b, lines()).writable.getWriter();
  await w.write("unsolicited");
  await client.closed;
  const r = await settle(client.call("x"));
  assert.ok(!r.ok && (r.error as NetError).code === "closed");
});

test("errorResponse answers a failed call in its place; without it the connection closes after the responses before it", async () => {
  const [a, b] = memoryPipe();
  const errors: unknown[] = [];
  const svc = serviceFn(async (s: string) => {
    if (s.startsWith("bad")) throw new Error(`cannot ${s}`);
    return s.toUpperCase();
  });
  const served = pipelineServer(framed(b, lines()), svc, {
    errorResponse: (e, req) => (req === "bad1" ? `-ERR ${(e as Error).message}` : undefined),
    onError: (e) => errors.push(e),
  });
  const client = pipelineClient<string, string>(framed(a, lines()));
  const calls = ["ok", "bad1", "two", "bad2", "three"].map((s) => hold(client.call(s)));
  assert.equal(await Promise.all(calls.slice(0, 3)), ["OK", "-ERR cannot bad1", "TWO"]);
  for (const call of calls.slice(3)) {
    const r = await settle(call);
    assert.ok(!r.ok && (r.error as NetError).code === "closed");
  }
  await served;
  assert.equal(errors.map((e) => (e as Error).message), ["cannot bad1", "cannot bad2"]);
});

test("drain signal: no new requests are read, calls in flight finish and their responses leave, then the connection closes", async () => {
  const [a, b] = memoryPipe();
  const mock = new Mock<string, string>();
  const drain = new AbortController();
  const served = pipelineServer(framed(b, lines()), mock, { signal: drain.signal });
  const client = pipelineClient<string, string>(framed(a, lines()));
  const c1 = client.call("1");
  await until(() => mock.calls.length === 1, "one call");
  drain.abort();
  await tick();
  const late = hold(client.call("2"));
  assert.is(await state(served), "pending");
  mock.at(0).resolve("one");
  assert.is(await c1, "one");
  await served;
  const r = await settle(late);
  assert.ok(!r.ok && (r.error as NetError).code === "closed");
  assert.is(mock.calls.length, 1);
  await client.closed;
});

test("idleTimeoutMs closes a connection with nothing in flight and nothing read for that long", async () => {
  const [a, b] = memoryPipe();
  const clock = new ManualClock();
  const mock = new Mock<string, string>();
  const served = pipelineServer(framed(b, lines()), mock, { idleTimeoutMs: 1000, clock });
  const client = pipelineClient<string, string>(framed(a, lines()));
  await clock.advance(600);
  const call = client.call("x");
  await until(() => mock.calls.length === 1, "one call");
  await clock.advance(2000);
  await tick();
  assert.is(await state(served), "pending", "a call in flight keeps it open");
  mock.at(0).resolve("X");
  assert.is(await call, "X");
  await clock.advance(999);
  await tick();
  assert.is(await state(served), "pending");
  await clock.advance(1);
  await served;
  await client.closed;
});

test("bad arguments are TypeError or RangeError naming the option", () => {
  const [a] = memoryPipe();
  const f = framed(a, lines());
  const svc = serviceFn(async (s: string) => s);
  assert.throws(() => pipelineServer(f, svc, { maxInFlight: 0 }), (e: Error) => e instanceof RangeError && e.message.includes("maxInFlight 0"));
  assert.throws(() => pipelineServer(f, svc, { idleTimeoutMs: -1 }), (e: Error) => e instanceof RangeError && e.message.includes("idleTimeoutMs"));
  assert.throws(() => pipelineServer(f, {} as never), (e: Error) => e instanceof TypeError && e.message.includes("service"));
  assert.throws(() => pipelineServer({} as never, svc), (e: Error) => e instanceof TypeError && e.message.includes("framed"));
  assert.throws(() => pipelineClient(f, { maxInFlight: 1.5 }), (e: Error) => e instanceof RangeError && e.message.includes("maxInFlight 1.5"));
  assert.throws(() => pipelineClient(f, { maxInFlight: "2" as never }), (e: Error) => e instanceof TypeError && e.message.includes('maxInFlight "2"'));
});

test.run();
