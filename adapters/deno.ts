/**
 * weft's adapter for Deno: TCP, Unix sockets and TLS from `Deno.connect`,
 * `Deno.listen`, `Deno.listenTls` and `Deno.startTls`, as {@link Conn}s and
 * {@link Listener}s; UDP from `Deno.listenDatagram` (`bindUdp`, see
 * `_deno_udp.ts`).
 *
 * Each `Deno.Conn` is read with `conn.read()` into one reused buffer, and only
 * while a reader waits (or once the writable is closed), so a conn that nothing
 * reads can still be handed to `Deno.startTls`; `conn.readable` and
 * `conn.writable` are never used (they close the whole connection at EOF).
 * Half-close is `conn.closeWrite()`. A conn that nobody reads learns of the
 * peer's FIN or reset at its next read or write.
 *
 * What Deno cannot do, and what happens instead:
 * - `close(reason)` cannot reset the connection: Deno always sends a FIN
 *   before closing, so the peer sees the end of the stream (and a later write
 *   of the peer fails).
 * - No server side of STARTTLS (`startTls` with `role: "server"`), no TLS over
 *   Unix sockets, and a client `startTls` cannot take bytes already read:
 *   these reject with a {@link NetError} `unsupported`.
 * - `caCerts` are trusted in addition to the system's roots, not instead.
 * - Connections accepted by `listenTls` keep Nagle's algorithm on (`noDelay`
 *   cannot reach them), as do `connectTls` connections with a client
 *   certificate.
 * - A TLS handshake that times out or is aborted is abandoned, but Deno (2.9)
 *   keeps its socket open until the peer sends something or closes.
 * - UDP needs the `--unstable-net` flag (`Deno.listenDatagram` is unstable):
 *   without it `bindUdp` rejects with a {@link NetError} `unsupported`.
 *
 * @example Echo server and client
 * ```ts
 * import { connect, listen } from "weft/deno";
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
import {
  type Adapter,
  type Conn,
  ConnListener,
  type ConnectOptions,
  type Endpoint,
  formatAddr,
  type Listener,
  type ListenOptions,
  NetError,
  type ResolvedConnOptions,
  type ResolvedListen,
  resolveConnectOptions,
  resolveListenOptions,
  resolveTlsClientOptions,
  resolveTlsServerOptions,
  resolveStartTlsOptions,
  SocketConn,
  type StartTlsOptions,
  type TlsConnectOptions,
  type TlsInfo,
  type TlsListenOptions,
  withDeadline,
} from "../mod.ts";
import { closeQuietly, codeOf, DenoSocket, netAddr, toNetError } from "./_deno_socket.ts";
import { bindUdp } from "./_deno_udp.ts";

export type { BindUdpOptions, Datagram, UdpSocket } from "../mod.ts";
export type { Conn, ConnectOptions, Listener, ListenOptions, StartTlsOptions, TlsConnectOptions, TlsListenOptions };
export { bindUdp };

/** How long the accept loop waits when the process is out of file descriptors, so it neither spins nor dies. */
const ACCEPT_RETRY_MS = 100;
function tune(conn: Deno.TcpConn, o: ResolvedConnOptions): void {
  conn.setNoDelay(o.noDelay);
  conn.setKeepAlive(o.keepAlive);
}

function wrap(conn: Deno.Conn, o: ResolvedConnOptions, tls?: TlsInfo): SocketConn<DenoSocket> {
  if (tls === undefined && conn.localAddr.transport === "tcp") tune(conn as Deno.TcpConn, o);
  return new SocketConn(new DenoSocket(conn, o, tls), {
    readableHighWaterMark: o.readableHighWaterMark,
    writableHighWaterMark: o.writableHighWaterMark,
    // Read only while a read waits, so the conn is free for Deno.startTls.
    readAhead: false,
  });
}

/** Opens the TCP or Unix connection; aborting `signal` cancels a TCP connect. */
async function dial(e: Endpoint, signal: AbortSignal, what: string): Promise<Deno.TcpConn | Deno.UnixConn> {
  try {
    return e.transport === "unix"
      ? await Deno.connect({ transport: "unix", path: e.path })
      : await Deno.connect({ hostname: e.hostname, port: e.port, signal });
  } catch (error) {
    throw signal.aborted ? signal.reason : toNetError(error, what);
  }
}

/** Runs the TLS handshake; closes the conn if it fails or `signal` aborts. */
async function handshake(conn: Deno.TlsConn, signal: AbortSignal, what: string): Promise<TlsInfo> {
  const abort = () => closeQuietly(conn);
  if (signal.aborted) {
    abort();
    throw signal.reason;
  }
  signal.addEventListener("abort", abort, { once: true });
  try {
    const info = await conn.handshake();
    return { alpnProtocol: info.alpnProtocol ?? null };
  } catch (error) {
    closeQuietly(conn);
    throw signal.aborted ? signal.reason : toNetError(error, what, false, true);
  } finally {
    signal.removeEventListener("abort", abort);
  }
}

/** Starts TLS on a TCP conn that nothing reads and runs the handshake; closes the conn if either fails. */
async function upgrade(
  tcp: Deno.TcpConn,
  options: Deno.StartTlsOptions,
  signal: AbortSignal,
  what: string,
): Promise<[Deno.TlsConn, TlsInfo]> {
  let conn: Deno.TlsConn;
  try {
    conn = await Deno.startTls(tcp, options);
  } catch (error) {
    closeQuietly(tcp);
    throw toNetError(error, what, false, true);
  }
  return [conn, await handshake(conn, signal, what)];
}

/**
 * Opens a TCP connection (`hostname`, `port`) or a Unix socket connection
 * (`path`). Bad options throw `TypeError` or `RangeError` at the call; a failed
 * connect rejects with a {@link NetError} (`connection-refused`, `timed-out`, ...)
 * or with `signal.reason` when aborted.
 *
 * @example
 * ```ts ignore
 * import { connect } from "weft/deno";
 * const conn = await connect({ hostname: "127.0.0.1", port: 6379, connectTimeoutMs: 2000 });
 * ```
 */
export function connect(options: ConnectOptions): Promise<Conn> {
  const o = resolveConnectOptions(options);
  const what = `Cannot connect to "${formatAddr(o.endpoint)}"`;
  return withDeadline(
    async (signal) => wrap(await dial(o.endpoint, signal, what), o),
    { signal: o.signal, timeoutMs: o.connectTimeoutMs, what, discard: (conn) => void conn.close() },
  );
}

/**
 * Opens a TLS connection. The server's certificate is verified against the
 * system's roots and `caCerts`, for `serverName` (default: `hostname`); an
 * untrusted one rejects with a {@link NetError} `tls-certificate`. Over a Unix
 * socket, or with a client certificate and a `serverName` other than
 * `hostname`, it rejects with `unsupported`: Deno cannot do these.
 *
 * @example
 * ```ts ignore
 * import { connectTls } from "weft/deno";
 * const conn = await connectTls({ hostname: "example.com", port: 443, alpnProtocols: ["http/1.1"] });
 * console.log(conn.tls?.alpnProtocol);
 * ```
 */
export function connectTls(options: TlsConnectOptions): Promise<Conn> {
  const o = resolveConnectOptions(options);
  const t = resolveTlsClientOptions(options);
  const e = o.endpoint;
  const what = `Cannot connect with TLS to "${formatAddr(e)}"`;
  return withDeadline(
    async (signal) => {
      if (e.transport === "unix") throw new NetError("unsupported", `${what}: Deno runs TLS over TCP only`);
      const name = t.serverName ?? e.hostname;
      if (t.cert === undefined) {
        // TCP first, then TLS: so the connect can be aborted, noDelay applies,
        // and the name verified can differ from the host dialled.
        const tcp = (await dial(e, signal, what)) as Deno.TcpConn;
        tune(tcp, o);
        const [conn, info] = await upgrade(tcp, { hostname: name, caCerts: t.caCerts, alpnProtocols: t.alpnProtocols }, signal, what);
        return wrap(conn, o, info);
      }
      // Only Deno.connectTls presents a client certificate, and it verifies the host dialled.
      if (name !== e.hostname) {
        throw new NetError("unsupported", `${what}: Deno cannot present a client certificate to serverName "${name}" other than the hostname`);
      }
      let conn: Deno.TlsConn;
      try {
        conn = await Deno.connectTls({ hostname: e.hostname, port: e.port, caCerts: t.caCerts, alpnProtocols: t.alpnProtocols, cert: t.cert, key: t.key! });
      } catch (error) {
        throw signal.aborted ? signal.reason : toNetError(error, what, false, true);
      }
      return wrap(conn, o, await handshake(conn, signal, what));
    },
    { signal: o.signal, timeoutMs: o.connectTimeoutMs, what, discard: (conn) => void conn.close() },
  );
}

/** Whether an accept error concerns one connection only, so the listener keeps accepting. */
function acceptRetry(error: unknown): "next" | "later" | undefined {
  const errno = (error as { code?: unknown } | null)?.code;
  if (errno === "EMFILE" || errno === "ENFILE" || errno === "ENOBUFS" || errno === "ENOMEM") return "later";
  // A client that connected and reset before accept() took it: Deno reports NotConnected (ENOTCONN).
  if (error instanceof Deno.errors.NotConnected || errno === "ENOTCONN") return "next";
  const code = codeOf(error, false, false);
  return code === "connection-aborted" || code === "connection-reset" || code === "broken-pipe" ? "next" : undefined;
}

/** A {@link ConnListener} fed by a loop over `inner.accept()`; `onConn` takes each connection. */
function serve<C extends Deno.Conn>(
  inner: Deno.Listener<C>,
  o: ResolvedListen,
  onConn: (conn: C, listener: ConnListener<SocketConn<DenoSocket>>) => void,
  onClose?: () => void,
): ConnListener<SocketConn<DenoSocket>> {
  const addr = netAddr(inner.addr);
  const what = `Cannot accept on "${formatAddr(addr)}"`;
  let accepting: Promise<void> | undefined;
  const listener = new ConnListener<SocketConn<DenoSocket>>(addr, {
    backlog: o.backlog,
    signal: o.signal,
    close: async () => {
      onClose?.();
      closeQuietly(inner);
      // Deno lets go of the socket once the pending accept() has ended: until
      // then the kernel would still take connections (and reset them).
      await accepting;
    },
  });
  accepting = (async () => {
    while (!listener.closed) {
      let conn: C;
      try {
        conn = await inner.accept();
      } catch (error) {
        if (listener.closed) return;
        const retry = acceptRetry(error);
        if (retry === "later") await new Promise((done) => setTimeout(done, ACCEPT_RETRY_MS));
        if (retry) continue;
        return listener.fail(toNetError(error, what));
      }
      if (listener.closed) return closeQuietly(conn);
      try {
        onConn(conn, listener);
      } catch {
        closeQuietly(conn); // broke before it could be set up (setNoDelay on a dead socket)
      }
    }
  })();
  return listener;
}

/** Binds with `bind()`; a failure becomes a rejected NetError, except what `invalid` says is a bad argument. */
function bound<L>(o: ResolvedListen, bind: () => L, invalid?: (error: unknown) => TypeError | undefined): Promise<L> {
  if (o.signal?.aborted) return Promise.reject(o.signal.reason);
  try {
    return Promise.resolve(bind());
  } catch (error) {
    const bad = invalid?.(error);
    if (bad) throw bad;
    return Promise.reject(toNetError(error, `Cannot listen on "${formatAddr(o.endpoint)}"`));
  }
}

/**
 * Listens for TCP connections (`hostname`, `port`; port 0 picks a free one) or
 * on a Unix socket (`path`). Resolves once bound; iterate the listener for
 * connections.
 *
 * @example
 * ```ts ignore
 * import { listen } from "weft/deno";
 * await using listener = await listen({ port: 0 });
 * console.log(listener.addr.port);
 * ```
 */
export function listen(options: ListenOptions): Promise<Listener> {
  const o = resolveListenOptions(options);
  const e = o.endpoint;
  return bound(o, (): Deno.Listener<Deno.TcpConn | Deno.UnixConn> =>
    e.transport === "unix"
      ? Deno.listen({ transport: "unix", path: e.path })
      : Deno.listen({ hostname: e.hostname, port: e.port, tcpBacklog: o.backlog })
  ).then((inner) => serve(inner, o, (conn, listener) => void listener.push(wrap(conn, o))));
}

/**
 * Listens for TLS connections; each connection is yielded once its handshake
 * is done. Handshakes that fail or take longer than `handshakeTimeoutMs` are
 * dropped without disturbing the listener. A certificate or key that Deno
 * refuses throws `TypeError` at the call.
 *
 * @example
 * ```ts ignore
 * import { listenTls } from "weft/deno";
 * const listener = await listenTls({ port: 8443, cert, key, alpnProtocols: ["h2", "http/1.1"] });
 * ```
 */
export function listenTls(options: TlsListenOptions): Promise<Listener> {
  const o = resolveListenOptions(options);
  const t = resolveTlsServerOptions(options);
  const e = o.endpoint;
  if (e.transport === "unix") {
    return Promise.reject(new NetError("unsupported", `Cannot listen with TLS on "${formatAddr(e)}": Deno runs TLS over TCP only`));
  }
  const invalid = (error: unknown) =>
    codeOf(error, false, false) === "unknown"
      ? new TypeError(`Invalid cert or key: ${(error as Error)?.message ?? error}`, { cause: error })
      : undefined;
  const bind = () =>
    Deno.listenTls({ hostname: e.hostname, port: e.port, tcpBacklog: o.backlog, cert: t.cert, key: t.key, alpnProtocols: t.alpnProtocols });
  return bound(o, bind, invalid).then((inner) => {
    const handshaking = new Set<Deno.TlsConn>();
    const what = `Cannot accept TLS on "${formatAddr(e)}"`;
    return serve(
      inner,
      o,
      (conn, listener) => {
        handshaking.add(conn);
        // A client that fails its handshake concerns only itself: its conn is closed and dropped.
        withDeadline((signal) => handshake(conn, signal, what), { timeoutMs: t.handshakeTimeoutMs, what }).then(
          (info) => {
            handshaking.delete(conn);
            if (listener.closed) closeQuietly(conn);
            else listener.push(wrap(conn, o, info));
          },
          () => {
            handshaking.delete(conn);
            closeQuietly(conn);
          },
        );
      },
      () => {
        for (const conn of handshaking) closeQuietly(conn);
        handshaking.clear();
      },
    );
  });
}

/**
 * Upgrades a plain TCP connection made by this adapter to TLS, on the client
 * side: the conn's streams must be unlocked; it is spent, and the TLS
 * connection is returned. The certificate is verified for `serverName`, else
 * `hostname`, else the peer's address.
 *
 * Deno hands the socket itself to TLS, so there must be no bytes already read
 * (`leftover`, or unread by the conn): with some it rejects with `unsupported`
 * and leaves the conn as it was. So does the server side (`role: "server"`):
 * Deno has none; use `listenTls`, or terminate TLS in front of the server.
 *
 * @example The client side of STARTTLS
 * ```ts ignore
 * import { connect, startTls } from "weft/deno";
 * const plain = await connect({ hostname: "mail.example.com", port: 587 });
 * // ... say STARTTLS, read the go-ahead, release the reader and writer ...
 * const secure = await startTls(plain, { hostname: "mail.example.com" });
 * ```
 */
export function startTls(conn: Conn, options: StartTlsOptions = {}): Promise<Conn> {
  if (!(conn instanceof SocketConn) || !(conn.raw instanceof DenoSocket)) {
    throw new TypeError("Cannot start TLS: the connection was not made by weft/deno");
  }
  const raw: DenoSocket = conn.raw;
  const what = `Cannot start TLS with "${formatAddr(raw.remoteAddr)}"`;
  const o = resolveStartTlsOptions(options);
  if (o.role === "server") {
    return Promise.reject(
      new NetError("unsupported", `${what}: Deno has no server side of STARTTLS; use listenTls, or terminate TLS in front of the server`),
    );
  }
  const t = o.client;
  const { leftover, signal, timeoutMs } = o;
  if (conn.readable.locked || conn.writable.locked) {
    throw new TypeError("Cannot start TLS: the connection's readable or writable is locked; release the reader and writer first");
  }
  if (raw.reading) throw new TypeError("Cannot start TLS: a read is still pending on the connection");
  if (signal?.aborted) return Promise.reject(signal.reason);
  const unsupported = (why: string) => Promise.reject(new NetError("unsupported", `${what}: ${why}`));
  if (raw.localAddr.transport !== "tcp") return unsupported("Deno runs TLS over TCP only");
  if (t.cert !== undefined) return unsupported("Deno.startTls cannot present a client certificate; use connectTls");
  const unread = leftover.byteLength + conn.bufferedBytes;
  if (unread > 0) {
    return unsupported(`Deno's TLS cannot take bytes already read from the connection (${unread} bytes); upgrade before the peer's first TLS bytes are read`);
  }
  conn.release(); // nothing is read while no read waits, so nothing is left over
  const hostname = t.serverName ?? o.hostname ?? raw.remoteAddr.hostname;
  return withDeadline(
    async (signal) => {
      const tcp = (await raw.detach()) as Deno.TcpConn;
      const [secure, info] = await upgrade(tcp, { hostname, caCerts: t.caCerts, alpnProtocols: t.alpnProtocols }, signal, what);
      return wrap(secure, raw.options, info);
    },
    { signal, timeoutMs, what, discard: (c) => void c.close() },
  ).catch((error) => {
    closeQuietly(raw.conn); // spent: still open if the upgrade never got to it
    throw error;
  });
}

({ connect, connectTls, listen, listenTls, startTls, bindUdp }) satisfies Adapter;
