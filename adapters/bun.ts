/**
 * weft's adapter for Bun: TCP, Unix sockets and TLS from `Bun.connect` and
 * `Bun.listen`, as {@link Conn}s and {@link Listener}s; UDP from
 * `Bun.udpSocket` (`bindUdp`, see `_bun_udp.ts`).
 *
 * Bun's socket API is callback-based and unbuffered: one set of handlers per
 * connect or listener, `write()` returns how many bytes it took. Each handler
 * here goes straight to the socket's {@link RawSocketEvents} (see
 * `SocketConn`); the rest of a chunk that `write()` did not take waits for the
 * `drain` handler, so a write resolves when the whole chunk is out.
 *
 * @example Echo server and client
 * ```ts
 * import { connect, listen } from "weft/bun";
 *
 * const listener = await listen({ hostname: "127.0.0.1", port: 0 });
 * (async () => {
 *   for await (const conn of listener) conn.readable.pipeTo(conn.writable).catch(() => {});
 * })();
 * const conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const writer = conn.writable.getWriter();
 * await writer.write(new TextEncoder().encode("hello"));
 * await writer.close();
 * console.assert(await new Response(conn.readable).text() === "hello");
 * await listener.close();
 * ```
 *
 * @module
 */
import type { SocketHandler, SocketListener, TLSOptions } from "bun";
import { isIP } from "node:net";
import { createSecureContext } from "node:tls";
import {
  type Adapter,
  type Conn,
  ConnListener,
  type ConnectOptions,
  formatAddr,
  type Listener,
  type ListenOptions,
  type NetAddr,
  NetError,
  type RawSocketEvents,
  type ResolvedConnect,
  type ResolvedListen,
  type ResolvedTlsClient,
  resolveConnectOptions,
  resolveListenOptions,
  resolveTlsClientOptions,
  resolveTlsServerOptions,
  resolveStartTlsOptions,
  SocketConn,
  type StartTlsOptions,
  type TlsConnectOptions,
  type TlsListenOptions,
  withDeadline,
} from "../mod.ts";
import { BunSocket, handlers, noop, toNetError, type Waiter } from "./_bun_socket.ts";
import { joinBytes, spliced, upgrade } from "./_bun_starttls.ts";
import { bindUdp } from "./_bun_udp.ts";

export type { BindUdpOptions, Datagram, UdpSocket } from "../mod.ts";
export type { Conn, ConnectOptions, Listener, ListenOptions, StartTlsOptions, TlsConnectOptions, TlsListenOptions };
export { bindUdp };

/** ALPN protocol names in TLS's wire format (each one prefixed by its length), as Bun takes them. */
function alpnWire(protocols: string[] | undefined): Uint8Array | undefined {
  if (protocols === undefined) return undefined;
  const names = protocols.map((p) => new TextEncoder().encode(p));
  const out = new Uint8Array(names.reduce((n, p) => n + 1 + p.byteLength, 0));
  let at = 0;
  for (const p of names) {
    out[at++] = p.byteLength;
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function tlsClientOptions(t: ResolvedTlsClient, serverName: string | undefined): TLSOptions {
  return {
    ca: t.caCerts,
    cert: t.cert,
    key: t.key,
    ALPNProtocols: alpnWire(t.alpnProtocols),
    serverName,
    rejectUnauthorized: true,
  };
}

/** Fails with TypeError, at the call, on a certificate and key that BoringSSL refuses or that do not match. */
function checkKeyPair(cert: string, key: string): void {
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new TypeError(`Invalid cert or key: ${(error as Error).message}`, { cause: error });
  }
}

// ── Connect ─────────────────────────────────────────────────────────────

/** Opens a socket as `o` says; resolves once it is connected (and handshaken, with `tls`). */
function dial(o: ResolvedConnect, tls: TLSOptions | undefined, what: string, signal: AbortSignal): Promise<Conn> {
  return new Promise<Conn>((resolve, reject) => {
    const waiter: Waiter = { resolve: (r) => resolve(new SocketConn(r, o)), reject };
    const raw = new BunSocket(o, o.endpoint, false, tls !== undefined, what, waiter);
    signal.addEventListener("abort", () => raw.abandon(), { once: true });
    const e = o.endpoint;
    const common = { allowHalfOpen: true, data: raw, socket: handlers, tls };
    try {
      const opening = e.transport === "unix"
        ? Bun.connect<BunSocket>({ ...common, unix: e.path })
        : Bun.connect<BunSocket>({ ...common, hostname: e.hostname, port: e.port });
      // The failure is reported through connectError; this promise's rejection is not needed.
      opening.then(undefined, noop);
    } catch (error) {
      reject(toNetError(error, what));
    }
  });
}

/**
 * Opens a TCP connection (`hostname`, `port`) or a Unix socket connection
 * (`path`). Bad options throw `TypeError` or `RangeError` at the call; a failed
 * connect rejects with a {@link NetError} (`connection-refused`, `timed-out`, ...)
 * or with `signal.reason` when aborted.
 *
 * @example
 * ```ts ignore
 * import { connect } from "weft/bun";
 * const conn = await connect({ hostname: "127.0.0.1", port: 6379, connectTimeoutMs: 2000 });
 * ```
 */
export function connect(options: ConnectOptions): Promise<Conn> {
  const o = resolveConnectOptions(options);
  const what = `Cannot connect to "${formatAddr(o.endpoint)}"`;
  return withDeadline((signal) => dial(o, undefined, what, signal), {
    signal: o.signal,
    timeoutMs: o.connectTimeoutMs,
    what,
    discard: (conn) => void conn.close(),
  });
}

/**
 * Opens a TLS connection. The server's certificate is verified against the
 * system's roots (or `caCerts`) and `serverName` (default: `hostname`); an
 * untrusted one rejects with a {@link NetError} `tls-certificate`. The promise
 * resolves once the handshake is done.
 *
 * @example
 * ```ts ignore
 * import { connectTls } from "weft/bun";
 * const conn = await connectTls({ hostname: "example.com", port: 443, alpnProtocols: ["http/1.1"] });
 * console.log(conn.tls?.alpnProtocol);
 * ```
 */
export function connectTls(options: TlsConnectOptions): Promise<Conn> {
  const o = resolveConnectOptions(options);
  const t = resolveTlsClientOptions(options);
  const e = o.endpoint;
  const what = `Cannot connect with TLS to "${formatAddr(e)}"`;
  // With no serverName, Bun checks the certificate against the host it connects to.
  const serverName = t.serverName ?? (e.transport === "tcp" && isIP(e.hostname) === 0 ? e.hostname : undefined);
  const tls = tlsClientOptions(t, serverName);
  return withDeadline((signal) => dial(o, tls, what, signal), {
    signal: o.signal,
    timeoutMs: o.connectTimeoutMs,
    what,
    discard: (conn) => void conn.close(),
  });
}

// ── Listen ──────────────────────────────────────────────────────────────

/** Binds as `o` says; each accepted socket (after its handshake, with `tls`) goes to the listener. */
function bind(o: ResolvedListen, tls: TLSOptions | undefined, handshakeTimeoutMs: number | undefined): Promise<Listener> {
  const e = o.endpoint;
  const what = `Cannot listen on "${formatAddr(e)}"`;
  if (o.signal?.aborted) return Promise.reject(o.signal.reason);
  let listener: ConnListener | undefined;
  const accepted: Waiter = {
    resolve: (raw) => void listener!.push(new SocketConn(raw, o)),
    reject: noop, // a failed handshake concerns only its client
  };
  const acceptWhat = `Cannot accept a TLS connection on "${formatAddr(e)}"`;
  const serverHandlers: SocketHandler<BunSocket> = {
    ...handlers,
    open(s) {
      const raw = new BunSocket(o, e, true, tls !== undefined, acceptWhat, accepted);
      s.data = raw;
      raw.onOpen(s, handshakeTimeoutMs);
    },
  };
  let server: SocketListener<BunSocket>;
  try {
    const common = { allowHalfOpen: true, tls, socket: serverHandlers };
    server = e.transport === "unix"
      ? Bun.listen<BunSocket>({ ...common, unix: e.path })
      : Bun.listen<BunSocket>({ ...common, hostname: e.hostname, port: e.port });
  } catch (error) {
    return Promise.reject(toNetError(error, what));
  }
  const addr: NetAddr = e.transport === "unix"
    ? { transport: "unix", path: e.path }
    : { transport: "tcp", hostname: (server as { hostname?: string }).hostname ?? e.hostname, port: (server as { port?: number }).port ?? e.port };
  // stop(false) stops accepting and leaves the accepted connections open: the listener does not own them.
  listener = new ConnListener(addr, { backlog: o.backlog, signal: o.signal, close: () => server.stop(false) });
  return Promise.resolve(listener);
}

/**
 * Listens for TCP connections (`hostname`, `port`; port 0 picks a free one) or
 * on a Unix socket (`path`). Resolves once bound; iterate the listener for
 * connections.
 *
 * @example
 * ```ts ignore
 * import { listen } from "weft/bun";
 * await using listener = await listen({ port: 0 });
 * console.log(listener.addr.port);
 * ```
 */
export function listen(options: ListenOptions): Promise<Listener> {
  return bind(resolveListenOptions(options), undefined, undefined);
}

/**
 * Listens for TLS connections; each connection is yielded once its handshake
 * is done. Handshakes that fail or take longer than `handshakeTimeoutMs` are
 * dropped without disturbing the listener.
 *
 * @example
 * ```ts ignore
 * import { listenTls } from "weft/bun";
 * const listener = await listenTls({ port: 8443, cert, key, alpnProtocols: ["h2", "http/1.1"] });
 * ```
 */
export function listenTls(options: TlsListenOptions): Promise<Listener> {
  const o = resolveListenOptions(options);
  const t = resolveTlsServerOptions(options);
  checkKeyPair(t.cert, t.key);
  return bind(o, { cert: t.cert, key: t.key, ALPNProtocols: alpnWire(t.alpnProtocols) }, t.handshakeTimeoutMs);
}

// ── STARTTLS ────────────────────────────────────────────────────────────

/**
 * Upgrades a plain connection made by this adapter to TLS, on the client side
 * (the default) or the server side (`role: "server"` with `cert` and `key`).
 * The conn's streams must be unlocked; it is spent, and the TLS connection is
 * returned once the handshake is done.
 *
 * Bun's TLS (`socket.upgradeTLS`) takes over the socket itself and reads the
 * handshake from the kernel, so it cannot be handed bytes already read: a
 * ClientHello that arrived right behind the go-ahead, or `leftover`. Then the
 * TLS runs on one end of a socket pair in this process, and the bytes read
 * ahead, followed by everything the connection carries, are spliced to the
 * other end (and back), so TLS still sees one unbroken stream.
 *
 * @example The client side of STARTTLS
 * ```ts ignore
 * import { connect, startTls } from "weft/bun";
 * const plain = await connect({ hostname: "mail.example.com", port: 587 });
 * // ... say STARTTLS, read the go-ahead, release the reader and writer ...
 * const secure = await startTls(plain, { hostname: "mail.example.com" });
 * ```
 */
export function startTls(conn: Conn, options: StartTlsOptions = {}): Promise<Conn> {
  if (!(conn instanceof SocketConn) || !(conn.raw instanceof BunSocket)) {
    throw new TypeError("Cannot start TLS: the connection was not made by weft/bun");
  }
  const o = resolveStartTlsOptions(options);
  const server = o.role === "server";
  if (o.role === "server") checkKeyPair(o.server.cert, o.server.key);
  const { raw, leftover } = (conn as SocketConn<BunSocket>).release();
  const first = joinBytes(o.leftover, leftover);
  const remote = raw.remoteAddr;
  const what = `Cannot start TLS with "${formatAddr(remote)}"`;
  // Bun checks the certificate against serverName; an IP address is checked against the IP SANs.
  const tls: TLSOptions = o.role === "server"
    ? { cert: o.server.cert, key: o.server.key, ALPNProtocols: alpnWire(o.server.alpnProtocols) }
    : tlsClientOptions(o.client, o.client.serverName ?? o.hostname ?? remote.hostname);
  return withDeadline(
    (signal) => {
      // A TLS socket cannot be upgraded again in place; bytes read ahead cannot be given back.
      if (first.byteLength > 0 || raw.tls !== undefined) return spliced(raw, first, tls, server, what, signal);
      // Bytes of the plain protocol still waiting for room go out before TLS takes the socket.
      return Promise.resolve(raw.flushed()).then(() => new Promise<Conn>((resolve, reject) => {
        const waiter = { resolve: (r: BunSocket) => resolve(new SocketConn(r, r.options)), reject };
        upgrade(raw.socket!, raw, tls, server, what, signal, waiter);
      }));
    },
    { signal: o.signal, timeoutMs: o.timeoutMs, what, discard: (c) => void c.close() },
  );
}

({ connect, connectTls, listen, listenTls, startTls, bindUdp }) satisfies Adapter;
