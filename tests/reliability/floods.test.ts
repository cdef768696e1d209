/**
 * Floods: connections beyond `maxConnections` are refused quickly, and the
 * server stays responsive to the connections it has, for the HTTP and the
 * RESP server over this runtime's loopback.
 *
 * "Quickly" is a bound, not a speed: the server's head, command and idle
 * timeouts are all TIMEOUTS_MS (30 s, serveHttp's default head timeout)
 * here, and every flood connection must be closed within REFUSED_BOUND_MS
 * (half of that) of its connect, so it is the connection limit that closed
 * it, not a timeout, and nothing held it. A refusal takes milliseconds on an
 * idle machine (the median is printed); the bound leaves room for a shared
 * one, where this process (flood, held clients and server on one core)
 * waits for CPU. "Responsive": every request on the held connections
 * during the flood is answered correctly, each within HELD_BOUND_MS (2 s: a
 * request takes about a millisecond on an idle loopback, tens of them on a
 * busy machine with 500 connects in this same process; a server whose
 * accepting stalled the connections it serves would miss it).
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { type Server, serve } from "../../mod.ts";
import { respServer, respStore } from "../../src/protocols/resp/mod.ts";
import { startServer } from "../http/_helpers.ts";
import { command, latin1, net, RawClient, RespRaw, sleep, until, watchUnhandled, within } from "./_helpers.ts";

const test = suite(`reliability: floods (${net.name})`);

const MAX_CONNECTIONS = 50;
const FLOOD = 500;
const TIMEOUTS_MS = 30_000;
const REFUSED_BOUND_MS = TIMEOUTS_MS / 2;
const HELD_BOUND_MS = 2000;

/** One connection past the limit: connects, sends `request`, and reads until the server closes it; how long that took and what came back. */
async function floodOne(port: number, request: string): Promise<{ ms: number; connectMs: number; text: string }> {
  const started = performance.now();
  let conn;
  try {
    conn = await net.connect({ hostname: "127.0.0.1", port });
  } catch {
    const ms = performance.now() - started;
    return { ms, connectMs: ms, text: "" }; // reset before the connect completed
  }
  const connectMs = performance.now() - started;
  const writer = conn.writable.getWriter();
  writer.write(new TextEncoder().encode(request)).catch(() => {});
  const reader = conn.readable.getReader();
  let text = "";
  try {
    await within((async () => {
      for (;;) {
        const r = await reader.read();
        if (r.done) return;
        text += latin1(r.value);
      }
    })(), "a flood connection to be closed", TIMEOUTS_MS * 2);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith("Gave up")) throw error;
    // reset: refused
  }
  const ms = performance.now() - started;
  await conn.close().catch(() => {});
  return { ms, connectMs, text };
}

/**
 * Holds MAX_CONNECTIONS connections (`held` runs one request on connection i),
 * floods the server with FLOOD more while the held ones keep asking, and
 * checks both.
 */
async function flood(name: string, server: Server, port: number, request: string, held: (i: number, n: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < MAX_CONNECTIONS; i++) await within(held(i, -1), `${name}: a held connection's first answer`);
  assert.is(server.connections, MAX_CONNECTIONS);

  let flooding = true;
  let most = 0;
  const latencies: number[] = [];
  const askers = Array.from({ length: MAX_CONNECTIONS }, async (_, i) => {
    for (let n = 0; flooding || n < 2; n++) {
      const t = performance.now();
      await within(held(i, n), `${name}: a held connection's answer during the flood`);
      latencies.push(performance.now() - t);
      most = Math.max(most, server.connections);
      await sleep(40 + (i % 20)); // ~1,000 requests a second from the 50: load, without starving the flood in this same process
    }
  });
  const outcomes: { ms: number; connectMs: number; text: string }[] = [];
  // 100 at a time (a listen backlog is 128 to 511 depending on the runtime): each of 100 workers floods again as soon as its last one was refused.
  let next = 0;
  await Promise.all(Array.from({ length: 100 }, async () => {
    while (next < FLOOD) {
      next++;
      outcomes.push(await floodOne(port, request));
    }
  }));
  await until(() => server.refused === FLOOD, `${name}: ${FLOOD} refusals to be counted (${server.refused} so far)`);
  flooding = false;
  await Promise.all(askers);

  for (const o of outcomes) {
    assert.is(o.text, "", `${name}: a refused connection got an answer: ${JSON.stringify(o.text.slice(0, 60))}`);
    assert.ok(o.ms < REFUSED_BOUND_MS, `${name}: a refused connection was closed only after ${o.ms.toFixed(0)} ms (${o.connectMs.toFixed(0)} ms of it to connect)`);
  }
  const refusals = outcomes.map((o) => o.ms).sort((a, b) => a - b);
  const worstRefusal = refusals.at(-1)!;
  const worstHeld = Math.max(...latencies);
  console.log(
    `  ${name}: ${FLOOD} connections past maxConnections ${MAX_CONNECTIONS} refused, closed ${refusals[refusals.length >> 1]!.toFixed(1)} ms after their connect began (median), ${worstRefusal.toFixed(1)} ms at worst (bound ${REFUSED_BOUND_MS}); ` +
      `${latencies.length} requests on the ${MAX_CONNECTIONS} held connections meanwhile, the slowest ${worstHeld.toFixed(1)} ms (bound ${HELD_BOUND_MS})`,
  );
  assert.is(server.refused, FLOOD);
  assert.ok(most <= MAX_CONNECTIONS, `${name}: ${most} connections served at once`);
  assert.ok(worstHeld < HELD_BOUND_MS, `${name}: a held connection waited ${worstHeld.toFixed(0)} ms`);
}

test("HTTP: 500 connections past maxConnections are refused at once; the 50 served are answered throughout", async () => {
  const unhandled = watchUnhandled();
  const s = await startServer({
    maxConnections: MAX_CONNECTIONS,
    headTimeoutMs: TIMEOUTS_MS,
    idleTimeoutMs: TIMEOUTS_MS,
    fetch: (request) => new Response(`hello ${new URL(request.url).pathname}`),
  });
  const clients: RawClient[] = [];
  await flood("HTTP", s.server, s.port, "GET /flood HTTP/1.1\r\nHost: x\r\n\r\n", async (i, n) => {
    if (n < 0) clients[i] = await RawClient.connect(s.port);
    const path = `/held/${i}/${n}`;
    await clients[i]!.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const r = await clients[i]!.readResponse();
    assert.is(r.status, 200);
    assert.is(r.text, `hello ${path}`);
  });
  // A slot freed is a slot for the next connection.
  await clients.pop()!.close();
  await until(() => s.server.connections === MAX_CONNECTIONS - 1, "a held connection to close");
  const next = await RawClient.connect(s.port);
  await next.write("GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.is((await next.readResponse()).text, "hello /next");
  await next.close();
  await Promise.all(clients.map((c) => c.close()));
  await until(() => s.server.connections === 0, "every connection to close");
  await s.stop();
  unhandled.stop();
  assert.equal(unhandled.seen, []);
  assert.equal(s.errors, []);
});

test("RESP: 500 connections past maxConnections are refused at once; the 50 served are answered throughout", async () => {
  const unhandled = watchUnhandled();
  const errors: unknown[] = [];
  const listener = await net.listen({ hostname: "127.0.0.1", port: 0 });
  const server = serve(listener, respServer({ ...respStore(), commandTimeoutMs: TIMEOUTS_MS }), {
    maxConnections: MAX_CONNECTIONS,
    idleTimeoutMs: TIMEOUTS_MS,
    onError: (e) => errors.push(e),
  });
  const port = listener.addr.port!;
  const clients: RespRaw[] = [];
  await flood("RESP", server, port, command("PING"), async (i, n) => {
    if (n < 0) clients[i] = await RespRaw.connect(port);
    await clients[i]!.write(command("ECHO", `held ${i} ${n}`));
    assert.is(await clients[i]!.reply(), `held ${i} ${n}`);
  });
  await clients.pop()!.close();
  await until(() => server.connections === MAX_CONNECTIONS - 1, "a held connection to close");
  const next = await RespRaw.connect(port);
  await next.write(command("PING"));
  assert.is(await next.reply(), "PONG");
  await next.close();
  await Promise.all(clients.map((c) => c.close()));
  await until(() => server.connections === 0, "every connection to close");
  await server.shutdown({ timeoutMs: 1000 });
  unhandled.stop();
  assert.equal(unhandled.seen, []);
  assert.equal(errors, []);
});

test.run();
