/** multiplexServer() and multiplexClient(): any order, ids, cancels, protocol errors, limits, broken connections. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { framed, jsonLines, memoryPipe, multiplexClient, multiplexServer, type MultiplexHooks, NetError, serviceFn } from "../../mod.ts";
import { settle, stillPending, until } from "../_helpers.ts";
import { hold, Mock } from "../middleware/_mock.ts";
import { pairs, random } from "./_pairs.ts";

const test = suite("dispatch: multiplex");

type Frame = { id: number; n?: number; cancel?: true };
const hooks: MultiplexHooks<Frame, Frame> = {
  requestId: (f) => f.id,
  responseId: (f) => f.id,
  withRequestId: (f, id) => ({ ...f, id }),
  withResponseId: (f, id) => ({ ...f, id }),
};
const withCancel: MultiplexHooks<Frame, Frame> = { ...hooks, cancel: (id) => ({ id, cancel: true }), isCancel: (f) => f.cancel === true };

test("responses come back in any order, each to its own call", async () => {
  for (const p of pairs()) {
    const [a, b] = await p.pair();
    const mock = new Mock<Frame, Frame>();
    const served = multiplexServer(framed(b, jsonLines<Frame>()), mock, hooks);
    const client = multiplexClient(framed(a, jsonLines<Frame>()), hooks);
    const calls = [0, 1, 2, 3].map((n) => client.call({ id: -1, n }));
    await until(() => mock.calls.length === 4, "four calls");
    const order: number[] = [];
    calls.forEach((c, i) => c.then(() => order.push(i)));
    for (const i of [3, 1, 2, 0]) {
      mock.at(i).resolve({ id: 0, n: mock.at(i).req.n! * 10 });
      await calls[i];
    }
    assert.equal(order, [3, 1, 2, 0], p.name);
    assert.equal((await Promise.all(calls)).map((f) => f.n), [0, 10, 20, 30]);
    await client.close();
    await served;
    await p.done();
  }
});

test("a slow handler blocks neither other responses nor a cancel", async () => {
  for (const p of pairs()) {
    const [a, b] = await p.pair();
    const mock = new Mock<Frame, Frame>();
    const served = multiplexServer(framed(b, jsonLines<Frame>()), mock, withCancel);
    const client = multiplexClient(framed(a, jsonLines<Frame>()), withCancel);
    const controller = new AbortController();
    const slow = hold(client.call({ id: -1, n: 1 }, { signal: controller.signal }));
    await until(() => mock.calls.length === 1, "the slow call");
    const quick = client.call({ id: -1, n: 2 });
    await until(() => mock.calls.length === 2, "the quick call");
    mock.at(1).resolve({ id: 0, n: 20 });
    assert.is((await quick).n, 20, p.name);
    const reason = new Error("gave up");
    controller.abort(reason);
    const r = await settle(slow);
    assert.ok(!r.ok && r.error === reason);
    assert.is(client.pending, 0, "a cancelled id is free at once");
    await until(() => mock.at(0).signal!.aborted, "the server's call aborted by the cancel");
    await client.close();
    await served;
    await p.done();
  }
});

test("the client never reuses an id in flight; ids wrap around below maxId", async () => {
  const [a, b] = memoryPipe();
  const mock = new Mock<Frame, Frame>();
  const small = { ...hooks, maxId: 3 };
  multiplexServer(framed(b, jsonLines<Frame>()), mock, small);
  const client = multiplexClient(framed(a, jsonLines<Frame>()), small);
  const calls = [0, 1, 2].map((n) => client.call({ id: -1, n }));
  await until(() => mock.calls.length === 3, "three calls");
  assert.equal(mock.calls.map((c) => c.req.id), [0, 1, 2]);
  mock.at(1).resolve({ id: 0, n: 1 });
  await calls[1];
  calls.push(client.call({ id: -1, n: 3 }), client.call({ id: -1, n: 4 }));
  await until(() => mock.calls.length === 5, "two more");
  assert.equal(mock.calls.map((c) => c.req.id), [0, 1, 2, 3, 1], "3, then wraps to 1 (0 and 2 are in flight)");
  assert.is(client.capacity, 0, "four ids, all in flight");
  const over = await settle(client.call({ id: -1 }));
  assert.ok(!over.ok && (over.error as NetError).code === "overloaded");
  for (const i of [0, 2, 3, 4]) mock.at(i).resolve({ id: 0, n: i });
  await Promise.all(calls);
  await client.close();
});

test("a response with an unknown id is a protocol error: pending calls reject, the connection closes", async () => {
  for (const p of pairs()) {
    const [a, b] = await p.pair();
    const client = multiplexClient(framed(a, jsonLines<Frame>()), hooks);
    const call = hold(client.call({ id: -1, n: 1 }));
    const peer = framed(b, jsonLines<Frame>());
    const reader = peer.readable.getReader();
    assert.is((await reader.read()).value!.id, 0);
    const w = peer.writable.getWriter();
    await w.write({ id: 99 });
    const r = await settle(call);
    assert.ok(!r.ok && r.error instanceof NetError && r.error.code === "protocol-error", p.name);
    await client.closed;
    await peer.close();
    await p.done();
  }
});

test("a request whose id is in flight is a protocol error on the server", async () => {
  const [a, b] = memoryPipe();
  const mock = new Mock<Frame, Frame>();
  const errors: unknown[] = [];
  const served = multiplexServer(framed(b, jsonLines<Frame>()), mock, hooks, { onError: (e) => errors.push(e) });
  const w = framed(a, jsonLines<Frame>()).writable.getWriter();
  await w.write({ id: 5 });
  await w.write({ id: 5 });
  await served;
  assert.ok(mock.at(0).signal!.aborted);
  assert.is((errors[0] as NetError).code, "protocol-error");
});

test("maxInFlight holds on the server: it stops reading at the limit", async () => {
  for (const p of pairs()) {
    const [a, b] = await p.pair();
    const mock = new Mock<Frame, Frame>();
    const served = multiplexServer(framed(b, jsonLines<Frame>()), mock, hooks, { maxInFlight: 2 });
    const client = multiplexClient(framed(a, jsonLines<Frame>()), hooks);
    const calls = [0, 1, 2, 3, 4].map((n) => client.call({ id: -1, n }));
    await until(() => mock.calls.length === 2, "two calls");
    assert.ok(await stillPending(calls[2]!, 20));
    assert.is(mock.calls.length, 2, p.name);
    mock.at(1).resolve({ id: 0, n: 1 });
    await until(() => mock.calls.length === 3, "a third");
    assert.ok(await stillPending(calls[3]!, 20));
    assert.is(mock.calls.length, 3);
    for (let i = 0; i < 5; i++) {
      await until(() => mock.calls.length > i, `call ${i}`);
      if (i !== 1) mock.at(i).resolve({ id: 0, n: i });
    }
    assert.equal((await Promise.all(calls)).map((f) => f.n), [0, 1, 2, 3, 4]);
    await client.close();
    await served;
    await p.done();
  }
});

test("10,000 multiplexed calls with random aborts and cancels: every other call gets its own response", async () => {
  for (const p of pairs()) {
    for (const h of [hooks, withCancel]) {
      const [a, b] = await p.pair();
      const rand = random(7);
      const served = multiplexServer(
        framed(b, jsonLines<Frame>()),
        serviceFn(async (f: Frame) => {
          for (let i = rand() * 4; i > 1; i--) await null;
          return { id: 0, n: f.n! + 1 };
        }),
        h,
        { maxInFlight: 64 },
      );
      const client = multiplexClient(framed(a, jsonLines<Frame>()), h, { maxInFlight: 10_000 });
      let aborted = 0;
      const outcomes: Promise<void>[] = [];
      for (let i = 0; i < 10_000; i++) {
        const controller = new AbortController();
        const call = client.call({ id: -1, n: i }, { signal: controller.signal });
        const roll = rand();
        if (roll < 0.1) queueMicrotask(() => controller.abort(new Error(`gave up ${i}`)));
        outcomes.push(call.then((f) => assert.is(f.n, i + 1), (e) => {
          aborted++;
          assert.is((e as Error).message, `gave up ${i}`);
        }));
      }
      await Promise.all(outcomes);
      assert.ok(aborted > 500 && aborted < 1500, `${p.name}: ${aborted}`);
      await until(() => client.pending === 0, "every id free");
      assert.is((await client.call({ id: -1, n: 1 })).n, 2);
      await client.close();
      await served;
    }
    await p.done();
  }
});

test("a connection killed mid-flight rejects exactly the pending calls", async () => {
  for (const p of pairs()) {
    const [a, b] = await p.pair();
    const mock = new Mock<Frame, Frame>();
    const served = multiplexServer(framed(b, jsonLines<Frame>()), mock, hooks);
    const client = multiplexClient(framed(a, jsonLines<Frame>()), hooks);
    const calls = [0, 1, 2, 3].map((n) => hold(client.call({ id: -1, n })));
    await until(() => mock.calls.length === 4, "four calls");
    mock.at(2).resolve({ id: 0, n: 2 });
    assert.is((await calls[2]!).n, 2);
    await a.close(new NetError("connection-reset", "killed by the test"));
    for (const i of [0, 1, 3]) {
      const r = await settle(calls[i]!);
      assert.ok(!r.ok && r.error instanceof NetError, `${p.name}: call ${i}`);
    }
    await client.closed;
    if (!p.resets) for (const i of [0, 1, 3]) mock.at(i).resolve({ id: 0 });
    await served;
    if (p.resets) for (const i of [0, 1, 3]) assert.ok(mock.at(i).signal!.aborted);
    await p.done();
  }
});

test("bad hooks and options are TypeError or RangeError naming them", () => {
  const [a] = memoryPipe();
  const f = framed(a, jsonLines<Frame>());
  const svc = serviceFn(async (x: Frame) => x);
  assert.throws(() => multiplexServer(f, svc, {} as never), (e: Error) => e instanceof TypeError && e.message.includes("hooks.requestId"));
  assert.throws(() => multiplexClient(f, { ...hooks, cancel: 3 as never }), (e: Error) => e instanceof TypeError && e.message.includes("hooks.cancel 3"));
  assert.throws(() => multiplexClient(f, { ...hooks, maxId: -1 }), (e: Error) => e instanceof RangeError && e.message.includes("maxId -1"));
  assert.throws(() => multiplexServer(f, svc, hooks, { maxInFlight: 0 }), (e: Error) => e instanceof RangeError && e.message.includes("maxInFlight 0"));
});

test.run();
