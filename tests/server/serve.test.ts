/** serve(): handlers and codecs, maxConnections, idle timeouts, graceful shutdown, failures kept to their connection. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import {
  type Conn,
  type ConnInfo,
  type Listener,
  lines,
  ManualClock,
  memoryListener,
  NetError,
  pipelineClient,
  serve,
  serviceFn,
} from "../../mod.ts";
import { echo, readText, readUntil, settle, until, writeText } from "../_helpers.ts";
import { hold, state, tick } from "../middleware/_mock.ts";
import { kinds, lineConn, settled } from "./_listeners.ts";

const test = suite("server: serve");

/** Writes `text` on `conn` and reads until it comes back. */
async function roundTrip(conn: Conn, text: string): Promise<void> {
  await writeText(conn.writable, text);
  assert.is(await readUntil(conn.readable, text), text);
}

/** Whether the peer closed or reset `conn`: its next read ends or fails. */
async function isClosedByPeer(conn: Conn): Promise<boolean> {
  const reader = conn.readable.getReader();
  const r = await settle(reader.read());
  reader.releaseLock();
  return !r.ok || r.value.done;
}

test("a handler per connection; ConnInfo has both addresses; the count follows the connections", async () => {
  for (const kind of kinds) {
    const listener = await kind.listen();
    const seen: ConnInfo[] = [];
    const server = serve(listener, async (conn, info) => {
      seen.push(info);
      await echo(conn);
    });
    assert.equal(server.addr, listener.addr, kind.name);
    const conn = await kind.connect(listener);
    await writeText(conn.writable, "hello", true);
    assert.is(await readText(conn.readable), "hello", kind.name);
    await until(() => server.connections === 0, "the connection to end");
    assert.is(seen.length, 1);
    assert.is(seen[0]!.remoteAddr.port, conn.localAddr.port, kind.name);
    assert.is(seen[0]!.remoteAddr.hostname, conn.localAddr.hostname, kind.name);
    assert.is(seen[0]!.localAddr.hostname, conn.remoteAddr.hostname, kind.name);
    assert.is(seen[0]!.idleTimeoutMs, 60_000);
    assert.is(seen[0]!.signal.aborted, false);
    await server.shutdown();
    assert.is(server.connections, 0);
  }
});

test("maxConnections: the excess is refused at once and counted; the others keep working", async () => {
  for (const kind of kinds) {
    const listener = await kind.listen();
    const server = serve(listener, echo, { maxConnections: 2 });
    const a = await kind.connect(listener);
    const b = await kind.connect(listener);
    await roundTrip(a, "a1");
    await roundTrip(b, "b1");
    assert.is(server.connections, 2, kind.name);
    // The reset may even beat the connect's own completion.
    const c = await settle(kind.connect(listener));
    if (c.ok) assert.ok(await isClosedByPeer(c.value), `${kind.name}: the third connection is closed`);
    await until(() => server.refused === 1, "the refusal to be counted");
    await roundTrip(a, "a2");
    await roundTrip(b, "b2");
    // A slot freed is a slot for the next connection.
    await writeText(a.writable, "", true);
    await readText(a.readable);
    await until(() => server.connections === 1, "a to end");
    const d = await kind.connect(listener);
    await roundTrip(d, "d1");
    assert.is(server.refused, 1, kind.name);
    await Promise.all([b.close(), d.close(), c.ok && c.value.close()]);
    await server.shutdown({ timeoutMs: 0 });
    assert.is(server.connections, 0);
  }
});

test("codec form: a pipelined line protocol answers every connection", async () => {
  for (const kind of kinds) {
    const listener = await kind.listen();
    const server = serve(listener, { codec: () => lines(), mode: "pipeline", service: serviceFn(async (s: string) => s.toUpperCase()) });
    const clients = await Promise.all([1, 2, 3].map(async () => pipelineClient<string, string>(await lineConn(kind, listener))));
    const answers = await Promise.all(clients.flatMap((c, i) => ["a", "b", "c"].map((s) => c.call(`${s}${i}`))));
    assert.is(answers.join(), "A0,B0,C0,A1,B1,C1,A2,B2,C2", kind.name);
    assert.is(server.connections, 3);
    await Promise.all(clients.map((c) => c.close()));
    await until(() => server.connections === 0, "the clients' connections to end");
    await server.shutdown();
  }
});

test("codec form: a connection idle for idleTimeoutMs is closed; a busy one is not", async () => {
  for (const kind of kinds) {
    const clock = new ManualClock();
    const listener = await kind.listen();
    const server = serve(listener, { codec: () => lines(), mode: "pipeline", service: serviceFn(async (s: string) => s) }, { idleTimeoutMs: 1000, clock });
    const idle = pipelineClient<string, string>(await lineConn(kind, listener));
    const busy = pipelineClient<string, string>(await lineConn(kind, listener));
    assert.is(await idle.call("once"), "once");
    for (let i = 0; i < 4; i++) {
      assert.is(await busy.call(`call ${i}`), `call ${i}`, kind.name);
      await clock.advance(600);
    }
    await idle.closed; // the server closed it, not the client
    assert.is(await busy.call("still here"), "still here", kind.name);
    await clock.advance(1000);
    await busy.closed;
    await until(() => server.connections === 0, "both connections to end");
    await server.shutdown();
  }
});

test("graceful shutdown under load: every request the server took is answered; new connections are refused", async () => {
  for (const kind of kinds) {
    const listener = await kind.listen();
    const started = new Set<string>();
    const service = serviceFn(async (s: string) => {
      started.add(s);
      await tick();
      return `re:${s}`;
    });
    const server = serve(listener, { codec: () => lines(), mode: "pipeline", service, maxInFlight: 8 });
    const idle = pipelineClient<string, string>(await lineConn(kind, listener));
    const clients = await Promise.all([0, 1, 2, 3].map(async () => pipelineClient<string, string>(await lineConn(kind, listener))));
    const calls: { id: string; outcome: Promise<{ ok: true; value: string } | { ok: false; error: unknown }> }[] = [];
    // Each client keeps sending, before and during the shutdown, until the server is done.
    let sending = true;
    const senders = clients.map(async (c, i) => {
      for (let round = 0; sending; round++) {
        const id = `${i}.${round}`;
        calls.push({ id, outcome: settle(c.call(id)) });
        if (round % 4 === 3) await tick();
      }
    });
    await until(() => started.size >= 50, "the server to take 50 requests");
    await server.shutdown({ timeoutMs: 30_000 });
    sending = false;
    await Promise.all(senders);
    await settled(idle.closed);
    assert.is(server.connections, 0, kind.name);
    let answered = 0;
    for (const { id, outcome } of calls) {
      const r = await outcome;
      if (started.has(id)) {
        assert.ok(r.ok, `${kind.name}: ${id} was taken but not answered: ${!r.ok && r.error}`);
        assert.is(r.ok && r.value, `re:${id}`);
        answered++;
      } else {
        assert.ok(!r.ok && r.error instanceof NetError, `${kind.name}: ${id} was never taken, yet answered`);
      }
    }
    assert.ok(answered >= 50 && answered === started.size, kind.name);
    assert.ok(calls.length > answered, `${kind.name}: some requests came too late`);
    const late = await settle(kind.connect(listener));
    assert.ok(!late.ok, `${kind.name}: a connection after shutdown is refused`);
  }
});

test("graceful shutdown: handlers see info.signal; idle ones finish at once; the deadline aborts the rest", async () => {
  const clock = new ManualClock();
  const listener = memoryListener();
  const errors: unknown[] = [];
  const signals: AbortSignal[] = [];
  const server = serve(listener, async (conn, info) => {
    signals.push(info.signal);
    if (signals.length === 1) {
      // A well-behaved handler: returns when asked to.
      await new Promise((resolve) => info.signal.addEventListener("abort", resolve));
      return;
    }
    await new Promise(() => {}); // one that ignores the signal
    conn.close();
  }, { clock, onError: (e) => errors.push(e) });
  const polite = await listener.connect();
  const stubborn = await listener.connect();
  await until(() => server.connections === 2, "two connections");
  const done = hold(server.shutdown({ timeoutMs: 5000 }));
  assert.ok(signals.every((s) => s.aborted));
  assert.ok(await isClosedByPeer(polite));
  await until(() => server.connections === 1, "the polite handler to return");
  await clock.advance(4999);
  assert.is(await state(done), "pending");
  // A second shutdown can bring the deadline nearer, never push it back.
  hold(server.shutdown({ timeoutMs: 60_000 }));
  await clock.advance(1);
  await done;
  assert.is(server.connections, 0);
  assert.ok(await isClosedByPeer(stubborn));
  assert.is(errors.length, 0, "an aborted connection's errors are not reported");
  assert.is(clock.pending, 0);
});

test("a failing handler reaches onError and disturbs no other connection", async () => {
  for (const kind of kinds) {
    const listener = await kind.listen();
    const errors: [unknown, ConnInfo | undefined][] = [];
    const server = serve(listener, async (conn) => {
      const reader = conn.readable.getReader();
      const writer = conn.writable.getWriter();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (new TextDecoder().decode(value).includes("boom")) throw new Error("boom");
        await writer.write(value);
      }
      await writer.close();
    }, { onError: (e, info) => errors.push([e, info]) });
    const good = await kind.connect(listener);
    const bad = await kind.connect(listener);
    await roundTrip(good, "one");
    await writeText(bad.writable, "boom");
    assert.ok(await isClosedByPeer(bad), kind.name);
    await until(() => errors.length === 1, "onError");
    assert.is((errors[0]![0] as Error).message, "boom");
    assert.is(errors[0]![1]!.remoteAddr.port, bad.localAddr.port, kind.name);
    await roundTrip(good, "two");
    assert.is(server.connections, 1);
    await Promise.all([good.close(), bad.close()]);
    await server.shutdown({ timeoutMs: 0 });
  }
});

test("a handler that throws synchronously, and an onError that throws, leave the server serving", async () => {
  const listener = memoryListener();
  let calls = 0;
  const server = serve(listener, () => {
    calls++;
    throw new Error("sync");
  }, {
    onError: () => {
      throw new Error("onError fails too");
    },
  });
  for (let i = 0; i < 3; i++) {
    const conn = await listener.connect();
    assert.ok(await isClosedByPeer(conn));
  }
  assert.is(calls, 3);
  await until(() => server.connections === 0, "the connections to end");
  await server.shutdown();
});

test("the signal option starts a shutdown; so does Symbol.asyncDispose; finished settles once", async () => {
  const controller = new AbortController();
  const listener = memoryListener();
  const server = serve(listener, echo, { signal: controller.signal });
  const conn = await listener.connect();
  await roundTrip(conn, "hi");
  controller.abort();
  await writeText(conn.writable, "", true);
  await server.finished;
  assert.is(server.connections, 0);
  const late = await settle(listener.connect());
  assert.ok(!late.ok && (late.error as NetError).code === "connection-refused");

  const l2 = memoryListener();
  const s2 = serve(l2, echo, { shutdownTimeoutMs: 0 });
  const c2 = await l2.connect();
  await roundTrip(c2, "x");
  await s2[Symbol.asyncDispose]();
  assert.is(s2.connections, 0);
  assert.ok(await isClosedByPeer(c2));

  const aborted = AbortSignal.abort();
  const s3 = serve(memoryListener(), echo, { signal: aborted });
  await s3.finished;
});

test("a listener that fails ends the accepting; the error goes to onError", async () => {
  const failure = new NetError("unknown", "the listener broke");
  let closed = 0;
  const listener: Listener = {
    addr: { transport: "memory" },
    accept: () => Promise.reject(failure),
    close: async () => void closed++,
    [Symbol.asyncIterator]: () => { throw new Error("not used"); },
    [Symbol.asyncDispose]: async () => {},
  };
  const errors: [unknown, ConnInfo | undefined][] = [];
  const server = serve(listener, echo, { onError: (e, info) => errors.push([e, info]) });
  await server.finished;
  assert.equal(errors, [[failure, undefined]]);
  assert.is(closed, 1);
});

test("bad arguments are TypeErrors and RangeErrors", () => {
  const l = memoryListener();
  assert.throws(() => serve({} as Listener, echo), TypeError);
  assert.throws(() => serve(l, 42 as never), TypeError);
  assert.throws(() => serve(l, echo, { maxConnections: 0 }), RangeError);
  assert.throws(() => serve(l, echo, { idleTimeoutMs: -1 }), RangeError);
  assert.throws(() => serve(l, echo, { onError: "log" as never }), TypeError);
  const service = serviceFn(async (s: string) => s);
  assert.throws(() => serve(l, { codec: () => lines(), mode: "fifo" as never, service }), TypeError);
  assert.throws(() => serve(l, { codec: () => lines(), mode: "multiplex", service }), TypeError);
  assert.throws(() => serve(l, { codec: lines() as never, mode: "pipeline", service }), TypeError);
  assert.throws(() => serve(l, { codec: () => lines(), mode: "pipeline", service, maxInFlight: 0 }), RangeError);
  void l.close();
});

test.run();
