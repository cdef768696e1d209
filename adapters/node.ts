/**
 * weft's adapter for Node.js: TCP, Unix sockets and TLS from `node:net` and
 * `node:tls`, as {@link Conn}s and {@link Listener}s; UDP from `node:dgram`
 * (`bindUdp`, see `_node_udp.ts`).
 *
 * Each socket is wired to its streams directly (see `SocketConn`): a plain
 * TCP or Unix socket reads through Node's `onread` into one buffer all
 * sockets share, and each read is copied where it is kept, skipping the
 * Readable's machinery; a TLS socket's `data` events are its chunks. A write
 * resolves as soon as Node has handed the bytes to the kernel.
 *
 * @example Echo server and client
 * ```ts
 * import { connect, listen } from "weft/node";
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
import * as net from "node:net";
import { Duplex } from "node:stream";
import * as tls from "node:tls";
import { addresses, adopt, NodeSocket, toNetError, UserBufferInput } from "./_node_socket.ts";
import { bindUdp } from "./_node_udp.ts";
import {
  ConnListener,
  type Adapter,
  type Conn,
  type ConnectOptions,
  type Endpoint,
  formatAddr,
  type Listener,
  type ListenOptions,
  type NetAddr,
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
  type TlsListenOptions,
  withDeadline,
} from "../mod.ts";

export type { BindUdpOptions, Datagram, UdpSocket } from "../mod.ts";
export type { Conn, ConnectOptions, Listener, ListenOptions, StartTlsOptions, TlsConnectOptions, TlsListenOptions };
export { bindUdp };

function wrap(
  socket: net.Socket,
  endpoint: Endpoint | undefined,
  local: boolean,
  o: ResolvedConnOptions,
  input?: UserBufferInput,
): SocketConn<NodeSocket> {
  if (endpoint?.transport !== "unix") {
    socket.setNoDelay(o.noDelay);
    socket.setKeepAlive(o.keepAlive);
  }
  return new SocketConn(new NodeSocket(socket, o, addresses(socket, endpoint, local), input), o);
}

/** An accepted socket, wrapped to read through `onread` where Node allows. */
function wrapAccepted(socket: net.Socket, endpoint: Endpoint, o: ResolvedConnOptions): SocketConn<NodeSocket> {
  const [adopted, input] = adopt(socket);
  return wrap(adopted, endpoint, true, o, input);
}

/** Settles when `socket` emits `ready` (connected or handshaken), rejecting on `error` or when `signal` aborts. */
function whenReady(socket: net.Socket, ready: string, signal: AbortSignal, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      socket.off(ready, onReady);
      socket.off("error", onError);
      signal.removeEventListener("abort", onAbort);
    };
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onError = (error: Error) => {
      cleanup();
      socket.destroy();
      reject(toNetError(error, what));
    };
    const onAbort = () => {
      cleanup();
      socket.destroy();
      reject(signal.reason);
    };
    socket.once(ready, onReady);
    socket.once("error", onError);
    signal.addEventListener("abort", onAbort, { once: true });
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
 * import { connect } from "weft/node";
 * const conn = await connect({ hostname: "127.0.0.1", port: 6379, connectTimeoutMs: 2000 });
 * ```
 */
export function connect(options: ConnectOptions): Promise<Conn> {
  const o = resolveConnectOptions(options);
  const what = `Cannot connect to "${formatAddr(o.endpoint)}"`;
  return withDeadline(
    async (signal) => {
      const e = o.endpoint;
      const input = new UserBufferInput();
      const socket = e.transport === "unix"
        ? net.connect({ path: e.path, allowHalfOpen: true, onread: input.option })
        : net.connect({ host: e.hostname, port: e.port, allowHalfOpen: true, onread: input.option });
      await whenReady(socket, "connect", signal, what);
      return wrap(socket, e, false, o, input);
    },
    { signal: o.signal, timeoutMs: o.connectTimeoutMs, what, discard: (conn) => void conn.close() },
  );
}

/**
 * Opens a TLS connection. The server's certificate is verified against the
 * system's roots (or `caCerts`) and `serverName` (default: `hostname`); an
 * untrusted one rejects with a {@link NetError} `tls-certificate`.
 *
 * @example
 * ```ts ignore
 * import { connectTls } from "weft/node";
 * const conn = await connectTls({ hostname: "example.com", port: 443, alpnProtocols: ["http/1.1"] });
 * console.log(conn.tls?.alpnProtocol);
 * ```
 */
export function connectTls(options: TlsConnectOptions): Promise<Conn> {
  const o = resolveConnectOptions(options);
  const t = resolveTlsClientOptions(options);
  const what = `Cannot connect with TLS to "${formatAddr(o.endpoint)}"`;
  return withDeadline(
    async (signal) => {
      const e = o.endpoint;
      const serverName = t.serverName ?? (e.transport === "tcp" && net.isIP(e.hostname) === 0 ? e.hostname : undefined);
      const socket = tls.connect({
        ...(e.transport === "unix" ? { path: e.path } : { host: e.hostname, port: e.port }),
        ...tlsClientContext(t),
        servername: serverName,
        // Not in Node's types, but honoured: TLSSocket passes it to net.Socket.
        ...{ allowHalfOpen: true },
      });
      await whenReady(socket, "secureConnect", signal, what);
      return wrap(socket, e, false, o);
    },
    { signal: o.signal, timeoutMs: o.connectTimeoutMs, what, discard: (conn) => void conn.close() },
  );
}

function tlsClientContext(t: ReturnType<typeof resolveTlsClientOptions>): tls.ConnectionOptions {
  return {
    ca: t.caCerts,
    cert: t.cert,
    key: t.key,
    ALPNProtocols: t.alpnProtocols,
    rejectUnauthorized: true,
  };
}

function secureContext(cert: string, key: string): tls.SecureContext {
  try {
    return tls.createSecureContext({ cert, key });
  } catch (error) {
    throw new TypeError(`Invalid cert or key: ${(error as Error).message}`, { cause: error });
  }
}

/** Binds `server` as `o` says and resolves once it listens; connections arrive through `onConn`. */
function bind(server: net.Server, o: ResolvedListen, event: string): Promise<ConnListener> {
  const e = o.endpoint;
  const what = `Cannot listen on "${formatAddr(e)}"`;
  if (o.signal?.aborted) return Promise.reject(o.signal.reason);
  return new Promise<ConnListener>((resolve, reject) => {
    const onError = (error: Error) => reject(toNetError(error, what));
    server.once("error", onError);
    server.listen(e.transport === "unix" ? { path: e.path, backlog: o.backlog } : { host: e.hostname, port: e.port, backlog: o.backlog }, () => {
      server.off("error", onError);
      const a = server.address();
      const addr: NetAddr = typeof a === "object" && a !== null
        ? { transport: "tcp", hostname: a.address, port: a.port }
        : { transport: "unix", path: e.transport === "unix" ? e.path : String(a) };
      const listener = new ConnListener(addr, {
        backlog: o.backlog,
        signal: o.signal,
        // server.close() stops accepting at once; its callback would also wait
        // for every accepted connection, which the listener does not own.
        close: () => void server.close(),
      });
      server.on(event, (socket: net.Socket) => listener.push(wrapAccepted(socket, e, o)));
      server.on("error", (error: Error) => listener.fail(toNetError(error, what)));
      resolve(listener);
    });
  });
}

/**
 * Listens for TCP connections (`hostname`, `port`; port 0 picks a free one) or
 * on a Unix socket (`path`). Resolves once bound; iterate the listener for
 * connections.
 *
 * @example
 * ```ts ignore
 * import { listen } from "weft/node";
 * await using listener = await listen({ port: 0 });
 * console.log(listener.addr.port);
 * ```
 */
export function listen(options: ListenOptions): Promise<Listener> {
  const o = resolveListenOptions(options);
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  return bind(server, o, "connection");
}

/**
 * Listens for TLS connections; each connection is yielded once its handshake
 * is done. Handshakes that fail or take longer than `handshakeTimeoutMs` are
 * dropped without disturbing the listener.
 *
 * @example
 * ```ts ignore
 * import { listenTls } from "weft/node";
 * const listener = await listenTls({ port: 8443, cert, key, alpnProtocols: ["h2", "http/1.1"] });
 * ```
 */
export function listenTls(options: TlsListenOptions): Promise<Listener> {
  const o = resolveListenOptions(options);
  const t = resolveTlsServerOptions(options);
  secureContext(t.cert, t.key); // a cert or key that OpenSSL refuses fails here, at the call
  const server = tls.createServer({
    cert: t.cert,
    key: t.key,
    ALPNProtocols: t.alpnProtocols,
    allowHalfOpen: true,
    handshakeTimeout: Number.isFinite(t.handshakeTimeoutMs) ? t.handshakeTimeoutMs : 0,
  });
  // A client that fails its handshake concerns only itself.
  server.on("tlsClientError", (_error, socket) => socket.destroy());
  return bind(server, o, "secureConnection");
}

/**
 * Upgrades a plain connection made by this adapter to TLS, on the client side
 * (the default) or the server side (`role: "server"` with `cert` and `key`).
 * The conn's streams must be unlocked; it is spent, and the TLS connection is
 * returned. Bytes already read but not taken (the peer's ClientHello arriving
 * right behind a go-ahead) go to the TLS layer first, together with
 * `leftover`.
 *
 * @example The client side of STARTTLS
 * ```ts ignore
 * import { connect, startTls } from "weft/node";
 * const plain = await connect({ hostname: "mail.example.com", port: 587 });
 * // ... say STARTTLS, read the go-ahead, release the reader and writer ...
 * const secure = await startTls(plain, { hostname: "mail.example.com" });
 * ```
 */
export function startTls(conn: Conn, options: StartTlsOptions = {}): Promise<Conn> {
  if (!(conn instanceof SocketConn) || !(conn.raw instanceof NodeSocket)) {
    throw new TypeError("Cannot start TLS: the connection was not made by weft/node");
  }
  const o = resolveStartTlsOptions(options);
  const context = o.role === "server" ? secureContext(o.server.cert, o.server.key) : undefined;
  const { raw, leftover } = conn.release();
  const { socket, buffered, onData } = raw.detach();
  const pending = [o.leftover, leftover, ...buffered].filter((b) => b.byteLength > 0);
  // With nothing buffered, TLS takes over the socket's handle directly; bytes
  // already read must reach TLS first, through a stream in front of the socket.
  const transport = pending.length === 0 ? socket : replay(socket, pending, onData);
  const remote = raw.remoteAddr;
  const what = `Cannot start TLS with "${formatAddr(remote)}"`;
  return withDeadline(
    async (signal) => {
      let secure: tls.TLSSocket;
      if (o.role === "server") {
        secure = new tls.TLSSocket(transport, {
          isServer: true,
          secureContext: context,
          ALPNProtocols: o.server.alpnProtocols,
        } as tls.TLSSocketOptions);
        await whenReady(secure, "secure", signal, what);
      } else {
        const hostname = o.hostname ?? remote.hostname;
        const serverName = o.client.serverName ?? (hostname && net.isIP(hostname) === 0 ? hostname : undefined);
        secure = tls.connect({
          socket: transport as net.Socket,
          ...tlsClientContext(o.client),
          servername: serverName,
          host: hostname,
        });
        await whenReady(secure, "secureConnect", signal, what);
      }
      if (secure.alpnProtocol === undefined) secure.alpnProtocol = false;
      return new SocketConn(new NodeSocket(secure, raw.options, [raw.localAddr, remote]), raw.options);
    },
    { signal: o.signal, timeoutMs: o.timeoutMs, what, discard: (c) => void c.close() },
  ).catch((error) => {
    socket.destroy();
    throw error;
  });
}

/** A Duplex over `socket` that first yields `first`: how bytes read before a TLS upgrade reach TLS. */
function replay(socket: net.Socket, first: Uint8Array[], onData: (listener: (chunk: Uint8Array) => void) => void): Duplex {
  const proxy = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk, _encoding, callback) {
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(error, callback) {
      socket.destroy(error ?? undefined);
      callback(error);
    },
  });
  for (const b of first) proxy.push(b);
  onData((d) => {
    if (!proxy.push(d)) socket.pause();
  });
  socket.on("end", () => proxy.push(null));
  socket.on("error", (e) => proxy.destroy(e));
  socket.on("close", () => proxy.destroy());
  return proxy;
}

({ connect, connectTls, listen, listenTls, startTls, bindUdp }) satisfies Adapter;
