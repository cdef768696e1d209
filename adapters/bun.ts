/**
 * weft's adapter for Bun: TCP, Unix sockets and TLS from `Bun.connect` and
 * `Bun.listen`, as {@link Conn}s and {@link Listener}s.
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
import type { Socket, SocketHandler, SocketListener, TCPSocketListener, TLSOptions } from "bun";
import { isIP } from "node:net";
import { createSecureContext } from "node:tls";
import {
  type Adapter,
  checkMs,
  codeFromErrno,
  type Conn,
  ConnListener,
  type ConnectOptions,
  DEFAULT_CONNECT_TIMEOUT_MS,
  type Endpoint,
  formatAddr,
  type Listener,
  type ListenOptions,
  type NetAddr,
  NetError,
  type NetErrorCode,
  type RawSocket,
  type RawSocketEvents,
  type ResolvedConnect,
  type ResolvedConnOptions,
  type ResolvedListen,
  type ResolvedTlsClient,
  resolveConnectOptions,
  resolveListenOptions,
  resolveTlsClientOptions,
  resolveTlsServerOptions,
  SocketConn,
  type StartTlsOptions,
  type TlsConnectOptions,
  type TlsInfo,
  type TlsListenOptions,
  unixAddresses,
  withDeadline,
} from "../mod.ts";

export type { Conn, ConnectOptions, Listener, ListenOptions, StartTlsOptions, TlsConnectOptions, TlsListenOptions };

type BunSock = Socket<BunSocket>;

/** Who waits for a socket to be ready: a connect, an accept, a STARTTLS. */
interface Waiter {
  resolve(raw: BunSocket): void;
  reject(error: NetError): void;
}

interface Pending {
  resolve(): void;
  reject(error: unknown): void;
}

interface Queued extends Pending {
  chunk: Uint8Array;
}

function closedError(): NetError {
  return new NetError("closed", "Cannot write: the connection is closed");
}

const NO_EVENTS: RawSocketEvents = { data() {}, target: () => undefined, filled() {}, end() {}, error() {}, close() {} };
const UNKNOWN_ADDR: NetAddr = { transport: "tcp", hostname: "", port: 0 };
const noop = () => {};
/** Where STARTTLS over bytes already read runs its socket pair. */
const LOOPBACK = "127.0.0.1";

/**
 * A Bun socket as a {@link RawSocket}. It is the socket's `data`, so the
 * shared handlers below reach it in one property load.
 *
 * Writing: `socket.write()` takes what fits in the kernel's buffer. When it
 * takes a whole chunk (the common case) the write is done and no promise is
 * made; otherwise the rest waits in `#rest` and goes out from `drain`. Writes
 * queued behind it (SocketConn makes one at a time; the contract allows more)
 * wait in `#queue`, and a `shutdown()` waits for all of them.
 */
class BunSocket implements RawSocket {
  localAddr: NetAddr = UNKNOWN_ADDR;
  remoteAddr: NetAddr = UNKNOWN_ADDR;
  tls: TlsInfo | undefined;
  socket: BunSock | undefined;
  readonly options: ResolvedConnOptions;
  readonly endpoint: Endpoint | undefined;

  #server: boolean;
  #secure: boolean; // a TLS handshake comes before the socket is ready
  #waiter: Waiter | undefined;
  #what: string;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #events: RawSocketEvents = NO_EVENTS;
  #rest: Uint8Array | undefined; // the unwritten end of the chunk being written
  #restDone: Pending | undefined;
  #queue: Queued[] | undefined; // whole chunks behind it
  #fin: Pending | undefined; // a shutdown waiting for #rest and #queue
  #flushed: Pending[] | undefined; // STARTTLS waiting for #rest and #queue
  #finSent = false;
  #closed = false; // Bun closed the socket, or we did
  #abandoned = false; // the waiter gave up before Bun opened the socket

  constructor(options: ResolvedConnOptions, endpoint: Endpoint | undefined, server: boolean, secure: boolean, what: string, waiter: Waiter | undefined) {
    this.options = options;
    this.endpoint = endpoint;
    this.#server = server;
    this.#secure = secure;
    this.#what = what;
    this.#waiter = waiter;
  }

  // ── RawSocket ──────────────────────────────────────────────────────────

  /** Delivers events to `events` from now on. Called again by STARTTLS after a release. */
  open(events: RawSocketEvents): void {
    this.#events = events;
  }

  pause(): void {
    this.socket!.pause();
  }

  resume(): void {
    this.socket!.resume();
  }

  write(chunk: Uint8Array): void | Promise<void> {
    if (this.#closed || this.#finSent) throw closedError();
    if (this.#rest !== undefined) {
      return new Promise<void>((resolve, reject) => (this.#queue ??= []).push({ chunk, resolve, reject }));
    }
    const n = this.socket!.write(chunk);
    // Fast path: the kernel took the whole chunk, so nothing waits and no promise is made.
    if (n === chunk.byteLength) return;
    if (n < 0) throw closedError();
    this.#rest = n === 0 ? chunk : chunk.subarray(n);
    return new Promise<void>((resolve, reject) => {
      this.#restDone = { resolve, reject };
    });
  }

  shutdown(): void | Promise<void> {
    if (this.#finSent) return;
    if (this.#closed) throw new NetError("closed", "Cannot close the writable: the connection is closed");
    this.#finSent = true;
    if (this.#rest === undefined) return void this.socket!.shutdown();
    // The FIN goes after the bytes still waiting for `drain`.
    return new Promise<void>((resolve, reject) => {
      this.#fin = { resolve, reject };
    });
  }

  destroy(reset = false): void {
    this.#clearTimer();
    if (this.#closed) return;
    this.#closed = true;
    this.#failWrites();
    const s = this.socket;
    if (s === undefined) return;
    // terminate() closes with SO_LINGER 0 (RST); end() closes with a FIN.
    if (reset) s.terminate();
    else s.end();
  }

  // ── Setup ──────────────────────────────────────────────────────────────

  /**
   * Takes `socket` as this one's: its addresses and TCP options (none for a
   * socket without an endpoint: STARTTLS inherits them, a socket pair has
   * none), and the handshake deadline of a server.
   */
  attach(socket: BunSock, handshakeTimeoutMs?: number): void {
    this.socket = socket;
    const e = this.endpoint;
    if (e?.transport === "unix") {
      [this.localAddr, this.remoteAddr] = unixAddresses(e.path, this.#server);
    } else if (e !== undefined) {
      this.localAddr = { transport: "tcp", hostname: socket.localAddress ?? "", port: socket.localPort ?? 0 };
      this.remoteAddr = { transport: "tcp", hostname: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 };
      socket.setNoDelay(this.options.noDelay);
      if (this.options.keepAlive) socket.setKeepAlive(true);
    }
    if (handshakeTimeoutMs !== undefined && Number.isFinite(handshakeTimeoutMs)) {
      this.#timer = setTimeout(() => this.#fail(new NetError("timed-out", `${this.#what}: the TLS handshake timed out`)), handshakeTimeoutMs);
    }
  }

  /** For STARTTLS: the addresses of the plain connection it upgrades. */
  inherit(from: BunSocket): void {
    this.localAddr = from.localAddr;
    this.remoteAddr = from.remoteAddr;
  }

  /** The waiter gave up (abort, timeout): close the socket, now or when Bun opens it. */
  abandon(): void {
    if (this.#waiter === undefined) return;
    this.#waiter = undefined;
    this.#abandoned = true;
    this.#clearTimer();
    if (this.socket !== undefined) this.destroy();
  }

  /** Stops all events (the socket was handed to TLS) without closing the socket. */
  detach(): void {
    this.#events = NO_EVENTS;
    this.#closed = true;
    this.#failWrites();
  }

  #ready(): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    this.#waiter = undefined;
    this.#clearTimer();
    if (this.#secure) this.tls = { alpnProtocol: this.socket!.alpnProtocol || null };
    waiter.resolve(this);
  }

  #fail(error: NetError): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    this.#waiter = undefined;
    this.#clearTimer();
    waiter.reject(error);
    this.destroy();
  }

  /** Fails the waiter with the runtime's `error`; one without a known code in a handshake is a `tls-handshake`. */
  #failWith(error: unknown): void {
    this.#fail(toNetError(error, this.#what, this.#secure ? "tls-handshake" : "unknown"));
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  // ── Bun's handlers ─────────────────────────────────────────────────────

  onOpen(socket: BunSock, handshakeTimeoutMs?: number): void {
    this.attach(socket, handshakeTimeoutMs);
    if (this.#abandoned) return this.destroy();
    if (!this.#secure) this.#ready();
  }

  onHandshake(ok: boolean, error: Error | null): void {
    if (this.#waiter === undefined) return;
    // A client verifies the server (any authorization error is fatal); a
    // server that asked for no certificate only fails on a broken handshake.
    if (ok && (this.#server || error === null)) return this.#ready();
    this.#failWith(error ?? new Error("TLS handshake failed"));
  }

  onData(chunk: Uint8Array): void {
    this.#events.data(chunk);
  }

  onEnd(): void {
    this.#events.end();
  }

  /** Writes what waits for room: the rest of a chunk, the chunks behind it, then a FIN. */
  onDrain(): void {
    const s = this.socket;
    if (s === undefined || this.#rest === undefined) return; // Bun also calls drain when nothing waits
    while (this.#rest !== undefined) {
      const rest = this.#rest;
      const n = s.write(rest);
      if (n < rest.byteLength) {
        if (n > 0) this.#rest = rest.subarray(n);
        return; // the next drain goes on; a closed socket fails the writes in onClose
      }
      this.#restDone!.resolve();
      const next = this.#queue?.shift();
      this.#rest = next?.chunk;
      this.#restDone = next;
    }
    const fin = this.#fin;
    this.#fin = undefined;
    if (fin !== undefined) {
      s.shutdown();
      fin.resolve();
    }
    const flushed = this.#flushed;
    this.#flushed = undefined;
    if (flushed !== undefined) for (const f of flushed) f.resolve();
  }

  onClose(error: Error | undefined): void {
    this.#clearTimer();
    if (this.#waiter !== undefined) {
      this.#closed = true;
      if (error !== undefined) return this.#failWith(error);
      const during = this.#secure ? "during the TLS handshake" : "before it was ready";
      return this.#fail(new NetError("closed", `${this.#what}: the connection closed ${during}`));
    }
    if (this.#closed) return;
    this.#closed = true;
    this.#failWrites();
    if (error !== undefined) this.#events.error(toNetError(error, `Connection to "${formatAddr(this.remoteAddr)}" failed`));
    this.#events.close();
  }

  onError(error: Error): void {
    if (this.#waiter !== undefined) return this.#failWith(error);
    if (this.#closed) return;
    this.#events.error(toNetError(error, `Connection to "${formatAddr(this.remoteAddr)}" failed`));
  }

  onConnectError(error: Error): void {
    this.#closed = true;
    this.#failWith(error);
  }

  /** Settles once every byte handed to `write()` is out: nothing when none waits. */
  flushed(): Promise<void> | undefined {
    if (this.#rest === undefined) return undefined;
    return new Promise<void>((resolve, reject) => (this.#flushed ??= []).push({ resolve, reject }));
  }

  #failWrites(): void {
    if (this.#rest === undefined) return;
    const error = closedError();
    const pending = [this.#restDone, ...(this.#queue ?? []), this.#fin, ...(this.#flushed ?? [])];
    this.#rest = undefined;
    this.#restDone = undefined;
    this.#queue = undefined;
    this.#fin = undefined;
    this.#flushed = undefined;
    for (const p of pending) p?.reject(error);
  }
}

/**
 * The handlers of every socket: one set, shared, each a single call on the
 * socket's {@link BunSocket}. Listeners replace `open` to make that object.
 * (Bun's types tie handlers to the default binaryType, "buffer"; with
 * "uint8array" each chunk is a plain Uint8Array that the receiver owns.)
 */
const handlers: SocketHandler<BunSocket> = {
  binaryType: "uint8array",
  open(s) {
    s.data.onOpen(s);
  },
  handshake(s, ok, error) {
    s.data.onHandshake(ok, error);
  },
  data(s, chunk) {
    s.data.onData(chunk);
  },
  drain(s) {
    s.data.onDrain();
  },
  end(s) {
    s.data.onEnd();
  },
  close(s, error) {
    s.data.onClose(error);
  },
  error(s, error) {
    s.data.onError(error);
  },
  connectError(s, error) {
    s.data.onConnectError(error);
  },
};

// ── Errors and names ────────────────────────────────────────────────────

/** The runtime's `error` as a NetError whose message starts with `what`; `fallback` when its code says nothing weft knows. */
function toNetError(error: unknown, what: string, fallback: NetErrorCode = "unknown"): NetError {
  if (error instanceof NetError) return error;
  const e = error as { code?: unknown; message?: unknown } | null | undefined;
  const name = typeof e?.code === "string" ? e.code : undefined;
  const known = codeFromErrno(name);
  // Bun's messages for errno failures say little ("Failed to connect"): name the condition instead.
  const detail = known !== undefined && /^E(?!RR_)[A-Z0-9_]+$/.test(name!)
    ? known.replaceAll("-", " ")
    : `${String(e?.message ?? error)}${name !== undefined && known === undefined ? ` (${name})` : ""}`;
  return new NetError(known ?? fallback, `${what}: ${detail}`, { cause: error });
}


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
  const server = options.role === "server";
  const t = server ? undefined : resolveTlsClientOptions(options as TlsConnectOptions);
  const s = server ? resolveTlsServerOptions(options as TlsListenOptions) : undefined;
  const timeoutMs = checkMs("timeoutMs", options.timeoutMs, s?.handshakeTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  if (options.leftover !== undefined && !(options.leftover instanceof Uint8Array)) {
    throw new TypeError("Invalid leftover: expected a Uint8Array");
  }
  if (s) checkKeyPair(s.cert, s.key);
  const { raw, leftover } = (conn as SocketConn<BunSocket>).release();
  const first = joinBytes(options.leftover, leftover);
  const remote = raw.remoteAddr;
  const what = `Cannot start TLS with "${formatAddr(remote)}"`;
  let tls: TLSOptions;
  if (s) {
    tls = { cert: s.cert, key: s.key, ALPNProtocols: alpnWire(s.alpnProtocols) };
  } else {
    // Bun checks the certificate against serverName; an IP address is checked against the IP SANs.
    const hostname = (options as { hostname?: string }).hostname ?? remote.hostname;
    tls = tlsClientOptions(t!, t!.serverName ?? hostname);
  }
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
    { signal: options.signal, timeoutMs, what, discard: (c) => void c.close() },
  );
}

/**
 * Starts Bun's TLS on `socket` (`upgradeTLS`) for a conn with the addresses
 * and options of `plain`; `waiter` hears when the handshake is done.
 */
function upgrade(socket: BunSock, plain: BunSocket, tls: TLSOptions, server: boolean, what: string, signal: AbortSignal, waiter: Waiter): void {
  if (signal.aborted) {
    socket.terminate();
    return waiter.reject(signal.reason);
  }
  const next = new BunSocket(plain.options, undefined, server, true, what, waiter);
  next.inherit(plain);
  signal.addEventListener("abort", () => next.abandon(), { once: true });
  // Bun keeps the old handlers on a "raw" twin that taps the ciphertext: the old BunSocket ignores it.
  (socket.data as BunSocket).detach();
  try {
    // upgradeTLS calls `open` (which attaches the TLS socket to `next`) before it returns.
    const [, secure] = socket.upgradeTLS<BunSocket>({ data: next, tls, socket: handlers });
    // The plain socket was paused (SocketConn.release); the handshake needs it reading.
    secure.resume();
  } catch (error) {
    socket.terminate();
    waiter.reject(toNetError(error, what));
  }
}

/**
 * STARTTLS over bytes already read: TLS on one end of a socket pair, `first`
 * and then the connection's bytes spliced to the other end.
 */
async function spliced(plain: BunSocket, first: Uint8Array, tls: TLSOptions, server: boolean, what: string, signal: AbortSignal): Promise<Conn> {
  let pair: [BunSocket, BunSocket];
  try {
    pair = await socketPair(plain.options, what);
  } catch (error) {
    plain.destroy();
    throw error;
  }
  // Bun's TLS plays the role of the socket's side: a server on the accepted end, a client on the connecting one.
  const [near, far] = server ? pair : [pair[1], pair[0]];
  if (signal.aborted) {
    for (const r of [plain, near, far]) r.destroy();
    throw signal.reason;
  }
  const secure = new Promise<Conn>((resolve, reject) => {
    const waiter = { resolve: (r: BunSocket) => resolve(new SocketConn(r, r.options)), reject };
    upgrade(near.socket!, plain, tls, server, what, signal, waiter);
  });
  const pending = far.write(first);
  if (pending !== undefined) pending.catch(noop);
  plain.open(splice(plain, far));
  far.open(splice(far, plain));
  plain.resume();
  far.resume();
  return secure;
}

/** Events that hand what `from` reads to `to`: bytes (with backpressure), FIN, reset and close. */
function splice(from: BunSocket, to: BunSocket): RawSocketEvents {
  const resume = () => from.resume();
  return {
    // Bun hands each read over in a buffer of its own: nothing is read into a target.
    target: () => undefined,
    filled() {},
    data(chunk) {
      let pending: void | Promise<void>;
      try {
        pending = to.write(chunk);
      } catch {
        return from.destroy(true); // `to` is gone: so is what `from` carries
      }
      if (pending === undefined) return;
      from.pause();
      pending.then(resume, noop);
    },
    end: () => passFin(to, false),
    error: () => to.destroy(true),
    // Bun closes without an `end` when the FIN comes after ours: the FIN is passed on here.
    close: () => passFin(to, true),
  };
}

/** Sends a FIN on `to` after the bytes queued for it; with `release`, closes it then. */
function passFin(to: BunSocket, release: boolean): void {
  const flushed = to.flushed();
  try {
    const pending = to.shutdown();
    if (pending !== undefined) pending.catch(noop);
  } catch {
    // already closed
  }
  if (!release) return;
  if (flushed === undefined) to.destroy();
  else flushed.then(() => to.destroy(), noop);
}

/**
 * Two connected TCP sockets in this process, on the loopback interface:
 * [accepted, connecting]. TCP rather than a Unix socket, so that a reset on one
 * side is passed on as a reset. The accepted end is told from any stranger's
 * connection by its peer's port; strangers are refused.
 */
function socketPair(options: ResolvedConnOptions, what: string): Promise<[BunSocket, BunSocket]> {
  return new Promise<[BunSocket, BunSocket]>((resolve, reject) => {
    const accepted: BunSocket[] = [];
    let server: TCPSocketListener<BunSocket> | undefined;
    let connecting: BunSocket;
    const match = () => {
      const port = connecting.socket?.localPort;
      const ours = accepted.find((a) => a.socket!.remotePort === port);
      if (port === undefined || ours === undefined) return;
      server!.stop(false);
      for (const a of accepted) if (a !== ours) a.destroy(true);
      connecting.socket!.setNoDelay(true);
      connecting.socket!.pause();
      resolve([ours, connecting]);
    };
    try {
      server = Bun.listen<BunSocket>({
        hostname: LOOPBACK,
        port: 0,
        allowHalfOpen: true,
        socket: {
          ...handlers,
          open(s) {
            const raw = new BunSocket(options, undefined, true, false, what, undefined);
            s.data = raw;
            raw.attach(s);
            s.setNoDelay(true);
            s.pause(); // until the splice or the TLS takes it
            accepted.push(raw);
            match();
          },
        },
      });
      const failed = (error: NetError) => {
        server!.stop(false);
        for (const a of accepted) a.destroy(true);
        reject(error);
      };
      connecting = new BunSocket(options, undefined, false, false, what, { resolve: match, reject: failed });
      Bun.connect<BunSocket>({ hostname: LOOPBACK, port: server.port, allowHalfOpen: true, data: connecting, socket: handlers })
        .then(undefined, noop);
    } catch (error) {
      server?.stop(false);
      reject(toNetError(error, what));
    }
  });
}

function joinBytes(a: Uint8Array | undefined, b: Uint8Array): Uint8Array {
  if (a === undefined || a.byteLength === 0) return b;
  if (b.byteLength === 0) return a;
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

({ connect, connectTls, listen, listenTls, startTls }) satisfies Adapter;
