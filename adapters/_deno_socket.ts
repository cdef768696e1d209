/**
 * The raw socket of weft's Deno adapter: a `Deno.Conn` as a
 * {@link RawSocket}, read only while resumed, and the mapping of Deno's
 * errors to {@link NetError}.
 *
 * @module
 */
import {
  codeFromErrno,
  formatAddr,
  type NetAddr,
  NetError,
  type NetErrorCode,
  type RawSocket,
  type RawSocketEvents,
  type ResolvedConnOptions,
  type TlsInfo,
} from "../mod.ts";

/** Bytes asked of each `conn.read()`: one typical socket read, as Deno's own `conn.readable` asks. */
const READ_BYTES = 64 * 1024;

/** A `Deno.Conn` (TCP, Unix or TLS) as a {@link RawSocket}, read only while resumed. */
export class DenoSocket implements RawSocket {
  readonly localAddr: NetAddr;
  readonly remoteAddr: NetAddr;
  readonly tls: TlsInfo | undefined;
  readonly conn: Deno.Conn;
  readonly options: ResolvedConnOptions;
  #events: RawSocketEvents | undefined;
  // One buffer for every read of this socket (allocated at the first): a
  // fresh 64 KiB per read costs three times as much on small messages.
  #scratch: Uint8Array | undefined;
  #target: Uint8Array | undefined; // the BYOB buffer the read in flight fills
  #paused = true;
  #reading = false; // a conn.read() is in flight
  #eof = false; // the end or a read error came: no more reads
  #closed = false; // destroyed, or handed over to Deno.startTls
  #lastWrite: Promise<void> | undefined;

  constructor(conn: Deno.Conn, options: ResolvedConnOptions, tls?: TlsInfo) {
    this.conn = conn;
    this.options = options;
    this.tls = tls;
    this.localAddr = netAddr(conn.localAddr);
    this.remoteAddr = netAddr(conn.remoteAddr);
  }

  /** Whether a `conn.read()` is in flight (then `Deno.startTls` cannot take the conn). */
  get reading(): boolean {
    return this.#reading;
  }

  open(events: RawSocketEvents): void {
    this.#events = events;
  }

  // A read in flight cannot be taken back: its bytes are still delivered, and
  // the conn queues them. With `readAhead: false` the conn pauses right after
  // a chunk, when no read is in flight, or when a reader gives up a pending
  // read (then startTls refuses until that read is over).
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    if (!this.#reading && !this.#eof && !this.#closed) this.#read();
  }

  // The hot path: one conn.read() promise into the reused buffer, one data
  // event; the handlers are bound once per socket.
  #read(): void {
    this.#reading = true;
    // A waiting BYOB reader's buffer is read into directly: no copy at all.
    const target = this.#events!.target();
    this.#target = target;
    this.conn.read(target ?? (this.#scratch ??= new Uint8Array(READ_BYTES))).then(this.#onRead, this.#onReadError);
  }

  #onRead = (n: number | null): void => {
    this.#reading = false;
    if (this.#closed) return;
    if (n === null) {
      this.#eof = true;
      this.#events!.end();
      return;
    }
    const target = this.#target;
    if (target !== undefined) {
      this.#target = undefined;
      this.#events!.filled(target, n);
      if (!this.#paused && !this.#reading && !this.#eof && !this.#closed) this.#read();
      return;
    }
    // Borrowed: the conn copies the bytes it keeps (into a waiting BYOB
    // reader's own buffer, when there is one), and this buffer serves the next read.
    this.#events!.data(this.#scratch!.subarray(0, n), true);
    if (!this.#paused && !this.#reading && !this.#eof && !this.#closed) this.#read();
  };

  #onReadError = (error: unknown): void => {
    this.#reading = false;
    this.#eof = true;
    if (this.#closed) return;
    this.#events!.error(toNetError(error, `Connection to "${formatAddr(this.remoteAddr)}" failed`));
  };

  write(chunk: Uint8Array): Promise<void> {
    if (this.#closed) throw new NetError("closed", "Cannot write: the connection is closed");
    // conn.write() may take part of a chunk; the rest follows before the write resolves.
    const written = this.conn.write(chunk).then(
      (n) => (n < chunk.byteLength ? this.#writeRest(chunk, n) : undefined),
      this.#onWriteError,
    );
    this.#lastWrite = written;
    return written;
  }

  async #writeRest(chunk: Uint8Array, at: number): Promise<void> {
    try {
      while (at < chunk.byteLength) {
        const n = await this.conn.write(chunk.subarray(at));
        if (n === 0) throw new NetError("broken-pipe", "Cannot write: the connection took no bytes");
        at += n;
      }
    } catch (error) {
      this.#onWriteError(error);
    }
  }

  #onWriteError = (error: unknown): never => {
    throw toNetError(error, "Cannot write", this.#closed);
  };

  async shutdown(): Promise<void> {
    // The FIN goes after the bytes: wait for the write in flight (writes are one at a time).
    await this.#lastWrite?.catch(() => {});
    if (this.#closed) throw new NetError("closed", "Cannot close the writable: the connection is closed");
    try {
      await this.conn.closeWrite();
    } catch (error) {
      throw toNetError(error, "Cannot close the writable", this.#closed);
    }
  }

  // Deno has no reset: close() sends a FIN (and Linux a reset after it when
  // unread bytes remain), so `reset` changes nothing here.
  destroy(_reset?: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#eof = true;
    this.#scratch = undefined;
    closeQuietly(this.conn);
    queueMicrotask(() => this.#events?.close());
  }

  /** Stops this socket for good and hands its conn over once the last write is through, for `Deno.startTls`. */
  async detach(): Promise<Deno.Conn> {
    this.#closed = true;
    this.#eof = true;
    await this.#lastWrite?.catch(() => {});
    return this.conn;
  }
}

export function netAddr(a: Deno.Addr): NetAddr {
  if (a.transport === "unix" || a.transport === "unixpacket") return { transport: "unix", path: a.path ?? "" };
  const { hostname, port } = a as Deno.NetAddr;
  return { transport: "tcp", hostname, port };
}


export function closeQuietly(conn: { close(): void }): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

// Deno's error classes and the NetError codes they mean.
const CODES: [new (...args: never[]) => Error, NetErrorCode][] = [
  [Deno.errors.ConnectionRefused, "connection-refused"],
  [Deno.errors.ConnectionReset, "connection-reset"],
  [Deno.errors.ConnectionAborted, "connection-aborted"],
  [Deno.errors.BrokenPipe, "broken-pipe"],
  [Deno.errors.TimedOut, "timed-out"],
  [Deno.errors.AddrInUse, "address-in-use"],
  [Deno.errors.AddrNotAvailable, "address-unavailable"],
  [Deno.errors.NetworkUnreachable, "network-unreachable"],
  [Deno.errors.NotFound, "not-found"],
  [Deno.errors.PermissionDenied, "permission-denied"],
  [Deno.errors.NotCapable, "permission-denied"],
  [Deno.errors.NotConnected, "closed"],
  [Deno.errors.BadResource, "closed"],
];

/** The NetError code of a Deno error; `closedByUs` when the conn was closed under the operation, `handshake` during TLS setup. */
export function codeOf(error: unknown, closedByUs: boolean, handshake: boolean): NetErrorCode {
  for (const [type, code] of CODES) if (error instanceof type) return code;
  if (closedByUs && error instanceof Deno.errors.Interrupted) return "closed";
  const errno = (error as { code?: unknown } | null)?.code;
  const code = codeFromErrno(typeof errno === "string" ? errno : undefined);
  if (code !== undefined) return code;
  const message = String((error as Error | null)?.message ?? error);
  // rustls: "invalid peer certificate: UnknownIssuer", "... not valid for name ...".
  if (message.startsWith("invalid peer certificate")) return "tls-certificate";
  if (message.startsWith("failed to lookup address")) return "not-found";
  return handshake ? "tls-handshake" : "unknown";
}

/** A {@link NetError} for a Deno error: `${what}: connection refused`, with the original as `cause`. */
export function toNetError(error: unknown, what: string, closedByUs = false, handshake = false): NetError {
  if (error instanceof NetError) return error;
  const message = String((error as Error | null)?.message ?? error).replace(/ \(os error \d+\)$/, "");
  // Deno's messages are sentence case; after the colon they continue ours.
  const detail = /^[A-Z][a-z]/.test(message) ? message[0]!.toLowerCase() + message.slice(1) : message;
  return new NetError(codeOf(error, closedByUs, handshake), `${what}: ${detail}`, { cause: error });
}

