/** Unit tests of the core's small parts: options, PEM, errno codes, deadlines, the listener queue. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import {
  codeFromErrno,
  ConnListener,
  DEFAULT_BACKLOG,
  DEFAULT_CONNECT_TIMEOUT_MS,
  formatAddr,
  memoryPipe,
  NetError,
  parsePem,
  resolveConnectOptions,
  resolveListenOptions,
  resolveTlsClientOptions,
  resolveTlsServerOptions,
  withDeadline,
} from "../../mod.ts";
import { settle, tlsFixtures } from "../_helpers.ts";

const test = suite("bytes: core parts");

test("connect options: defaults, IPv6 brackets, Unix paths", () => {
  const o = resolveConnectOptions({ port: 80 });
  assert.equal(o.endpoint, { transport: "tcp", hostname: "127.0.0.1", port: 80 });
  assert.is(o.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS);
  assert.is(o.noDelay, true);
  assert.is(o.keepAlive, false);
  assert.equal(resolveConnectOptions({ hostname: "[::1]", port: 1 }).endpoint, { transport: "tcp", hostname: "::1", port: 1 });
  assert.equal(resolveConnectOptions({ path: "/tmp/x.sock" }).endpoint, { transport: "unix", path: "/tmp/x.sock" });
  const l = resolveListenOptions({ port: 0 });
  assert.equal(l.endpoint, { transport: "tcp", hostname: "0.0.0.0", port: 0 });
  assert.is(l.backlog, DEFAULT_BACKLOG);
});

test("connect options: every bad value names itself", () => {
  const bad: [unknown, ErrorConstructor, string][] = [
    [{ port: 65536 }, RangeError, "Invalid port 65536"],
    [{ port: "80" }, RangeError, 'Invalid port "80"'],
    [{ hostname: "" , port: 1 }, TypeError, "hostname"],
    [{ path: "x".repeat(200) }, RangeError, "107 bytes"],
    [{ path: "/a", hostname: "h" }, TypeError, "hostname"],
    [{ port: 1, signal: {} }, TypeError, "signal"],
    [{ port: 1, readableHighWaterMark: 0 }, RangeError, "readableHighWaterMark"],
    [{ port: 1, keepAlive: 1 }, TypeError, "keepAlive"],
    [42, TypeError, "expected an object"],
  ];
  for (const [options, type, text] of bad) {
    try {
      resolveConnectOptions(options as never);
      assert.unreachable(`${JSON.stringify(options)} was accepted`);
    } catch (e) {
      assert.instance(e, type);
      assert.ok((e as Error).message.includes(text), (e as Error).message);
    }
  }
  assert.throws(() => resolveListenOptions({ port: 1, backlog: 0 }), (e: Error) => e instanceof RangeError && e.message.includes("backlog"));
});

test("TLS options: PEM is parsed, not just passed on", () => {
  const { ca, cert, key } = tlsFixtures;
  assert.equal(resolveTlsClientOptions({ caCerts: [ca] }).caCerts, [ca]);
  assert.throws(() => resolveTlsClientOptions({ cert }), (e: Error) => e instanceof TypeError && e.message.includes("both cert and key"));
  assert.is(resolveTlsServerOptions({ cert, key }).handshakeTimeoutMs, 10_000);
  assert.throws(() => resolveTlsServerOptions({ cert: key, key }), (e: Error) => e instanceof TypeError && e.message.includes("cert"));
  assert.throws(() => resolveTlsServerOptions({ cert, key: cert }), (e: Error) => e instanceof TypeError && e.message.includes("key"));
  assert.is(parsePem(cert, "certificate").length, 1);
  assert.is(parsePem(key, "key").length, 1);
  const lines = cert.split("\n");
  const truncated = [...lines.slice(0, 5), ...lines.slice(6)].join("\n"); // one base64 line gone
  assert.throws(() => parsePem(truncated, "certificate"), (e: Error) => e.message.includes("truncated"));
  assert.throws(() => parsePem(cert.replace("MII", "M*I"), "certificate"), (e: Error) => e.message.includes("base64"));
});

test("errno names map to NetError codes", () => {
  assert.is(codeFromErrno("ECONNREFUSED"), "connection-refused");
  assert.is(codeFromErrno("EPIPE"), "broken-pipe");
  assert.is(codeFromErrno("DEPTH_ZERO_SELF_SIGNED_CERT"), "tls-certificate");
  assert.is(codeFromErrno("ERR_SSL_WRONG_VERSION_NUMBER"), "tls-handshake");
  assert.is(codeFromErrno("EWHATEVER"), undefined);
  assert.is(codeFromErrno(undefined), undefined);
});

test("formatAddr", () => {
  assert.is(formatAddr({ transport: "tcp", hostname: "::1", port: 80 }), "[::1]:80");
  assert.is(formatAddr({ transport: "tcp", hostname: "10.0.0.1", port: 80 }), "10.0.0.1:80");
  assert.is(formatAddr({ transport: "unix", path: "/run/a.sock" }), "unix:/run/a.sock");
});

test("withDeadline: times out, aborts, and discards a late result", async () => {
  let late: number | undefined;
  let resolveLate!: (n: number) => void;
  const slow = () => new Promise<number>((r) => (resolveLate = r));
  const t = await settle(withDeadline(slow, { timeoutMs: 5, what: "Cannot wait", discard: (n) => (late = n) }));
  assert.is((t as { error: NetError }).error.code, "timed-out");
  assert.ok((t as { error: NetError }).error.message.startsWith("Cannot wait: timed out after 5 ms"));
  resolveLate(7);
  await Promise.resolve();
  assert.is(late, 7);

  const controller = new AbortController();
  let innerAborted = false;
  const waiting = withDeadline((signal) => new Promise<number>((_, reject) => signal.addEventListener("abort", () => {
    innerAborted = true;
    reject(signal.reason);
  })), { signal: controller.signal, timeoutMs: Infinity, what: "x" });
  const reason = new Error("stop");
  controller.abort(reason);
  assert.is((await settle(waiting) as { error: unknown }).error, reason);
  assert.ok(innerAborted);
  assert.is((await settle(withDeadline(() => Promise.resolve(1), { signal: AbortSignal.abort(reason), timeoutMs: 1, what: "x" })) as { error: unknown }).error, reason);
  assert.is(await withDeadline(() => Promise.resolve(3), { timeoutMs: 1000, what: "x" }), 3);
});

test("ConnListener: backlog bound, dropped count, fail() and close()", async () => {
  let stopped = 0;
  const listener = new ConnListener({ transport: "memory" }, { backlog: 2, close: () => void stopped++ });
  const pairs = [memoryPipe(), memoryPipe(), memoryPipe()];
  assert.ok(listener.push(pairs[0]![1]));
  assert.ok(listener.push(pairs[1]![1]));
  assert.not.ok(listener.push(pairs[2]![1]), "accepted past the backlog");
  assert.is(listener.dropped, 1);
  assert.is(await listener.accept(), pairs[0]![1]);
  const error = new NetError("unknown", "accept failed");
  listener.fail(error);
  // the failure comes next (the listener is closed, and so are connections it held), then the end
  assert.is((await settle(listener.accept()) as { error: unknown }).error, error);
  assert.is(await listener.accept(), undefined);
  assert.is(stopped, 1);
  await listener.close();
  assert.is(stopped, 1);
  for (const [a, b] of pairs) {
    await a.close();
    await b.close();
  }
});

test.run();
