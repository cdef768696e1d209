/**
 * weft/cloudflare under workerd (miniflare): the conformance cases that apply
 * to a client, each run by a Worker (_worker.mts, _cases.mts) against a peer
 * on loopback that this process runs with weft/node, or a stock node:net /
 * node:tls peer. The byte-stream cases over TCP (IPv4, IPv6) and TLS, then
 * refused, blocked and aborted connects, timeouts, TLS verification,
 * STARTTLS, what a Worker cannot do, and option checking.
 *
 * miniflare is a Node library, and one run is enough: this file runs on the
 * first runtime of `npm test` only (Node 20, WEFT_PRIMARY=1), with one
 * workerd for all its cases.
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import type { Conn, Listener } from "../../mod.ts";
import { echo, hasIpv6, readPattern, readText, startPeer, tlsFixtures, writeText } from "../_helpers.ts";
import type { Workerd } from "./_workerd.ts";

const MiB = 1024 * 1024;
const LOCAL = "127.0.0.1";
const { cert, key, untrustedCert, untrustedKey } = tlsFixtures;

if (process.env.WEFT_PRIMARY === "1") {
  const node = await import("../../adapters/node.ts");
  const { BLOCKED_ADDRESS, startWorker } = await import("./_workerd.ts");
  let started: Promise<Workerd> | undefined;
  const worker = () => (started ??= startWorker("tests/cloudflare/_worker.mts"));

  /** Runs case `name` in the Worker against `peer`; resolves with what it returned, or throws its error. */
  async function run(name: string, peer: Record<string, unknown>): Promise<unknown> {
    const w = await worker();
    const res = await within(w.fetch(`http://worker/case/${name}`, { method: "POST", body: JSON.stringify(peer) }), `case ${name}`);
    const out = (await res.json()) as { ok: boolean; value?: unknown; error?: { message: string; stack?: string } };
    if (!out.ok) throw new Error(`${name} in workerd: ${out.error?.stack ?? out.error?.message}\n  workerd's log:\n${w.log.slice(-5).join("\n")}`);
    return out.value;
  }

  /** Rejects when `p` takes longer than `ms`. */
  function within<T>(p: Promise<T>, what: string, ms = 60_000): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Gave up waiting for ${what} after ${ms} ms`)), ms);
    });
    return Promise.race([p, limit]).finally(() => clearTimeout(timer));
  }

  interface Kind {
    label: string;
    kind: "tcp" | "tls";
    hostname: string;
  }

  /**
   * A listener of `kind` whose connections go to `handle` in turn (the nth
   * connection gets index n); resolves with the peer's address for the Worker,
   * the handlers' outcomes, and a close.
   */
  async function peer(k: Kind, handle: (conn: Conn, index: number, all: Conn[]) => Promise<unknown>) {
    const listener: Listener = k.kind === "tls"
      ? await node.listenTls({ hostname: k.hostname, port: 0, cert, key })
      : await node.listen({ hostname: k.hostname, port: 0 });
    const all: Conn[] = [];
    const outcomes: Promise<unknown>[] = [];
    const serving = (async () => {
      for await (const conn of listener) {
        all.push(conn);
        outcomes.push(handle(conn, all.length - 1, all));
      }
    })();
    return {
      address: { kind: k.kind, hostname: k.hostname, port: listener.addr.port! },
      /** Every handler's outcome (rejecting with the first failure). */
      outcomes: () => Promise.all(outcomes),
      async close() {
        await listener.close();
        await serving;
        for (const c of all) await c.close();
      },
    };
  }

  /** Holds a connection until the client's FIN, then closes it. */
  async function hold(conn: Conn): Promise<void> {
    await readText(conn.readable).catch(() => {});
    await conn.close();
  }

  /** Runs case `name` against a peer that handles connections with `handle`; returns the case's value and the handlers' outcomes. */
  async function against(k: Kind, name: string, handle: (conn: Conn, index: number, all: Conn[]) => Promise<unknown>, extra: Record<string, unknown> = {}) {
    const p = await peer(k, handle);
    try {
      const value = await run(name, { ...p.address, ...extra });
      return { value, outcomes: await within(p.outcomes(), `the peer of ${name}`) };
    } finally {
      await p.close();
    }
  }

  const kinds: Kind[] = [
    { label: "tcp4", kind: "tcp", hostname: LOCAL },
    ...(hasIpv6() ? [{ label: "tcp6", kind: "tcp" as const, hostname: "::1" }] : []),
    { label: "tls", kind: "tls", hostname: LOCAL },
  ];

  for (const k of kinds) {
    const test = suite(`conformance: cloudflare (workerd) ${k.label}`);

    // IPv6 takes the same path as IPv4 in workerd: a shorter run is enough there.
    const bulk = k.label === "tcp6" ? 16 * MiB : 64 * MiB;
    test(`echoes ${bulk / MiB} MiB byte-exact`, async () => {
      const { value } = await against(k, "echoes", echo, { bytes: bulk });
      assert.is(value, bulk);
    });

    test("a BYOB reader with an odd-sized buffer echoes 16 MiB byte-exact", async () => {
      const { value } = await against(k, "byobEchoes", echo, { bytes: 16 * MiB });
      assert.is(value, 16 * MiB);
    });

    test("a peer that does not read makes writer.ready wait; then every byte arrives", async () => {
      const offered = 32 * MiB;
      const { value, outcomes } = await against(k, "backpressure", async (conn, index, all) => {
        if (index === 0) return undefined; // stalled until the second connection says go
        await hold(conn);
        const first = all[0]!;
        const got = await readPattern(first.readable);
        await writeText(first.writable, "", true);
        return got;
      }, { bytes: offered });
      assert.is(outcomes[1], offered);
      assert.ok((value as { stalledAt: number }).stalledAt < offered);
    });

    test("half-close: writable.close() sends FIN and the peer's reply still arrives", async () => {
      const { value, outcomes } = await against(k, "halfClose", async (conn) => {
        const got = await readText(conn.readable);
        await writeText(conn.writable, "pong", true);
        await conn.closed;
        return got;
      });
      assert.equal([value, outcomes[0]], ["pong", "ping"]);
    });

    test("the peer half-closes first: the readable ends, the writable keeps working", async () => {
      const { outcomes } = await against(k, "peerHalfClosesFirst", async (conn) => {
        await writeText(conn.writable, "hello", true);
        return readText(conn.readable);
      });
      assert.is(outcomes[0], "still heard");
    });

    test("a single 16 MiB write arrives whole", async () => {
      const { outcomes } = await against(k, "singleWrite", async (conn) => {
        const got = await readPattern(conn.readable);
        await writeText(conn.writable, "", true);
        return got;
      }, { bytes: 16 * MiB });
      assert.is(outcomes[0], 16 * MiB);
    });

    test("writes after close() reject; the peer sees the end; closed resolves", async () => {
      const { outcomes } = await against(k, "writeAfterClose", async (conn) => {
        const got = await readText(conn.readable);
        await conn.close();
        return got;
      });
      assert.is(outcomes[0], "last");
    });

    test("close() ends a pending read with done", async () => {
      await against(k, "closeEndsRead", hold);
    });

    test("cancelling the readable leaves the writable working", async () => {
      const { outcomes } = await against(k, "cancelReadable", async (conn) => {
        await writeText(conn.writable, "ignored");
        const got = await readText(conn.readable);
        await writeText(conn.writable, "", true);
        return got;
      });
      assert.is(outcomes[0], "still here");
    });

    test("aborting the writable errors the readable with the reason", async () => {
      await against(k, "abortWritable", hold);
    });

    test("writing a non-Uint8Array rejects with TypeError", async () => {
      await against(k, "writeNonBytes", hold);
    });

    test("addresses: the peer's, as workerd reports it; the local one unknown", async () => {
      const { value } = await against(k, "addresses", hold);
      const v = value as { remote: { transport: string; hostname: string; port: number }; local: unknown; tls: unknown };
      assert.equal(v.remote.transport, "tcp");
      assert.is(v.remote.hostname, k.hostname);
      assert.ok(v.remote.port > 0);
      assert.equal(v.local, { transport: "tcp", hostname: "", port: 0 });
      assert.equal(v.tls, k.kind === "tls" ? { alpnProtocol: null } : null);
    });

    test.run();
  }

  const tcp: Kind = kinds[0]!;
  const tls: Kind = kinds[kinds.length - 1]!;
  const test = suite("conformance: cloudflare (workerd) sockets");
  test.after(async () => {
    const w = await started;
    started = undefined;
    await w?.dispose();
  });

  /** A port nothing listens on. */
  async function closedPort(hostname = LOCAL): Promise<number> {
    const l = await node.listen({ hostname, port: 0 });
    const port = l.addr.port!;
    await l.close();
    return port;
  }

  test("a refused connect gives connection-refused, naming the address", async () => {
    const port = await closedPort();
    assert.match(String(await run("refused", { hostname: LOCAL, port })), String(port));
  });

  test("a name that does not resolve, and an address the platform blocks: connection-refused, with workerd's error as cause", async () => {
    await run("unreachable", { hostname: "no-such-host.invalid", port: 4242, code: "connection-refused" });
    // The Worker's network refuses this address (see _workerd.ts), as Cloudflare
    // refuses its own and private ones: blocked, even with a server there.
    const blocked = await node.listen({ hostname: BLOCKED_ADDRESS, port: 0 });
    try {
      await run("unreachable", { hostname: BLOCKED_ADDRESS, port: blocked.addr.port!, code: "connection-refused" });
    } finally {
      await blocked.close();
    }
  });

  test("a hostname workerd refuses throws TypeError at the call", async () => {
    assert.match(String(await run("badHostname", { hostname: LOCAL, port: 1 })), /Invalid hostname "bad host!"/);
  });

  test("a reset from a stock node:net peer: reads end, the next write and closed give connection-reset", async () => {
    const reset = await startPeer("reset_server.mjs");
    try {
      assert.match(String(await run("peerReset", { hostname: LOCAL, port: reset.port })), /connection lost/i);
    } finally {
      reset.stop();
    }
  });

  test("an aborted connect rejects with signal.reason, before and during the attempt", async () => {
    await against(tcp, "abortedConnect", hold);
  });

  test("a connect whose TLS handshake never finishes times out with timed-out", async () => {
    await against(tcp, "handshakeTimeout", hold);
  });

  test("TLS: verified against the platform's roots (the test CA), echoes; no ALPN", async () => {
    for (const hostname of [LOCAL, "localhost"]) {
      const { value } = await against(tls, "tlsEcho", echo, { hostname });
      assert.is(value, null);
    }
  });

  test("TLS: an untrusted certificate, and one for another address, are rejected with tls-certificate", async () => {
    const untrusted = await node.listenTls({ hostname: LOCAL, port: 0, cert: untrustedCert, key: untrustedKey });
    // The test certificate names 127.0.0.1, localhost and ::1, not 127.0.0.2.
    const otherName = await node.listenTls({ hostname: "127.0.0.2", port: 0, cert, key });
    try {
      assert.match(String(await run("tlsRejected", { hostname: LOCAL, port: untrusted.addr.port })), /TLS handshake failed/);
      await run("tlsRejected", { hostname: "127.0.0.2", port: otherName.addr.port });
    } finally {
      await untrusted.close();
      await otherName.close();
    }
  });

  test("TLS: serverName other than the address dialled, verified (a wrong one fails the first write with tls-handshake)", async () => {
    const named = await against(tls, "tlsServerName", echo, { serverName: "localhost" });
    assert.is(named.value, "named");
    await against(tls, "tlsOtherServerName", hold, { serverName: "example.com" });
  });

  test("STARTTLS as a client against a stock node:tls server", async () => {
    const starttls = await startPeer("starttls_server.mjs");
    try {
      assert.is(await run("starttlsClient", { hostname: LOCAL, port: starttls.port }), "over tls");
    } finally {
      starttls.stop();
    }
  });

  test("STARTTLS refuses a held reader (TypeError), the server side, caCerts and bytes already read (unsupported)", async () => {
    const { value } = await against(tcp, "starttlsRefusals", async (conn) => {
      await writeText(conn.writable, "hello\n");
      await hold(conn);
    }, { cert, key });
    const [server, ca, leftover] = value as string[];
    assert.match(server!, /no server side of STARTTLS/);
    assert.match(ca!, /certificate authorities/);
    assert.match(leftover!, /bytes already read/);
  });

  test("what a Worker cannot do rejects with unsupported, saying what to use instead", async () => {
    const [listen, listenTls, unix, ca, clientCert] = (await run("unsupported", { hostname: LOCAL, port: 443, cert, key })) as string[];
    assert.match(listen!, /Cannot listen on "0\.0\.0\.0:8080": a Worker cannot accept connections; answer requests in its fetch handler/);
    assert.match(listenTls!, /Durable Object/);
    assert.match(unix!, /Unix sockets/);
    assert.match(ca!, /caCerts/);
    assert.match(clientCert!, /client certificate/);
  });

  test("bad options throw TypeError or RangeError naming the option", async () => {
    assert.is(await run("badOptions", { hostname: LOCAL, port: 1, cert, key }), 13);
  });

  test("a conn used from another request than the one that opened it: unsupported", async () => {
    const p = await peer(tcp, hold);
    try {
      await run("keep", p.address);
      assert.match(String(await run("useKept", p.address)), /belongs to the request that opened it/);
    } finally {
      await p.close();
    }
  });

  test.run();
}
