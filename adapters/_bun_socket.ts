/**
 * The raw socket of weft's Bun adapter: a Bun socket as a {@link RawSocket},
 * the one set of handlers every socket shares, and the mapping of Bun's
 * errors to {@link NetError}.
 *
 * @module
 */
import type { Socket, SocketHandler } from "bun";
import {
  codeFromErrno,
  type Endpoint,
  formatAddr,
  type NetAddr,
  NetError,
  type NetErrorCode,
  type RawSocket,
  type RawSocketEvents,
  type ResolvedConnOptions,
  type TlsInfo,
  unixAddresses,
} from "../mod.ts";

export type BunSock = Socket<BunSocket>;

/** Who waits for a socket to be ready: a connect, an accept, a STARTTLS. */
export interface Waiter {
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
export const noop = (): void => {};

/**
 * A Bun socket as a {@link RawSocket}. It is the socket's `data`, so the
 * shared handlers below reach it in one property load.
 *
 * Writing: `socket.write()` takes what fits in the kernel's buffer. When it
 * takes a whole chunk (the common case) the write is done and no promise is
 * made; otherwise the rest waits in `#rest` and goes out from `drain`. Writes
 * queued behind it (SocketConn makes one at a time; the contract allows more)
 * wait in `#queue`, and a `shutdown()` waits for all of them.
 *
 * Resets: when the kernel refuses a send because the peer reset the
 * connection, Bun's `write()` returns -1 and then calls `end` and `close`
 * with no error, just as for a peer's FIN. A peer's FIN alone never makes a
 * send fail (the socket is half-open), so a -1 on a socket that we have
 * neither closed nor shut down is the reset, and the `end` after it is not.
 */
export class BunSocket implements RawSocket {
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
  #reset = false; // a send failed: the peer reset the connection
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
    if (n < 0) throw this.#sendFailed();
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
    // A reset comes as `end` then `close` in the same turn: the end waits a
    // microtask, so that a reset is reported as one and not as the peer's FIN.
    queueMicrotask(() => {
      if (!this.#reset) this.#events.end();
    });
  }

  /** Writes what waits for room: the rest of a chunk, the chunks behind it, then a FIN. */
  onDrain(): void {
    const s = this.socket;
    if (s === undefined || this.#rest === undefined) return; // Bun also calls drain when nothing waits
    while (this.#rest !== undefined) {
      const rest = this.#rest;
      const n = s.write(rest);
      if (n < 0) return this.#failWrites(this.#sendFailed());
      if (n < rest.byteLength) {
        if (n > 0) this.#rest = rest.subarray(n);
        return; // the next drain goes on
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
    // Bun keeps a socket open after the peer's FIN until we close it or send
    // ours: a close before that, with no error, is the peer's reset, which
    // Bun reports as a plain close (at other times it passes ECONNRESET).
    if (error === undefined && !this.#finSent) this.#reset = true;
    const what = `Connection to "${formatAddr(this.remoteAddr)}" failed`;
    const failure = error !== undefined ? toNetError(error, what) : this.#reset ? new NetError("connection-reset", `${what}: connection reset`) : undefined;
    // Writes waiting for room fail with what closed the connection.
    this.#failWrites(failure);
    if (failure !== undefined) this.#events.error(failure);
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

  /** The error of a write that Bun refused with -1 (`write()` and `drain` never write once we closed or shut down). */
  #sendFailed(): NetError {
    this.#reset = true;
    return new NetError("connection-reset", "Cannot write: the peer reset the connection");
  }

  #failWrites(error: NetError = closedError()): void {
    if (this.#rest === undefined) return;
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
export const handlers: SocketHandler<BunSocket> = {
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
export function toNetError(error: unknown, what: string, fallback: NetErrorCode = "unknown"): NetError {
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
