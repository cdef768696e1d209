/**
 * respServer() and serve()'s idleTimeoutMs, on a ManualClock: a connection
 * with nothing arriving and nothing running is closed quietly after the
 * timeout, as redis-server's `timeout` does; one that keeps sending commands
 * is not, nor is a subscriber.
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { type Conn, ManualClock, memoryListener, serve } from "../../mod.ts";
import { respServer, respStore } from "../../src/protocols/resp/mod.ts";

const test = suite("resp: idle timeout");
const enc = new TextEncoder();
const dec = new TextDecoder();
const IDLE_MS = 100;

/** A raw client: what it has read, and whether the server has closed it. */
async function client(listener: ReturnType<typeof memoryListener>) {
  const conn: Conn = await listener.connect();
  const writer = conn.writable.getWriter();
  const state = { text: "", closed: false };
  void (async () => {
    const reader = conn.readable.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        state.text += dec.decode(value, { stream: true });
      }
    } catch {
      // reset: closed all the same
    }
    state.closed = true;
  })();
  return {
    state,
    send: (wire: string) => writer.write(enc.encode(wire)),
    close: () => writer.close().catch(() => {}),
  };
}

/** Lets the connections' promises and the memory transport's tasks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
}

/** Waits, on real time, for `cond` (the memory transport is quick; the bound is only a guard against a hang). */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Moves the clock on by `ms` in small steps, letting the connections run between them. */
async function advance(clock: ManualClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    await clock.advance(10);
    await settle();
  }
}

function start(idleTimeoutMs = IDLE_MS) {
  const clock = new ManualClock();
  const listener = memoryListener();
  const errors: unknown[] = [];
  const server = serve(listener, respServer({ ...respStore(), clock }), { clock, idleTimeoutMs, onError: (e) => errors.push(e) });
  return { clock, listener, server, errors };
}

test("an idle connection is closed quietly after idleTimeoutMs", async () => {
  const { clock, listener, server, errors } = start();
  const c = await client(listener);
  await c.send("PING\r\n");
  await until(() => c.state.text === "+PONG\r\n", "the PONG");
  await advance(clock, IDLE_MS / 2);
  assert.not.ok(c.state.closed, "not closed before the timeout");
  await advance(clock, IDLE_MS * 2);
  await until(() => c.state.closed, "the idle connection to be closed");
  assert.is(c.state.text, "+PONG\r\n", "closed without a reply");
  await until(() => server.connections === 0, "no connections left");
  await server.shutdown({ timeoutMs: 0 });
  assert.equal(errors, []);
});

test("a connection sending a command every so often is not closed; once it stops, it is", async () => {
  const { clock, listener, server, errors } = start();
  const c = await client(listener);
  let replies = "";
  for (let i = 0; i < 20; i++) {
    await c.send(`ECHO m${i}\r\n`);
    replies += `$${String(i).length + 1}\r\nm${i}\r\n`;
    await until(() => c.state.text === replies, `reply ${i}`);
    await advance(clock, IDLE_MS / 2); // 1,000 ms of clock time in all: ten timeouts
    assert.not.ok(c.state.closed, `closed after command ${i}`);
  }
  await advance(clock, IDLE_MS * 3);
  await until(() => c.state.closed, "the connection to be closed once quiet");
  await server.shutdown({ timeoutMs: 0 });
  assert.equal(errors, []);
});

test("a subscriber is not closed for idleness; once it unsubscribes, it is", async () => {
  const { clock, listener, server, errors } = start();
  const sub = await client(listener);
  await sub.send("SUBSCRIBE news\r\n");
  const subscribed = "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n";
  await until(() => sub.state.text === subscribed, "the subscription");
  await advance(clock, IDLE_MS * 10);
  assert.not.ok(sub.state.closed, "the subscriber was closed");
  const pub = await client(listener);
  await pub.send("PUBLISH news hello\r\n");
  await until(() => pub.state.text === ":1\r\n", "the publish");
  const message = "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n";
  await until(() => sub.state.text === subscribed + message, "the message");
  await advance(clock, IDLE_MS * 3);
  await until(() => pub.state.closed, "the idle publisher to be closed");
  assert.not.ok(sub.state.closed, "the subscriber was closed");
  await sub.send("UNSUBSCRIBE\r\n");
  await until(() => sub.state.text.endsWith("*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:0\r\n"), "the unsubscription");
  await advance(clock, IDLE_MS * 3);
  await until(() => sub.state.closed, "the former subscriber to be closed");
  await server.shutdown({ timeoutMs: 0 });
  assert.equal(errors, []);
});

test("idleTimeoutMs Infinity: an idle connection stays open", async () => {
  const { clock, listener, server, errors } = start(Infinity);
  const c = await client(listener);
  await c.send("PING\r\n");
  await until(() => c.state.text === "+PONG\r\n", "the PONG");
  await advance(clock, 10 * IDLE_MS);
  assert.not.ok(c.state.closed);
  await c.send("PING\r\n");
  await until(() => c.state.text === "+PONG\r\n+PONG\r\n", "the second PONG");
  await c.close();
  await server.shutdown({ timeoutMs: 0 });
  assert.equal(errors, []);
});

test.run();
