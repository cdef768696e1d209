/**
 * The client halves of the conformance cases, run inside workerd by
 * _worker.mts against peers that adapter.test.ts runs on loopback. Each case
 * takes the peer's address and throws when a promise of a Conn is broken; what
 * it returns goes back to the test as JSON.
 *
 * (A Worker cannot import tests/_helpers.ts, which reads files at load: the few
 * helpers needed are here, the byte pattern the same as there.)
 */
import { connect, connectTls, listen, listenTls, startTls } from "../../adapters/cloudflare.ts";
import { type Conn, NetError } from "../../mod.ts";

export interface Peer {
  /** `tcp` or `tls`: how to connect. */
  kind?: "tcp" | "tls";
  hostname: string;
  port: number;
  [more: string]: unknown;
}

const MiB = 1024 * 1024;

// ── helpers ───────────────────────────────────────────────────────────────

// The byte pattern of tests/_helpers.ts: period 1_000_003, byte i is (i * 7 + (i >>> 9)) & 0xff.
const PERIOD = 1_000_003;
const BLOCK = new Uint8Array(PERIOD + 16 * MiB);
for (let i = 0; i < PERIOD; i++) BLOCK[i] = (i * 7 + (i >>> 9)) & 0xff;
for (let i = PERIOD; i < BLOCK.length; i++) BLOCK[i] = BLOCK[i - PERIOD]!;

function patternCopy(offset: number, length: number): Uint8Array {
  const start = offset % PERIOD;
  return BLOCK.slice(start, start + length);
}

async function readPattern(readable: ReadableStream<Uint8Array>): Promise<number> {
  let total = 0;
  for await (const chunk of readable) {
    const start = total % PERIOD;
    for (let i = 0; i < chunk.byteLength; i++) {
      if (chunk[i] !== BLOCK[start + i]) throw new Error(`byte ${total + i} is ${chunk[i]}, expected ${BLOCK[start + i]}`);
    }
    total += chunk.byteLength;
  }
  return total;
}

async function writePattern(writable: WritableStream<Uint8Array>, total: number, chunkBytes = 64 * 1024): Promise<void> {
  const writer = writable.getWriter();
  for (let at = 0; at < total; at += chunkBytes) await writer.write(patternCopy(at, Math.min(chunkBytes, total - at)));
  await writer.close();
}

function readText(readable: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(readable).text();
}

async function writeText(writable: WritableStream<Uint8Array>, text: string, close = false): Promise<void> {
  const writer = writable.getWriter();
  await writer.write(new TextEncoder().encode(text));
  if (close) await writer.close();
  else writer.releaseLock();
}

async function readUntil(readable: ReadableStream<Uint8Array>, text: string): Promise<string> {
  const reader = readable.getReader();
  const decoder = new TextDecoder();
  let got = "";
  try {
    while (!got.includes(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      got += decoder.decode(value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
  return got;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then((value) => ({ ok: true as const, value }), (error) => ({ ok: false as const, error }));
}

async function stillPending(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = Symbol();
  const r = await Promise.race([p.then(() => undefined, () => undefined), new Promise((done) => (timer = setTimeout(() => done(pending), ms)))]);
  clearTimeout(timer);
  return r === pending;
}

function check(ok: unknown, message: string): asserts ok {
  if (!ok) throw new Error(message);
}

function same<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/** The error of a promise that must reject. */
async function failure(p: Promise<unknown>, what: string): Promise<unknown> {
  const r = await settle(p);
  check(!r.ok, `${what} did not fail`);
  return (r as { error: unknown }).error;
}

/** A NetError with `code`, or a thrown Error saying what came instead. */
function netError(error: unknown, code: string, what: string): NetError {
  check(error instanceof NetError, `${what}: expected a NetError ${code}, got ${String(error)}`);
  same(error.code, code, `${what}: code (${error.message})`);
  return error;
}

function open(peer: Peer): Promise<Conn> {
  const { hostname, port } = peer;
  return peer.kind === "tls" ? connectTls({ hostname, port }) : connect({ hostname, port });
}

// ── byte-stream cases (tests/conformance/streams.ts), against an echo or a scripted peer ──

/** Echo peer: the pattern, written in 64 KiB chunks and read back byte-exact. */
async function echoes(peer: Peer): Promise<number> {
  const total = Number(peer.bytes);
  const conn = await open(peer);
  const reading = readPattern(conn.readable);
  await writePattern(conn.writable, total);
  same(await reading, total, "bytes echoed");
  await conn.closed;
  return total;
}

/** Echo peer: a BYOB reader with an odd-sized buffer. */
async function byobEchoes(peer: Peer): Promise<number> {
  const total = Number(peer.bytes);
  const conn = await open(peer);
  const writing = writePattern(conn.writable, total, 48 * 1024 + 1);
  const reader = conn.readable.getReader({ mode: "byob" });
  let buffer = new Uint8Array(10_007);
  let got = 0;
  for (;;) {
    const { value, done } = await reader.read(buffer);
    if (done || !value) break;
    const expected = patternCopy(got, value.byteLength);
    for (let i = 0; i < value.byteLength; i++) if (value[i] !== expected[i]) throw new Error(`byte ${got + i} differs`);
    got += value.byteLength;
    buffer = new Uint8Array(value.buffer);
  }
  await writing;
  same(got, total, "bytes echoed");
  await conn.closed;
  return got;
}

/**
 * Stalling peer: it reads nothing until a second connection arrives. Writes
 * stop being taken (writer.ready waits) after a bounded amount; then every
 * byte offered arrives.
 */
async function backpressure(peer: Peer): Promise<{ offered: number; stalledAt: number }> {
  const offered = Number(peer.bytes);
  const chunk = 64 * 1024;
  const conn = await open(peer);
  const writer = conn.writable.getWriter();
  let accepted = 0;
  while (accepted < offered) {
    if (await stillPending(writer.ready, 300)) break;
    writer.write(patternCopy(accepted, chunk)).catch(() => {});
    accepted += chunk;
  }
  check(accepted < offered, "writer.ready never waited");
  check(accepted <= 16 * MiB, `accepted ${accepted} bytes before waiting`);
  const stalledAt = accepted;
  const go = await open(peer); // tells the peer to start reading
  await go.close();
  for (; accepted < offered; accepted += chunk) {
    await writer.ready;
    writer.write(patternCopy(accepted, chunk)).catch(() => {});
  }
  await writer.close();
  same(await readText(conn.readable), "", "the peer's reply");
  await conn.closed;
  return { offered, stalledAt };
}

/** Peer: reads to the end, answers "pong", half-closes. */
async function halfClose(peer: Peer): Promise<string> {
  const conn = await open(peer);
  await writeText(conn.writable, "ping", true);
  const reply = await readText(conn.readable);
  await conn.closed;
  return reply;
}

/** Peer: says "hello" and half-closes first, then reads to the end. */
async function peerHalfClosesFirst(peer: Peer): Promise<void> {
  const conn = await open(peer);
  same(await readText(conn.readable), "hello", "the peer's words");
  // The readable has ended (the peer's FIN); the writable keeps working.
  await writeText(conn.writable, "still heard", true);
  await conn.closed;
}

/** Peer: reads the pattern to the end and half-closes. */
async function singleWrite(peer: Peer): Promise<void> {
  const conn = await open(peer);
  const writer = conn.writable.getWriter();
  await writer.write(patternCopy(0, Number(peer.bytes)));
  await writer.close();
  same(await readText(conn.readable), "", "the peer's reply");
  await conn.closed;
}

/** Peer: reads to the end. */
async function writeAfterClose(peer: Peer): Promise<void> {
  const conn = await open(peer);
  const writer = conn.writable.getWriter();
  await writer.write(new TextEncoder().encode("last"));
  await conn.close();
  netError(await failure(writer.write(new Uint8Array(1)), "a write after close()"), "closed", "a write after close()");
  await conn.closed;
}

/** Peer: holds the connection until the client closes it. */
async function closeEndsRead(peer: Peer): Promise<void> {
  const conn = await open(peer);
  const read = conn.readable.getReader().read();
  check(await stillPending(read, 20), "the read did not wait");
  await conn.close();
  const r = await read;
  check(r.done && r.value === undefined, `read gave ${JSON.stringify(r)}`);
  await conn.closed;
}

/** Peer: writes "ignored", reads to the end, half-closes. */
async function cancelReadable(peer: Peer): Promise<void> {
  const conn = await open(peer);
  await conn.readable.cancel();
  await writeText(conn.writable, "still here", true);
  await conn.closed;
}

/** Peer: holds the connection until the client closes it. */
async function abortWritable(peer: Peer): Promise<void> {
  const conn = await open(peer);
  const reason = new Error("stop");
  await conn.writable.abort(reason);
  const error = await failure(conn.readable.getReader().read(), "a read after abort");
  check(error === reason, `the read failed with ${String(error)}, not the reason`);
  await conn.closed;
}

/** Peer: holds the connection until the client closes it. */
async function writeNonBytes(peer: Peer): Promise<void> {
  const conn = await open(peer);
  const error = await failure(conn.writable.getWriter().write("text" as unknown as Uint8Array), "writing a string");
  check(error instanceof TypeError, `writing a string failed with ${String(error)}`);
  await conn.close();
}

// ── socket cases (tests/conformance/sockets.test.ts), the client side ─────

/** Nothing listens at the port. */
async function refused(peer: Peer): Promise<string> {
  const error = netError(await failure(connect(peer), "a connect to a closed port"), "connection-refused", "refused");
  check(error.message.includes(String(peer.port)), error.message);
  return error.message;
}

/** A name that does not resolve, and an address the platform blocks, get a code too. */
async function unreachable(peer: Peer): Promise<string> {
  const error = await failure(connect(peer), `a connect to ${peer.hostname}`);
  check(error instanceof NetError && error.code === String(peer.code), `expected NetError ${peer.code}, got ${String(error)}`);
  check(error.cause !== undefined, "no cause");
  return error.message;
}

/** A hostname workerd refuses is a bad argument: TypeError at the call. */
async function badHostname(peer: Peer): Promise<string> {
  const messages: string[] = [];
  for (const hostname of ["bad host!", "x".repeat(256)]) {
    let error: unknown;
    try {
      void connect({ hostname, port: peer.port }).catch(() => {}); // must throw, not reject
    } catch (e) {
      error = e;
    }
    check(error instanceof TypeError && error.message.includes("hostname"), `${hostname.slice(0, 20)}: got ${String(error)}`);
    messages.push(error.message);
  }
  try {
    void connectTls({ hostname: "bad host!", port: peer.port }).catch(() => {});
  } catch (e) {
    check(e instanceof TypeError, `connectTls: got ${String(e)}`);
    return messages[0]!;
  }
  throw new Error("connectTls did not throw for a bad hostname");
}

/** A stock node:net peer that resets at the first bytes. */
async function peerReset(peer: Peer): Promise<string> {
  const conn = await connect(peer);
  const writer = conn.writable.getWriter();
  await writer.write(new TextEncoder().encode("hello"));
  // workerd reads a reset as the end of the stream...
  const r = await conn.readable.getReader().read();
  check(r.done, "the read after the reset gave bytes");
  // ...and the next write (at most a few, while the reset travels) reports it.
  let error: unknown;
  for (let i = 0; i < 50 && error === undefined; i++) {
    await writer.write(new Uint8Array(1024)).catch((e: unknown) => void (error = e));
  }
  netError(error, "connection-reset", "a write after the reset");
  netError(await failure(conn.closed, "closed"), "connection-reset", "closed");
  return (error as Error).message;
}

/** Anything listening: aborted before, and during the attempt. */
async function abortedConnect(peer: Peer): Promise<void> {
  const reason = new Error("changed my mind");
  check((await failure(connect({ ...peer, signal: AbortSignal.abort(reason) }), "a connect aborted before")) === reason, "not the reason (before)");
  const controller = new AbortController();
  const during = connect({ ...peer, signal: controller.signal });
  controller.abort(reason);
  check((await failure(during, "a connect aborted during")) === reason, "not the reason (during)");
}

/** A plain TCP server that says nothing: the TLS handshake never finishes. */
async function handshakeTimeout(peer: Peer): Promise<void> {
  netError(await failure(connectTls({ ...peer, connectTimeoutMs: 200 }), "a silent TLS server"), "timed-out", "handshake");
}

/** A TLS echo server with the test CA's certificate: verified against the platform's roots. */
async function tlsEcho(peer: Peer): Promise<string | null | undefined> {
  const conn = await connectTls(peer);
  await writeText(conn.writable, "secret", true);
  same(await readText(conn.readable), "secret", "the echo");
  await conn.closed;
  return conn.tls?.alpnProtocol;
}

/** A TLS server whose certificate is not trusted, or not for the name. */
async function tlsRejected(peer: Peer): Promise<string> {
  return netError(await failure(connectTls(peer), "a TLS connect to an untrusted server"), "tls-certificate", "untrusted").message;
}

/** A serverName the certificate does not name: the handshake finishes after the connect, so the first write fails. */
async function tlsOtherServerName(peer: Peer): Promise<string> {
  const conn = await connectTls({ ...peer, serverName: String(peer.serverName) });
  const writer = conn.writable.getWriter();
  const error = netError(await failure(writer.write(new TextEncoder().encode("hello")), "a write over a failed handshake"), "tls-handshake", "write");
  await conn.close();
  return error.message;
}

/** A serverName the certificate names, other than the address dialled. */
async function tlsServerName(peer: Peer): Promise<string> {
  const conn = await connectTls({ ...peer, serverName: String(peer.serverName) });
  await writeText(conn.writable, "named", true);
  const reply = await readText(conn.readable);
  await conn.closed;
  return reply;
}

/** A STARTTLS server (tests/peers/starttls_server.mjs): hello, STARTTLS, go ahead, TLS echo. */
async function starttlsClient(peer: Peer): Promise<string> {
  const plain = await connect(peer);
  same(await readUntil(plain.readable, "\n"), "hello\n", "the greeting");
  await writeText(plain.writable, "STARTTLS\n");
  same(await readUntil(plain.readable, "\n"), "go ahead\n", "the go-ahead");
  const secure = await startTls(plain, { hostname: peer.hostname });
  await writeText(secure.writable, "over tls", true);
  const reply = await readText(secure.readable);
  await secure.closed;
  return reply;
}

/** Any peer that greets with "hello\n": what startTls refuses, and how. */
async function starttlsRefusals(peer: Peer): Promise<string[]> {
  const messages: string[] = [];
  const conn = await connect(peer);
  const reader = conn.readable.getReader();
  let threw: unknown;
  try {
    await startTls(conn, {});
  } catch (e) {
    threw = e;
  }
  check(threw instanceof TypeError, `a held reader: ${String(threw)}`);
  reader.releaseLock();
  const refusals: [string, Promise<Conn>][] = [
    ["server role", startTls(conn, { role: "server", cert: String(peer.cert), key: String(peer.key) })],
    ["caCerts", startTls(conn, { caCerts: [String(peer.cert)] })],
    ["leftover", startTls(conn, { leftover: new Uint8Array(1) })],
  ];
  for (const [what, p] of refusals) messages.push(netError(await failure(p, what), "unsupported", what).message);
  // Refused, the conn is as it was.
  same(await readUntil(conn.readable, "\n"), "hello\n", "the greeting after the refusals");
  await conn.close();
  return messages;
}

/** Unix sockets, listening, TLS options a Worker cannot honour. */
async function unsupported(peer: Peer): Promise<string[]> {
  const messages: string[] = [];
  const cases: [string, () => Promise<unknown>][] = [
    ["listen", () => listen({ port: 8080 })],
    ["listenTls", () => listenTls({ port: 8443, cert: String(peer.cert), key: String(peer.key) })],
    ["a Unix socket", () => connect({ path: "/tmp/weft.sock" })],
    ["caCerts", () => connectTls({ ...peer, caCerts: [String(peer.cert)] })],
    ["a client certificate", () => connectTls({ ...peer, cert: String(peer.cert), key: String(peer.key) })],
  ];
  for (const [what, call] of cases) messages.push(netError(await failure(call(), what), "unsupported", what).message);
  check(/fetch handler/.test(messages[0]!) && /Durable Object/.test(messages[0]!), messages[0]!);
  return messages;
}

/** The conformance list of bad options, on the functions a Worker has. */
async function badOptions(peer: Peer): Promise<number> {
  const { cert, key } = { cert: String(peer.cert), key: String(peer.key) };
  const cases: [() => unknown, ErrorConstructor, string][] = [
    [() => connect({ hostname: "127.0.0.1", port: 70000 }), RangeError, "port"],
    [() => connect({ hostname: "127.0.0.1", port: 0 }), RangeError, "port"],
    [() => connect({ hostname: "127.0.0.1", port: 1.5 }), RangeError, "port"],
    [() => connect({ hostname: "127.0.0.1" }), TypeError, "port"],
    [() => connect({ port: 80, path: "/tmp/x" }), TypeError, "path"],
    [() => listen({ hostname: "127.0.0.1", port: -1 }), RangeError, "port"],
    [() => listen({}), TypeError, "path"],
    [() => connect({ port: 80, connectTimeoutMs: -5 }), RangeError, "connectTimeoutMs"],
    [() => connect({ port: 80, noDelay: "yes" as unknown as boolean }), TypeError, "noDelay"],
    [() => listenTls({ port: 0, cert: "not a certificate", key }), TypeError, "cert"],
    [() => listenTls({ port: 0, cert, key: "garbage" }), TypeError, "key"],
    [() => connectTls({ port: 443, caCerts: ["nope"] }), TypeError, "caCerts"],
    [() => connectTls({ port: 443, alpnProtocols: [""] }), TypeError, "alpnProtocols"],
  ];
  for (const [call, type, name] of cases) {
    let error: unknown;
    try {
      const p = call() as Promise<unknown> | undefined;
      if (p) p.catch(() => {});
    } catch (e) {
      error = e;
    }
    check(error instanceof type, `${call} did not throw ${type.name}: ${String(error)}`);
    check((error as Error).message.includes(name), `${(error as Error).message} does not name ${name}`);
  }
  return cases.length;
}

/** An echo peer: what a Conn reports about itself. */
async function addresses(peer: Peer): Promise<unknown> {
  const conn = await open(peer);
  const info = { remote: conn.remoteAddr, local: conn.localAddr, tls: conn.tls ?? null };
  await conn.close();
  return info;
}

let kept: Conn | undefined;

/** Opens a conn and keeps it for the next request (`useKept`). */
async function keep(peer: Peer): Promise<void> {
  kept = await connect(peer);
}

/** Uses the conn another request opened: workerd refuses, and says so with a code. */
async function useKept(): Promise<string> {
  const conn = kept!;
  kept = undefined;
  const error = netError(await failure(writeText(conn.writable, "x"), "a write from another request"), "unsupported", "another request");
  await conn.close();
  return error.message;
}

export const cases: Record<string, (peer: Peer) => Promise<unknown>> = {
  echoes,
  byobEchoes,
  backpressure,
  halfClose,
  peerHalfClosesFirst,
  singleWrite,
  writeAfterClose,
  closeEndsRead,
  cancelReadable,
  abortWritable,
  writeNonBytes,
  refused,
  unreachable,
  badHostname,
  peerReset,
  abortedConnect,
  handshakeTimeout,
  tlsEcho,
  tlsRejected,
  tlsOtherServerName,
  tlsServerName,
  starttlsClient,
  starttlsRefusals,
  unsupported,
  badOptions,
  addresses,
  keep,
  useKept,
};
