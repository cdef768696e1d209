/**
 * Slow clients: 500 connections that send one byte a second to the HTTP and
 * the RESP server do not slow a normal client down, and each is closed once
 * its head (HTTP: `headTimeoutMs`, answered 408) or command (RESP:
 * `commandTimeoutMs`, answered `-ERR Protocol error: ...`) timeout passes.
 *
 * The 500 slow clients and the server's 500 ends of them are 1,000 file
 * descriptors in this one process: the test reads the limit
 * (RLIMIT_NOFILE, `ulimit -n`; 20,000 on the machines this was written on)
 * and fails with a clear message when it is under 1,500.
 *
 * Nothing here asserts a speed. "Not slowed down": every request of the
 * normal client, on a keep-alive connection and on fresh ones, is answered
 * correctly, and each within NORMAL_BOUND_MS, half the timeout: a server that
 * made it queue behind the slow clients would have it wait for their
 * timeouts, and one request takes about a millisecond on an idle loopback,
 * so the bound is hundreds of times what a request needs.
 */
import { readFileSync } from "node:fs";
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { type Server, serve } from "../../mod.ts";
import { respServer, respStore } from "../../src/protocols/resp/mod.ts";
import { startServer } from "../http/_helpers.ts";
import { command, latin1, net, RawClient, RespRaw, sleep, until, watchUnhandled, within } from "./_helpers.ts";

const test = suite(`reliability: slow clients (${net.name})`);

const SLOW_CLIENTS = 500;
/** The head and command timeout: short, to keep the test short, and long enough for several of the slow clients' bytes. */
const TIMEOUT_MS = 2000;
/** The bound on each of the normal client's requests; see above. */
const NORMAL_BOUND_MS = TIMEOUT_MS / 2;
/**
 * How late past its timeout a slow client may be closed: the watches look every
 * quarter timeout and start counting at their second look (so up to half the
 * timeout late), and 500 closes take a moment on one busy core. Generous: the
 * point is that every slow client is closed, none held for ever.
 */
const LATE_MS = 8000;

function openFilesLimit(): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"));
  return m === null || m[1] === "unlimited" ? Infinity : Number(m[1]);
}

interface SlowOutcome {
  /** What the server sent before it closed the connection. */
  text: string;
  /** From the first byte sent to the end of the connection. */
  elapsed: number;
  /** Bytes sent before the server closed. */
  sent: number;
}

/** One slow client: sends `bytes` one a second until the server closes; what it got back and when. */
async function slowClient(port: number, bytes: Uint8Array): Promise<SlowOutcome> {
  const conn = await within(net.connect({ hostname: "127.0.0.1", port }), "a slow client's connection");
  const writer = conn.writable.getWriter();
  const reader = conn.readable.getReader();
  let stop = false;
  let sent = 0;
  const started = performance.now();
  void (async () => {
    for (let i = 0; i < bytes.length && !stop; i++) {
      await writer.write(bytes.subarray(i, i + 1));
      sent++;
      await sleep(1000);
    }
  })().catch(() => {});
  let text = "";
  try {
    await within((async () => {
      for (;;) {
        const r = await reader.read();
        if (r.done) return;
        text += latin1(r.value);
      }
    })(), "a slow client to be closed", TIMEOUT_MS + LATE_MS + 10_000);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith("Gave up")) throw error;
    // a reset after the answer: what came before it counts
  }
  const elapsed = performance.now() - started;
  stop = true;
  await conn.close().catch(() => {});
  return { text, elapsed, sent };
}

/** Runs the slow clients against `port` while `normal` runs requests; checks both. */
async function run(name: string, port: number, server: Server, bytes: Uint8Array, expected: RegExp, normal: () => Promise<void>): Promise<void> {
  const limit = openFilesLimit();
  assert.ok(limit >= 1500, `${SLOW_CLIENTS} slow clients need about ${2 * SLOW_CLIENTS} file descriptors: raise ulimit -n (it is ${limit})`);

  // 500 connections, opened 100 at a time (a listen backlog is 128 to 511 depending on the runtime).
  const outcomes: Promise<SlowOutcome>[] = [];
  for (let i = 0; i < SLOW_CLIENTS; i += 100) {
    const batch = Array.from({ length: Math.min(100, SLOW_CLIENTS - i) }, () => slowClient(port, bytes));
    outcomes.push(...batch);
    await sleep(10);
  }
  await until(() => server.connections >= SLOW_CLIENTS, `${name}: the ${SLOW_CLIENTS} slow connections to be served`, 20_000);

  // The normal client, from the moment all 500 trickle until the last is closed. (Not while
  // they connect: 500 connects at once in this same process are this test's load, not the server's.)
  let slowDone = false;
  const latencies: number[] = [];
  const normalLoop = (async () => {
    while (!slowDone) {
      const t = performance.now();
      await within(normal(), `${name}: the normal client's request`, NORMAL_BOUND_MS * 10);
      latencies.push(performance.now() - t);
      await sleep(10);
    }
  })();
  const results = await Promise.all(outcomes);
  slowDone = true;
  await normalLoop;

  for (const r of results) {
    assert.match(r.text, expected, `${name}: a slow client got ${JSON.stringify(r.text.slice(0, 80))}`);
    assert.ok(r.elapsed >= TIMEOUT_MS - 50, `${name}: a slow client was closed ${r.elapsed.toFixed(0)} ms after its first byte, before the ${TIMEOUT_MS} ms timeout`);
    assert.ok(r.elapsed <= TIMEOUT_MS + LATE_MS, `${name}: a slow client was closed only ${r.elapsed.toFixed(0)} ms after its first byte`);
    assert.ok(r.sent < bytes.length, `${name}: a slow client sent its whole request`);
  }
  const worst = Math.max(...latencies);
  const elapsed = results.map((r) => r.elapsed).sort((a, b) => a - b);
  console.log(
    `  ${name}: ${SLOW_CLIENTS} slow clients closed ${elapsed[0]!.toFixed(0)}–${elapsed.at(-1)!.toFixed(0)} ms after their first byte (timeout ${TIMEOUT_MS} ms); ` +
      `the normal client: ${latencies.length} requests, the slowest ${worst.toFixed(1)} ms (bound ${NORMAL_BOUND_MS} ms)`,
  );
  assert.ok(latencies.length >= 10, `${name}: only ${latencies.length} normal requests ran`);
  assert.ok(worst < NORMAL_BOUND_MS, `${name}: a normal request took ${worst.toFixed(0)} ms`);
}

test("HTTP: 500 clients sending a byte a second get 408 after headTimeoutMs; a normal client is answered all along", async () => {
  const unhandled = watchUnhandled();
  const s = await startServer({ headTimeoutMs: TIMEOUT_MS, fetch: (request) => new Response(`hello ${new URL(request.url).pathname}`) });
  const keepAlive = await RawClient.connect(s.port);
  let n = 0;
  try {
    await run("HTTP", s.port, s.server, new TextEncoder().encode("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"), /^HTTP\/1\.1 408 [^]*\r\nconnection: close\r\n/i, async () => {
      // Alternately on the keep-alive connection and on a fresh one.
      const path = `/normal/${n++}`;
      if (n % 2 === 0) {
        await keepAlive.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
        const r = await keepAlive.readResponse();
        assert.is(r.status, 200);
        assert.is(r.text, `hello ${path}`);
      } else {
        const c = await RawClient.connect(s.port);
        await c.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        const r = await c.readResponse();
        await c.close();
        assert.is(r.status, 200);
        assert.is(r.text, `hello ${path}`);
      }
    });
  } finally {
    await keepAlive.close();
  }
  await until(() => s.server.connections === 0, "every connection to be closed");
  await s.stop();
  unhandled.stop();
  assert.equal(unhandled.seen, []);
  assert.equal(s.errors, []);
});

test("RESP: 500 clients sending a byte a second get an error after commandTimeoutMs; a normal client is answered all along", async () => {
  const unhandled = watchUnhandled();
  const errors: unknown[] = [];
  const listener = await net.listen({ hostname: "127.0.0.1", port: 0 });
  const server = serve(listener, respServer({ ...respStore(), commandTimeoutMs: TIMEOUT_MS }), { onError: (e) => errors.push(e) });
  const port = listener.addr.port!;
  const keepAlive = await RespRaw.connect(port);
  let n = 0;
  try {
    await run("RESP", port, server, new TextEncoder().encode(command("SET", "slow", "value")), /^-ERR Protocol error: the command took longer than commandTimeoutMs 2000 to arrive\r\n$/, async () => {
      const value = `v${n++}`;
      if (n % 2 === 0) {
        await keepAlive.write(command("SET", "normal", value) + command("GET", "normal"));
        assert.is(await keepAlive.reply(), "OK");
        assert.is(await keepAlive.reply(), value);
      } else {
        const c = await RespRaw.connect(port);
        await c.write(command("ECHO", value));
        assert.is(await c.reply(), value);
        await c.close();
      }
    });
  } finally {
    await keepAlive.close();
  }
  await until(() => server.connections === 0, "every connection to be closed");
  await server.shutdown({ timeoutMs: 1000 });
  unhandled.stop();
  assert.equal(unhandled.seen, []);
  assert.equal(errors, []);
});

test("RESP: commandTimeoutMs is checked; Infinity turns the timeout off", () => {
  for (const bad of [0, -1, Number.NaN, "1000"]) {
    assert.throws(() => respServer({ commands: {}, commandTimeoutMs: bad as number }), (e: unknown) => e instanceof RangeError, String(bad));
  }
  respServer({ commands: {}, commandTimeoutMs: Infinity });
});

test.run();
