/**
 * weft's adapter for Cloudflare Workers (workerd): TCP and TLS client
 * connections from `connect()` of `cloudflare:sockets`, as {@link Conn}s with
 * the same semantics as on Node, Deno and Bun. Import it from a Worker
 * (`weft/cloudflare`); bundlers keep `cloudflare:sockets` external, as
 * wrangler does.
 *
 * Every socket is opened with `allowHalfOpen`, so `writable.close()` is a
 * half-close as everywhere else, and wired to its streams by `SocketConn`:
 * `closed` settles once both directions are done, whatever workerd's own
 * `socket.closed` does (it can stay pending after both ends have closed).
 * Errors become {@link NetError}s with a code, workerd's error as `cause`.
 *
 * What a Worker cannot do, and what happens instead:
 * - **Accept connections.** A Worker answers requests: `listen` and
 *   `listenTls` reject with `unsupported`. Serve HTTP from the Worker's
 *   `fetch` handler (`export default { fetch }`: the handler serveHttp takes
 *   elsewhere runs there as it is), and keep long-lived connections
 *   (WebSockets) in a Durable Object.
 * - **Unix sockets, the server side of STARTTLS, a client certificate, and
 *   `caCerts`**: `unsupported`. A Worker trusts the platform's certificate
 *   authorities only (locally, miniflare's: the system's plus
 *   NODE_EXTRA_CA_CERTS). ALPN is not offered: `conn.tls.alpnProtocol` is
 *   `null`.
 * - **Resets.** `close(reason)` sends a FIN, not a reset. A reset from the
 *   peer reads as the end of the stream (workerd reports it so); the next
 *   write fails with `connection-reset`.
 * - **Telling failures apart.** workerd reports every failed connect with
 *   one message, so refused, unresolvable and blocked addresses (Cloudflare's
 *   own, port 25, private ones in production) are all `connection-refused`
 *   (`permission-denied` where the platform names the block). A failed TLS
 *   handshake looks the same: `connectTls` then tries a plain connect to the
 *   same address, and reports `tls-certificate` when that one succeeds.
 * - **A handshake that ends after the call.** `startTls`, and `connectTls`
 *   with a `serverName` other than `hostname` (which take workerd's
 *   `startTls()`), resolve before the handshake is done, as workerd reports
 *   no end of it: a failed one makes the first write fail with
 *   `tls-handshake`, and reads end.
 * - **Socket options.** `noDelay` and `keepAlive` are checked and have no
 *   effect: the platform sets them. `connectTimeoutMs` and `signal` work
 *   (the socket is closed when they fire).
 * - **Sharing sockets between requests.** A socket belongs to the request
 *   that opened it: using its Conn from another request fails with
 *   `unsupported`, so a client pool lives for one request (or in a Durable
 *   Object).
 *
 * @example A Worker that asks a TCP service and answers with its reply
 * ```ts ignore
 * import { connect } from "weft/cloudflare";
 *
 * export default {
 *   async fetch(request: Request): Promise<Response> {
 *     const conn = await connect({ hostname: "tcpbin.example", port: 4242, connectTimeoutMs: 5000 });
 *     const writer = conn.writable.getWriter();
 *     await writer.write(new TextEncoder().encode(await request.text()));
 *     await writer.close(); // half-close: the reply still arrives
 *     return new Response(conn.readable);
 *   },
 * };
 * ```
 *
 * @module
 */
import {
  type Adapter,
  type Conn,
  type ConnectOptions,
  formatAddr,
  type Listener,
  type ListenOptions,
  type NetAddr,
  NetError,
  type ResolvedConnOptions,
  resolveConnectOptions,
  resolveListenOptions,
  resolveStartTlsOptions,
  resolveTlsClientOptions,
  resolveTlsServerOptions,
  SocketConn,
  type StartTlsOptions,
  type TlsConnectOptions,
  type TlsInfo,
  type TlsListenOptions,
  withDeadline,
} from "../mod.ts";
import { checkHostname, closeQuietly, CloudflareSocket, dial, parseAddress, toNetError } from "./_cloudflare_socket.ts";

export type { Conn, ConnectOptions, Listener, ListenOptions, StartTlsOptions, TlsConnectOptions, TlsListenOptions };

/** workerd offers no ALPN: every TLS connection reports none agreed. */
const NO_ALPN: TlsInfo = { alpnProtocol: null };

function wrap(socket: Socket, info: SocketInfo, hostname: string, peer: NetAddr, o: ResolvedConnOptions, tls?: TlsInfo): SocketConn<CloudflareSocket> {
  const remote = parseAddress(info.remoteAddress, peer);
  // workerd does not say which local address a socket has.
  const local = parseAddress(info.localAddress, { transport: "tcp", hostname: "", port: 0 });
  return new SocketConn(new CloudflareSocket(socket, hostname, [local, remote], o, tls), {
    readableHighWaterMark: o.readableHighWaterMark,
    writableHighWaterMark: o.writableHighWaterMark,
    // A plain socket is read only while a read waits, so that nothing is in
    // flight when startTls() takes it; a TLS socket can read ahead.
    readAhead: tls !== undefined,
  });
}

/** Waits for `socket` to open; closes it if that fails or `signal` aborts. */
async function opened(socket: Socket, signal: AbortSignal, what: string): Promise<SocketInfo> {
  // workerd has no way to cancel a connect: closing the socket is the abort.
  const abort = () => closeQuietly(socket);
  signal.addEventListener("abort", abort, { once: true });
  try {
    return await socket.opened;
  } catch (error) {
    closeQuietly(socket);
    throw signal.aborted ? signal.reason : toNetError(error, what);
  } finally {
    signal.removeEventListener("abort", abort);
  }
}

type TcpEndpoint = { transport: "tcp"; hostname: string; port: number };

/** A TCP endpoint; a Unix socket path gets a NetError (a rejection), a hostname workerd refuses a TypeError (thrown). */
function tcpEndpoint(o: ReturnType<typeof resolveConnectOptions>, what: string): TcpEndpoint {
  const e = o.endpoint;
  if (e.transport === "unix") throw new NetError("unsupported", `${what}: a Worker has no Unix sockets`);
  checkHostname(e.hostname);
  return e;
}

/**
 * Opens a TCP connection from a Worker. Bad options throw `TypeError` or
 * `RangeError` at the call (a hostname workerd refuses among them); a failed
 * connect rejects with a {@link NetError} (`connection-refused` for nothing
 * listening, a name that does not resolve and an address the platform
 * blocks alike; `timed-out`), or with `signal.reason` when aborted.
 *
 * The connection can be upgraded with {@link startTls}.
 *
 * @example
 * ```ts ignore
 * import { connect } from "weft/cloudflare";
 * const conn = await connect({ hostname: "redis.example", port: 6379, connectTimeoutMs: 2000 });
 * ```
 */
export function connect(options: ConnectOptions): Promise<Conn> {
  const o = resolveConnectOptions(options);
  const what = `Cannot connect to "${formatAddr(o.endpoint)}"`;
  let e: TcpEndpoint;
  try {
    e = tcpEndpoint(o, what);
  } catch (error) {
    if (error instanceof TypeError) throw error;
    return Promise.reject(error);
  }
  return withDeadline(
    async (signal) => {
      const socket = dial(e.hostname, e.port, "starttls");
      return wrap(socket, await opened(socket, signal, what), e.hostname, e, o);
    },
    { signal: o.signal, timeoutMs: o.connectTimeoutMs, what, discard: (conn) => void conn.close() },
  );
}

/** Rejects what a Worker's TLS cannot do: trust roots of its own, a client certificate. */
function checkTlsClient(t: ReturnType<typeof resolveTlsClientOptions>, what: string): void {
  if (t.caCerts !== undefined) {
    throw new NetError("unsupported", `${what}: a Worker trusts the platform's certificate authorities only; caCerts cannot be given`);
  }
  if (t.cert !== undefined) {
    throw new NetError("unsupported", `${what}: a Worker's connect() cannot present a client certificate; use an mTLS certificate binding with fetch`);
  }
}

/**
 * Opens a TLS connection from a Worker. The server's certificate is verified
 * against the platform's roots for `serverName` (default: `hostname`); an
 * untrusted one rejects with a {@link NetError} `tls-certificate`, and the
 * handshake counts towards `connectTimeoutMs`. `caCerts` and a client
 * certificate reject with `unsupported`; ALPN is not offered.
 *
 * With a `serverName` other than `hostname` the handshake finishes after the
 * promise resolves (see the module's notes): a failure shows at the first
 * write, as `tls-handshake`.
 *
 * @example
 * ```ts ignore
 * import { connectTls } from "weft/cloudflare";
 * const conn = await connectTls({ hostname: "db.example.com", port: 5433 });
 * ```
 */
export function connectTls(options: TlsConnectOptions): Promise<Conn> {
  const o = resolveConnectOptions(options);
  const t = resolveTlsClientOptions(options);
  const what = `Cannot connect with TLS to "${formatAddr(o.endpoint)}"`;
  let e: TcpEndpoint;
  try {
    e = tcpEndpoint(o, what);
    checkTlsClient(t, what);
  } catch (error) {
    if (error instanceof TypeError) throw error;
    return Promise.reject(error);
  }
  const name = t.serverName ?? e.hostname;
  return withDeadline(
    async (signal) => {
      if (name !== e.hostname) {
        // Only startTls() verifies a name other than the one dialled.
        const plain = dial(e.hostname, e.port, "starttls");
        await opened(plain, signal, what);
        const secure = upgrade(plain, name, what);
        return wrap(secure, await opened(secure, signal, what), e.hostname, e, o, NO_ALPN);
      }
      const socket = dial(e.hostname, e.port, "on");
      try {
        return wrap(socket, await opened(socket, signal, what), e.hostname, e, o, NO_ALPN);
      } catch (error) {
        if (signal.aborted || !(error instanceof NetError) || error.code !== "connection-refused") throw error;
        throw await handshakeOrConnect(e, signal, what, name, error);
      }
    },
    { signal: o.signal, timeoutMs: o.connectTimeoutMs, what, discard: (conn) => void conn.close() },
  );
}

/** workerd's `startTls()` on `plain`, verifying `name`; closes `plain` if it throws. */
function upgrade(plain: Socket, name: string, what: string): Socket {
  try {
    return plain.startTls({ expectedServerHostname: name });
  } catch (error) {
    closeQuietly(plain);
    throw toNetError(error, what, true);
  }
}

/**
 * workerd fails a TLS connect with the same error whether the TCP connect or
 * the handshake failed. A plain connect to the same address tells which:
 * if it opens, the handshake was the problem.
 */
async function handshakeOrConnect(
  e: TcpEndpoint,
  signal: AbortSignal,
  what: string,
  name: string,
  original: NetError,
): Promise<unknown> {
  const probe = dial(e.hostname, e.port, "starttls");
  try {
    await opened(probe, signal, what);
  } catch {
    return signal.aborted ? signal.reason : original;
  }
  closeQuietly(probe);
  return new NetError(
    "tls-certificate",
    `${what}: the TLS handshake failed (workerd does not say why; most often the certificate is not trusted for "${name}")`,
    { cause: original.cause },
  );
}

function unsupportedListen(what: string): Promise<never> {
  return Promise.reject(
    new NetError(
      "unsupported",
      `${what}: a Worker cannot accept connections; answer requests in its fetch handler (export default { fetch }), or use a Durable Object for long-lived connections`,
    ),
  );
}

/**
 * Workers cannot listen: the options are checked (bad ones throw
 * `TypeError` or `RangeError` as on every runtime), then it rejects with a
 * {@link NetError} `unsupported`. A Worker answers HTTP in its `fetch`
 * handler, the same handler `serveHttp` takes on Node, Deno and Bun; a
 * Durable Object holds long-lived connections (WebSockets).
 *
 * @example What to write instead: the handler is the server
 * ```ts ignore
 * export default {
 *   fetch: (request: Request) => new Response(`hello ${new URL(request.url).pathname}`),
 * };
 * ```
 */
export function listen(options: ListenOptions): Promise<Listener> {
  const o = resolveListenOptions(options);
  return unsupportedListen(`Cannot listen on "${formatAddr(o.endpoint)}"`);
}

/**
 * Workers cannot listen, with TLS or without: see {@link listen}. The options
 * are checked, then it rejects with a {@link NetError} `unsupported`.
 * Cloudflare terminates TLS in front of the Worker's `fetch` handler.
 *
 * @example
 * ```ts ignore
 * import { listenTls } from "weft/cloudflare";
 * await listenTls({ port: 8443, cert, key }).catch((e) => console.log(e.code)); // "unsupported"
 * ```
 */
export function listenTls(options: TlsListenOptions): Promise<Listener> {
  const o = resolveListenOptions(options);
  resolveTlsServerOptions(options);
  return unsupportedListen(`Cannot listen with TLS on "${formatAddr(o.endpoint)}"`);
}

/**
 * Upgrades a plain connection made by {@link connect} to TLS, on the client
 * side: the conn's streams must be unlocked; it is spent, and the TLS
 * connection is returned. The certificate is verified for `serverName`, else
 * `hostname`, else the host name dialled.
 *
 * workerd hands the socket itself to TLS, so there must be no bytes already
 * read (`leftover`, or unread by the conn): with some it rejects with
 * `unsupported` and leaves the conn as it was. So do the server side
 * (`role: "server"`), `caCerts` and a client certificate. The promise
 * resolves before the handshake is done (workerd reports no end of it): a
 * failed handshake makes the first write fail with `tls-handshake`.
 *
 * @example The client side of STARTTLS
 * ```ts ignore
 * import { connect, startTls } from "weft/cloudflare";
 * const plain = await connect({ hostname: "mail.example.com", port: 587 });
 * // ... say STARTTLS, read the go-ahead, release the reader and writer ...
 * const secure = await startTls(plain, { hostname: "mail.example.com" });
 * ```
 */
export function startTls(conn: Conn, options: StartTlsOptions = {}): Promise<Conn> {
  if (!(conn instanceof SocketConn) || !(conn.raw instanceof CloudflareSocket)) {
    throw new TypeError("Cannot start TLS: the connection was not made by weft/cloudflare");
  }
  const raw: CloudflareSocket = conn.raw;
  const what = `Cannot start TLS with "${formatAddr(raw.remoteAddr)}"`;
  const o = resolveStartTlsOptions(options);
  const unsupported = (why: string) => Promise.reject(new NetError("unsupported", `${what}: ${why}`));
  if (o.role === "server") {
    return unsupported("a Worker cannot accept connections, so it has no server side of STARTTLS");
  }
  if (conn.readable.locked || conn.writable.locked) {
    throw new TypeError("Cannot start TLS: the connection's readable or writable is locked; release the reader and writer first");
  }
  if (raw.reading) throw new TypeError("Cannot start TLS: a read is still pending on the connection");
  if (o.signal?.aborted) return Promise.reject(o.signal.reason);
  if (raw.tls !== undefined) return unsupported("the connection is TLS already, and workerd runs no TLS over TLS");
  try {
    checkTlsClient(o.client, what);
  } catch (error) {
    return Promise.reject(error);
  }
  const unread = o.leftover.byteLength + conn.bufferedBytes;
  if (unread > 0) {
    return unsupported(`workerd's TLS cannot take bytes already read from the connection (${unread} bytes); upgrade before the peer's first TLS bytes are read`);
  }
  conn.release(); // nothing is read while no read waits, so nothing is left over
  const hostname = o.client.serverName ?? o.hostname ?? raw.hostname;
  const remote: NetAddr = raw.remoteAddr;
  return withDeadline(
    async (signal) => {
      const secure = upgrade(await raw.detach(), hostname, what);
      const info = await opened(secure, signal, what);
      return wrap(secure, info, raw.hostname, remote, raw.options, NO_ALPN);
    },
    { signal: o.signal, timeoutMs: o.timeoutMs, what, discard: (c) => void c.close() },
  ).catch((error) => {
    closeQuietly(raw.socket); // spent: still open if the upgrade never got to it
    throw error;
  });
}

({ connect, connectTls, listen, listenTls, startTls }) satisfies Adapter;
