/**
 * The conformance suite against this runtime's adapter: the byte-stream cases
 * over TCP (IPv4, IPv6), Unix sockets and TLS, then what only sockets have:
 * listeners, refused and aborted connects, timeouts, TLS verification,
 * STARTTLS, and option checking.
 */
import { rmSync } from "node:fs";
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { type Conn, type Listener, NetError, SocketConn } from "../../mod.ts";
import { echo, hasIpv6, readText, readUntil, settle, tlsFixtures, unixPath, until, withPeer, writeText } from "../_helpers.ts";
import { loadAdapter } from "../_runtime.ts";
import { connectPair, socketPairs, tcpPairs } from "./_pairs.ts";
import { streamConformance } from "./streams.ts";

const net = await loadAdapter();
const { ca, cert, key, untrustedCert, untrustedKey } = tlsFixtures;
const LOCAL = "127.0.0.1";

streamConformance(tcpPairs(net, LOCAL, "tcp4"));
if (hasIpv6()) streamConformance(tcpPairs(net, "::1", "tcp6"));
const path = unixPath();
streamConformance({
  ...socketPairs(`${net.name} unix`, () => net.listen({ path }), () => net.connect({ path }), false),
  async done() {
    rmSync(path, { force: true });
  },
});
streamConformance(
  socketPairs(
    `${net.name} tls`,
    () => net.listenTls({ hostname: LOCAL, port: 0, cert, key }),
    (l) => net.connectTls({ hostname: LOCAL, port: l.addr.port!, caCerts: [ca] }),
    false,
  ),
);

const test = suite(`conformance: ${net.name} sockets`);

test("listener: iteration yields connections; close() ends it", async () => {
  const listener = await net.listen({ hostname: LOCAL, port: 0 });
  assert.is(listener.addr.transport, "tcp");
  assert.ok(listener.addr.port! > 0);
  const seen: string[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      seen.push(await readText(conn.readable));
      await conn.close();
    }
  })();
  for (const word of ["one", "two", "three"]) {
    const conn = await net.connect({ hostname: LOCAL, port: listener.addr.port! });
    await writeText(conn.writable, word, true);
    await readText(conn.readable);
    await conn.close();
  }
  await until(() => seen.length === 3, "three connections");
  await listener.close();
  await serving;
  assert.equal(seen, ["one", "two", "three"]);
  assert.is(await listener.accept(), undefined);
  const refused = await settle(net.connect({ hostname: LOCAL, port: listener.addr.port! }));
  assert.not.ok(refused.ok, "still accepting after close()");
});

test("listener: await using closes it", async () => {
  let port = 0;
  {
    await using listener = await net.listen({ hostname: LOCAL, port: 0 });
    port = listener.addr.port!;
  }
  const r = await settle(net.connect({ hostname: LOCAL, port }));
  assert.not.ok(r.ok);
  assert.is((r as { error: NetError }).error.code, "connection-refused");
});

test("listener: aborting its signal closes it", async () => {
  const controller = new AbortController();
  const listener = await net.listen({ hostname: LOCAL, port: 0, signal: controller.signal });
  const next = listener.accept();
  controller.abort();
  assert.is(await next, undefined);
});

test("listen on a port in use fails with address-in-use", async () => {
  await using listener = await net.listen({ hostname: LOCAL, port: 0 });
  const r = await settle(net.listen({ hostname: LOCAL, port: listener.addr.port! }));
  assert.not.ok(r.ok);
  assert.instance((r as { error: unknown }).error, NetError);
  assert.is((r as { error: NetError }).error.code, "address-in-use");
});

test("a refused connect gives connection-refused", async () => {
  const listener = await net.listen({ hostname: LOCAL, port: 0 });
  const port = listener.addr.port!;
  await listener.close();
  const r = await settle(net.connect({ hostname: LOCAL, port }));
  assert.not.ok(r.ok);
  const error = (r as { error: NetError }).error;
  assert.instance(error, NetError);
  assert.is(error.code, "connection-refused");
  assert.ok(error.message.includes(String(port)), error.message);
});

test("a stock node:net peer's greeting, sent the moment it accepts, arrives whole before anything is read", async () => {
  await withPeer("greeting_server.mjs", async (port) => {
    for (let round = 0; round < 3; round++) {
      const conn = await net.connect({ hostname: LOCAL, port });
      await new Promise((r) => setTimeout(r, 20 * round)); // bytes land before the first read, or while it waits
      let at = 0;
      let wrong = -1;
      for await (const chunk of conn.readable) {
        for (let i = 0; i < chunk.byteLength && wrong < 0; i++) if (chunk[i] !== (at + i) % 251) wrong = at + i;
        at += chunk.byteLength;
      }
      assert.is(wrong, -1, `byte ${wrong} is wrong`);
      assert.is(at, 256 * 1024);
      await conn.close();
    }
  });
});

/** A read that must fail with connection-reset, and `closed` with it; then the conn is closed. */
async function expectReset(conn: Conn, read: ReturnType<typeof settle>): Promise<void> {
  const r = await read;
  assert.not.ok(r.ok, "read did not fail");
  const error = (r as { error: NetError }).error;
  assert.instance(error, NetError);
  assert.is(error.code, "connection-reset", String(error));
  const closed = await settle(conn.closed);
  assert.not.ok(closed.ok);
  assert.is((closed as { error: NetError }).error.code, "connection-reset");
  await conn.close();
}

test("a reset from a stock node:net peer gives connection-reset to reads and closed", async () => {
  await withPeer("reset_server.mjs", async (port) => {
    const conn = await net.connect({ hostname: LOCAL, port });
    const reader = conn.readable.getReader();
    await writeText(conn.writable, "hello");
    await expectReset(conn, settle(reader.read()));
  });
});

test("a reset from a stock node:net peer while writes wait for room fails the write, and gives connection-reset to reads and closed", async () => {
  await withPeer("reset_server.mjs", async (port) => {
    const conn = await net.connect({ hostname: LOCAL, port });
    const reader = conn.readable.getReader();
    const read = settle(reader.read());
    // More than the kernel's buffers take: the peer resets on the first bytes, while writes wait.
    const writer = conn.writable.getWriter();
    const chunk = new Uint8Array(64 * 1024);
    let written = 0;
    const wrote = settle((async () => {
      for (; written < 64; written++) await writer.write(chunk);
    })());
    const w = await wrote;
    assert.not.ok(w.ok, "all 4 MiB were written");
    // The write fails with ECONNRESET, or EPIPE when the kernel took the reset in before the write (Deno sees that).
    assert.ok(["connection-reset", "broken-pipe"].includes((w as { error: NetError }).error.code), String((w as { error: unknown }).error));
    await expectReset(conn, read);
  });
});

test("writing after a stock node:net peer's FIN: every byte arrives, and nothing is taken for a reset", async () => {
  await withPeer("half_close_server.mjs", async (port) => {
    const conn = await net.connect({ hostname: LOCAL, port });
    await writeText(conn.writable, "hello");
    // The peer answers and half-closes at once: our readable ends cleanly.
    assert.is(await readText(conn.readable), "bye\n");
    // More than the kernel's buffers take, so writes wait for room after the peer's FIN.
    const writer = conn.writable.getWriter();
    const chunk = new Uint8Array(64 * 1024).fill(7);
    for (let i = 0; i < 128; i++) await writer.write(chunk);
    await writer.close();
    await conn.closed;
    // The peer counts up to our FIN, which it may take in after our closed settles: ask until it has.
    let count = "-1\n";
    for (let tries = 0; count === "-1\n" && tries < 200; tries++) {
      if (tries > 0) await new Promise((r) => setTimeout(r, 10));
      const query = await net.connect({ hostname: LOCAL, port });
      await writeText(query.writable, "?\n");
      count = await readText(query.readable);
      await query.close();
    }
    assert.is(count, `${5 + 128 * 64 * 1024}\n`);
  });
});

test("an aborted connect rejects with signal.reason, before and during the attempt", async () => {
  await using listener = await net.listen({ hostname: LOCAL, port: 0 });
  const reason = new Error("changed my mind");
  const before = await settle(net.connect({ hostname: LOCAL, port: listener.addr.port!, signal: AbortSignal.abort(reason) }));
  assert.not.ok(before.ok);
  assert.is((before as { error: unknown }).error, reason);
  const controller = new AbortController();
  const during = net.connect({ hostname: LOCAL, port: listener.addr.port!, signal: controller.signal });
  controller.abort(reason);
  const r = await settle(during);
  assert.not.ok(r.ok);
  assert.is((r as { error: unknown }).error, reason);
});

test("a connect whose TLS handshake never finishes times out with timed-out", async () => {
  // A plain TCP server that accepts and says nothing.
  await using listener = await net.listen({ hostname: LOCAL, port: 0 });
  const held: Conn[] = [];
  (async () => {
    for await (const c of listener) held.push(c);
  })();
  const r = await settle(net.connectTls({ hostname: LOCAL, port: listener.addr.port!, caCerts: [ca], connectTimeoutMs: 200 }));
  assert.not.ok(r.ok);
  const error = (r as { error: NetError }).error;
  assert.instance(error, NetError);
  assert.is(error.code, "timed-out");
  for (const c of held) await c.close();
});

async function tlsServer(options: { cert: string; key: string; alpnProtocols?: string[] }): Promise<Listener> {
  const listener = await net.listenTls({ hostname: LOCAL, port: 0, ...options });
  (async () => {
    for await (const conn of listener) echo(conn).catch(() => {});
  })();
  return listener;
}

test("TLS: verified against caCerts, with ALPN, echoes", async () => {
  await using listener = await tlsServer({ cert, key, alpnProtocols: ["weft/1", "http/1.1"] });
  for (const hostname of [LOCAL, "localhost"]) {
    const conn = await net.connectTls({ hostname, port: listener.addr.port!, caCerts: [ca], alpnProtocols: ["weft/1"] });
    assert.is(conn.tls?.alpnProtocol, "weft/1");
    await writeText(conn.writable, "secret", true);
    assert.is(await readText(conn.readable), "secret");
    await conn.closed;
  }
});

test("TLS: an untrusted certificate is rejected with tls-certificate", async () => {
  await using listener = await tlsServer({ cert: untrustedCert, key: untrustedKey });
  for (const options of [{ caCerts: [ca] }, {}]) {
    const r = await settle(net.connectTls({ hostname: LOCAL, port: listener.addr.port!, ...options }));
    assert.not.ok(r.ok, "connected to an untrusted server");
    const error = (r as { error: NetError }).error;
    assert.instance(error, NetError);
    assert.is(error.code, "tls-certificate", error.message);
  }
});

test("TLS: a certificate for another name is rejected with tls-certificate", async () => {
  await using listener = await tlsServer({ cert, key });
  const r = await settle(net.connectTls({ hostname: LOCAL, port: listener.addr.port!, caCerts: [ca], serverName: "example.com" }));
  assert.not.ok(r.ok);
  assert.is((r as { error: NetError }).error.code, "tls-certificate", String((r as { error: Error }).error));
});

/** The client side of STARTTLS against `port`: plain hello, STARTTLS, go-ahead, TLS echo. */
async function starttlsClient(port: number): Promise<string> {
  const plain = await net.connect({ hostname: LOCAL, port });
  assert.is(await readUntil(plain.readable, "\n"), "hello\n");
  await writeText(plain.writable, "STARTTLS\n");
  assert.is(await readUntil(plain.readable, "\n"), "go ahead\n");
  const secure = await net.startTls(plain, { hostname: LOCAL, caCerts: [ca] });
  await writeText(secure.writable, "over tls", true);
  const reply = await readText(secure.readable);
  await secure.closed;
  return reply;
}

const serverStartTls = net.name !== "deno";
if (serverStartTls) {
  test("STARTTLS on both sides, the ClientHello read ahead with the go-ahead's reply", async () => {
    await using listener = await net.listen({ hostname: LOCAL, port: 0 });
    const serving = (async () => {
      const conn = (await listener.accept())!;
      await writeText(conn.writable, "hello\n");
      assert.is(await readUntil(conn.readable, "\n"), "STARTTLS\n");
      await writeText(conn.writable, "go ahead\n");
      // Wait until the client's ClientHello sits in the read-ahead queue, so
      // the upgrade has to hand those bytes to TLS.
      if (conn instanceof SocketConn) await until(() => conn.bufferedBytes > 0, "the ClientHello");
      const secure = await net.startTls(conn, { role: "server", cert, key });
      await echo(secure);
    })();
    assert.is(await starttlsClient(listener.addr.port!), "over tls");
    await serving;
  });

  test("STARTTLS on the server with leftover bytes the caller read", async () => {
    await using listener = await net.listen({ hostname: LOCAL, port: 0 });
    const serving = (async () => {
      const conn = (await listener.accept())!;
      await writeText(conn.writable, "hello\n");
      assert.is(await readUntil(conn.readable, "\n"), "STARTTLS\n");
      await writeText(conn.writable, "go ahead\n");
      const reader = conn.readable.getReader();
      const { value } = await reader.read(); // the start of the ClientHello
      reader.releaseLock();
      const secure = await net.startTls(conn, { role: "server", cert, key, leftover: value });
      await echo(secure);
    })();
    assert.is(await starttlsClient(listener.addr.port!), "over tls");
    await serving;
  });
}

test("STARTTLS as a client against a stock node:tls server", async () => {
  await withPeer("starttls_server.mjs", async (port) => {
    assert.is(await starttlsClient(port), "over tls");
  });
});

test("STARTTLS refuses a conn whose reader is still held", async () => {
  await using listener = await net.listen({ hostname: LOCAL, port: 0 });
  const [client, server] = await connectPair(listener, () => net.connect({ hostname: LOCAL, port: listener.addr.port! }));
  client.readable.getReader();
  let threw: unknown;
  try {
    await net.startTls(client, { hostname: LOCAL, caCerts: [ca] });
  } catch (e) {
    threw = e;
  }
  assert.instance(threw, TypeError);
  await client.close();
  await server.close();
});

test("bad options throw TypeError or RangeError naming the option", async () => {
  const cases: [() => unknown, ErrorConstructor, string][] = [
    [() => net.connect({ hostname: LOCAL, port: 70000 }), RangeError, "port"],
    [() => net.connect({ hostname: LOCAL, port: 0 }), RangeError, "port"],
    [() => net.connect({ hostname: LOCAL, port: 1.5 }), RangeError, "port"],
    [() => net.connect({ hostname: LOCAL }), TypeError, "port"],
    [() => net.connect({ port: 80, path: "/tmp/x" }), TypeError, "path"],
    [() => net.listen({ hostname: LOCAL, port: -1 }), RangeError, "port"],
    [() => net.listen({}), TypeError, "path"],
    [() => net.connect({ port: 80, connectTimeoutMs: -5 }), RangeError, "connectTimeoutMs"],
    [() => net.connect({ port: 80, noDelay: "yes" as unknown as boolean }), TypeError, "noDelay"],
    [() => net.listenTls({ port: 0, cert: "not a certificate", key }), TypeError, "cert"],
    [() => net.listenTls({ port: 0, cert: cert.replace(/[A-Za-z]{8}\n/, "\n"), key }), TypeError, "cert"],
    [() => net.listenTls({ port: 0, cert, key: "garbage" }), TypeError, "key"],
    [() => net.connectTls({ port: 443, caCerts: ["nope"] }), TypeError, "caCerts"],
    [() => net.connectTls({ port: 443, alpnProtocols: [""] }), TypeError, "alpnProtocols"],
  ];
  for (const [call, type, name] of cases) {
    let error: unknown;
    try {
      const p = call() as Promise<unknown> | undefined;
      if (p) p.catch(() => {});
    } catch (e) {
      error = e;
    }
    assert.instance(error, type, `${call} did not throw ${type.name}`);
    assert.ok((error as Error).message.includes(name), `${(error as Error).message} does not name ${name}`);
  }
});

test.run();
