/** pool(): connections on demand, load spread, dead ones replaced, idle ones closed, close() drains. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import {
  type Conn,
  type DispatchClient,
  framed,
  type Listener,
  lines,
  ManualClock,
  memoryListener,
  NetError,
  pipelineClient,
  pipelineServer,
  pool,
  serve,
  type Server,
  type Service,
} from "../../mod.ts";
import { settle, until } from "../_helpers.ts";
import { hold, Mock, state, tick } from "../middleware/_mock.ts";
import { type Kind, kinds } from "./_listeners.ts";

const test = suite("server: pool");

/**
 * A line server whose every answer says which connection it came from
 * (`2:req`), with the calls held by a Mock (its requests read `2|req`) so
 * that the test decides when each is answered.
 */
function taggedServer(listener: Listener, clock?: ManualClock) {
  const mock = new Mock<string, string>();
  const conns: Conn[] = [];
  let next = 0;
  const server: Server = serve(listener, (conn, info) => {
    const id = ++next;
    conns.push(conn);
    const service: Service<string, string> = { call: async (s, o) => `${id}:${await mock.call(`${id}|${s}`, o)}` };
    return pipelineServer(framed(conn, lines()), service, { signal: info.signal });
  }, clock ? { clock } : {});
  /** Answers every call waiting in the mock with its own request. */
  const answerAll = () => {
    for (const c of mock.pending) c.resolve(c.req.split("|")[1]!);
  };
  return { server, mock, conns, answerAll };
}

/** A connect function for `pool()` that counts its connections. */
function connector(kind: Kind, listener: Listener, options: { maxInFlight?: number } = {}) {
  const c = {
    count: 0,
    connect: async (): Promise<DispatchClient<string, string>> => {
      c.count++;
      return pipelineClient<string, string>(framed(await kind.connect(listener), lines()), options);
    },
  };
  return c;
}

test("opens connections on demand up to size, then spreads the calls over them", async () => {
  for (const kind of kinds) {
    const listener = await kind.listen();
    const { server, mock, answerAll } = taggedServer(listener);
    const c = connector(kind, listener);
    const client = pool({ connect: c.connect, size: 3 });
    assert.is(client.capacity, undefined);
    const calls = Array.from({ length: 9 }, (_, i) => client.call(`r${i}`));
    await until(() => mock.calls.length === 9, "nine calls at the server");
    assert.is(client.pending, 9);
    answerAll();
    const answers = await Promise.all(calls);
    const perConn = new Map<string, number>();
    answers.forEach((a, i) => {
      assert.ok(a.endsWith(`:r${i}`), a);
      const id = a.split(":")[0]!;
      perConn.set(id, (perConn.get(id) ?? 0) + 1);
    });
    assert.equal([...perConn.values()], [3, 3, 3], kind.name);
    assert.is(client.connections, 3);
    assert.is(server.connections, 3);
    // Calls one after another find an idle connection: the first one, so the others can go idle.
    for (let i = 0; i < 5; i++) {
      const p = client.call(`s${i}`);
      await until(() => mock.pending.length === 1, "the call at the server");
      answerAll();
      assert.is((await p).split(":")[0], [...perConn.keys()][0], kind.name);
    }
    assert.is(c.count, 3);
    await client.close();
    await until(() => server.connections === 0, "the server to see every connection end");
    await server.shutdown();
  }
});

test("a connection killed mid-flight: exactly its pending calls reject; later calls succeed on a new one", async () => {
  for (const kind of kinds) {
    const listener = await kind.listen();
    const { server, mock, conns, answerAll } = taggedServer(listener);
    const c = connector(kind, listener);
    const client = pool({ connect: c.connect, size: 2 });
    const calls = ["a", "b", "c", "d"].map((s) => settle(client.call(s)));
    await until(() => mock.calls.length === 4, "four calls at the server");
    const onFirst = mock.calls.filter((m) => m.req.startsWith("1|")).length;
    assert.is(onFirst, 2, kind.name);
    await conns[0]!.close(new NetError("connection-reset", "killed by the test"));
    await until(() => mock.calls.filter((m) => m.req.startsWith("1|")).every((m) => m.settled), "the killed calls to end");
    answerAll();
    const outcomes = await Promise.all(calls);
    const failed = outcomes.filter((o) => !o.ok);
    assert.is(failed.length, 2, kind.name);
    for (const f of failed) assert.instance((f as { error: unknown }).error, NetError);
    for (const o of outcomes) if (o.ok) assert.ok(o.value.startsWith("2:"), o.value);
    // The dead connection is gone: one call goes to the live one, the next opens a third.
    const later = [client.call("e"), client.call("f")];
    await until(() => mock.pending.length === 2, "two more calls at the server");
    answerAll();
    assert.equal((await Promise.all(later)).sort(), ["2:e", "3:f"], kind.name);
    assert.is(c.count, 3);
    assert.is(client.connections, 2);
    await client.close();
    await until(() => server.connections === 0, "every connection to end");
    await server.shutdown();
  }
});

test("connections with no call for idleTimeoutMs are closed; one in use stays", async () => {
  for (const kind of kinds) {
    const clock = new ManualClock();
    const listener = await kind.listen();
    const { server, mock, answerAll } = taggedServer(listener);
    const c = connector(kind, listener);
    const client = pool({ connect: c.connect, size: 2, idleTimeoutMs: 1000, clock });
    const two = [client.call("a"), client.call("b")];
    await until(() => mock.pending.length === 2, "two calls at the server");
    answerAll();
    await Promise.all(two);
    assert.is(client.connections, 2);
    await clock.advance(600);
    const again = client.call("c");
    await until(() => mock.pending.length === 1, "the call at the server");
    answerAll();
    await again;
    await clock.advance(400); // the second has been idle 1000 ms, the first 400 ms
    assert.is(client.connections, 1, kind.name);
    await until(() => server.connections === 1, "the server to see the idle one close");
    await clock.advance(600);
    assert.is(client.connections, 0, kind.name);
    await until(() => server.connections === 0, "the server to see both close");
    assert.is(clock.pending, 0);
    await client.close();
    await server.shutdown();
  }
});

test("close() refuses new calls, lets the calls made so far finish, and leaves nothing open", async () => {
  for (const kind of kinds) {
    const listener = await kind.listen();
    const { server, mock, answerAll } = taggedServer(listener);
    const c = connector(kind, listener);
    const client = pool({ connect: c.connect, size: 3 });
    const calls = ["a", "b", "c", "d", "e"].map((s) => client.call(s));
    await until(() => mock.calls.length === 5, "five calls at the server");
    const closing = client.close();
    const refused = await settle(client.call("late"));
    assert.ok(!refused.ok && (refused.error as NetError).code === "closed", kind.name);
    assert.is(await state(closing), "pending");
    answerAll();
    assert.is((await Promise.all(calls)).length, 5);
    await closing;
    assert.is(client.connections, 0);
    await until(() => server.connections === 0, "the server to see every connection end");
    await server.shutdown();
  }
});

test("close() while a connection is opening: the calls waiting for it are still sent", async () => {
  const listener = memoryListener();
  const { server, answerAll, mock } = taggedServer(listener);
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const client = pool({
    connect: async () => {
      await gate;
      return pipelineClient<string, string>(framed(await listener.connect(), lines()));
    },
  });
  const call = client.call("x");
  const closing = client.close();
  open();
  await until(() => mock.pending.length === 1, "the call at the server");
  answerAll();
  assert.is(await call, "1:x");
  await closing;
  await until(() => server.connections === 0, "the connection to end");
  await server.shutdown();
});

test("calls that waited for a connection to open are sent as it has room, never over its maxInFlight", async () => {
  const listener = memoryListener();
  const { server, answerAll, mock } = taggedServer(listener);
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const client = pool({
    size: 1,
    connect: async () => {
      await gate;
      return pipelineClient<string, string>(framed(await listener.connect(), lines()), { maxInFlight: 2 });
    },
  });
  const calls = ["a", "b", "c", "d", "e"].map((s) => hold(client.call(s)));
  open();
  await until(() => mock.pending.length === 2, "two calls at the server");
  for (let answered = 2; answered < 5; answered++) {
    answerAll();
    await until(() => mock.pending.length > 0 || answered === 4, "the next calls");
  }
  answerAll();
  assert.equal(await Promise.all(calls), ["1:a", "1:b", "1:c", "1:d", "1:e"]);
  await client.close();
  await server.shutdown();
});

test("calls waiting for room on a connection that then dies reject with closed instead of waiting forever", async () => {
  const listener = memoryListener();
  const conns: Conn[] = [];
  const server = serve(listener, (conn) => {
    conns.push(conn);
    return conn.closed.catch(() => {});
  });
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const client = pool({
    size: 1,
    connect: async () => {
      await gate;
      return pipelineClient<string, string>(framed(await listener.connect(), lines()), { maxInFlight: 1 });
    },
  });
  const calls = ["a", "b"].map((s) => settle(client.call(s)));
  open();
  await until(() => conns.length === 1, "the connection at the server");
  await conns[0]!.close(new Error("reset by the test"));
  const [a, b] = await Promise.all(calls);
  for (const r of [a!, b!]) assert.ok(!r.ok && r.error instanceof NetError, String(!r.ok && r.error));
  await client.close();
  await server.shutdown({ timeoutMs: 0 });
});

test("a failed connect rejects the calls waiting for it with its NetError and does not poison the pool", async () => {
  for (const kind of kinds) {
    const listener = await kind.listen();
    const dead = await kind.listen();
    await dead.close();
    const { server, answerAll, mock } = taggedServer(listener);
    let attempts = 0;
    const client = pool({
      size: 1,
      connect: async () => pipelineClient<string, string>(framed(await kind.connect(++attempts === 1 ? dead : listener), lines())),
    });
    const waiting = await Promise.all([settle(client.call("a")), settle(client.call("b"))]);
    for (const w of waiting) {
      assert.ok(!w.ok && w.error instanceof NetError && w.error.code === "connection-refused", `${kind.name}: ${!w.ok && w.error}`);
    }
    assert.is(attempts, 1);
    const next = client.call("c");
    await until(() => mock.pending.length === 1, "the call at the server");
    answerAll();
    assert.is(await next, "1:c");
    assert.is(attempts, 2);
    await client.close();
    await server.shutdown();
  }
  // A connect that fails with something else is reported as a NetError, with the cause kept.
  const cause = new Error("no route");
  const client = pool({ connect: () => Promise.reject(cause), size: 1 });
  const r = await settle(client.call("x"));
  assert.ok(!r.ok && r.error instanceof NetError && r.error.cause === cause);
  // One that returns something that is not a client is a TypeError, and does not hold a place either.
  const odd = pool({ connect: async () => ({}) as DispatchClient<string, string>, size: 1 });
  for (let i = 0; i < 2; i++) assert.instance((await settle(odd.call("x")) as { error: unknown }).error, TypeError);
  assert.is(odd.capacity, undefined);
  await Promise.all([client.close(), odd.close()]);
});

test("capacity and ready(): at size with every connection full, capacity is 0 and ready() waits for room", async () => {
  const listener = memoryListener();
  const { server, answerAll, mock } = taggedServer(listener);
  const c = connector({ name: "memory", listen: async () => listener, connect: (l) => (l as typeof listener).connect() }, listener, { maxInFlight: 1 });
  const client = pool({ connect: c.connect, size: 1 });
  assert.is(client.capacity, undefined);
  const first = client.call("a");
  await until(() => mock.pending.length === 1, "the call at the server");
  assert.is(client.capacity, 0);
  const ready = hold(client.ready());
  assert.is(await state(ready), "pending");
  const over = await settle(client.call("b"));
  assert.ok(!over.ok && (over.error as NetError).code === "overloaded");
  answerAll();
  await first;
  await ready;
  assert.is(client.capacity, 1);
  const aborted = await settle(client.ready(AbortSignal.abort(new Error("gave up"))));
  assert.ok(!aborted.ok);
  await client.close();
  await server.shutdown();
});

test("a caller that aborts while its connection opens leaves at once; the connection serves the next call", async () => {
  const listener = memoryListener();
  const { server, answerAll, mock } = taggedServer(listener);
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let connects = 0;
  const client = pool({
    connect: async () => {
      connects++;
      await gate;
      return pipelineClient<string, string>(framed(await listener.connect(), lines()));
    },
  });
  const controller = new AbortController();
  const reason = new Error("caller gave up");
  const call = settle(client.call("x", { signal: controller.signal }));
  controller.abort(reason);
  const r = await call;
  assert.ok(!r.ok && r.error === reason);
  assert.is(client.pending, 0);
  open();
  await until(() => client.connections === 1, "the connection to open");
  const next = client.call("y");
  await until(() => mock.pending.length === 1, "the call at the server");
  answerAll();
  assert.is(await next, "1:y");
  assert.is(connects, 1);
  await tick();
  await client.close();
  await server.shutdown();
});

test("bad arguments are TypeErrors and RangeErrors", () => {
  const connect = async () => ({}) as DispatchClient<string, string>;
  assert.throws(() => pool(undefined as never), TypeError);
  assert.throws(() => pool({} as never), TypeError);
  assert.throws(() => pool({ connect, size: 0 }), RangeError);
  assert.throws(() => pool({ connect, idleTimeoutMs: 0 }), RangeError);
  assert.throws(() => pool({ connect, clock: {} as never }), TypeError);
});

test.run();
