import { NetError } from "../errors.ts";
import type { Conn } from "./conn.ts";
import type { NetAddr } from "./net_addr.ts";
import type { RawSocket, TlsInfo } from "./raw_socket.ts";
import { ReadSide } from "./_read_side.ts";
import { WriteSide } from "./_write_side.ts";

/** Bytes read ahead of the reader before the socket is paused: one typical socket read. */
export const DEFAULT_READABLE_HIGH_WATER_MARK = 64 * 1024;
/** Bytes queued in the writable before `writer.ready` waits: one typical socket write. */
export const DEFAULT_WRITABLE_HIGH_WATER_MARK = 64 * 1024;
/** How long `close()` keeps reading after its FIN before releasing the socket. */
export const DEFAULT_LINGER_MS = 2_000;

/** Options of {@link SocketConn}. */
export interface SocketConnOptions {
  /** Bytes read ahead of the reader before reading pauses. Default 64 KiB. */
  readableHighWaterMark?: number;
  /** Bytes queued for writing before `writer.ready` waits. Default 64 KiB. */
  writableHighWaterMark?: number;
  /**
   * Whether to keep reading while no read is waiting, up to the readable
   * high-water mark. Default `true`. A runtime whose TLS upgrade needs a socket
   * that nothing is reading (Deno) turns it off: then a read is only ever in
   * flight while the reader waits for one, until the writable is closed (the
   * socket can no longer be released then, and reading ahead sees the peer's FIN).
   */
  readAhead?: boolean;
  /**
   * How long `close()` keeps the socket reading (and discarding) after its FIN,
   * waiting for the peer's. Default 2 000. Releasing a socket with unread bytes
   * makes TCP send a reset, which can destroy data the peer has not read yet;
   * lingering lets the peer finish first.
   */
  lingerMs?: number;
}

/** What {@link SocketConn.release} hands back to an adapter. */
export interface ReleasedSocket<R extends RawSocket = RawSocket> {
  /** The raw socket, paused, with no events delivered to the conn any more. */
  raw: R;
  /** Bytes read from the socket that the reader has not taken, in order. */
  leftover: Uint8Array;
}

// Lifecycle: open; lingering after close() (streams done, the socket still
// reading until the peer's FIN); closed (socket released); or released (socket
// handed over to another layer).
const OPEN = 0;
const LINGERING = 1;
const CLOSED = 2;
const RELEASED = 3;

function checkBytes(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`Invalid ${name} ${JSON.stringify(value)}: expected a positive integer of bytes`);
  }
  return value;
}

/**
 * The {@link Conn} of every socket adapter: it wires a {@link RawSocket} to a
 * `ReadableStream` and a `WritableStream` directly, with no generic converter
 * in between.
 *
 * Reading: chunks the socket delivers while a read waits go straight to it;
 * the rest wait in a queue of at most `readableHighWaterMark` bytes, after
 * which the socket is paused until the reader catches up. The bytes read but
 * not taken are always known, so {@link SocketConn.release} can hand them over
 * for a TLS upgrade. Writing: a chunk goes to `raw.write()` at once; the write
 * resolves when the runtime has taken it, so `writer.ready` reflects the
 * socket's real backpressure. The default reader and writer take these paths
 * with one promise per call; `pipeTo()` and friends use the platform's stream
 * machinery over the same queues.
 *
 * | event | readable | writable | socket |
 * |---|---|---|---|
 * | peer FIN | ends after the queued bytes | open | open until the writable closes |
 * | `writable.close()` | open | closed after queued writes | FIN sent; released once the peer's FIN came |
 * | `readable.cancel()` | done | open | read and discarded; released once both FINs are through |
 * | `writable.abort(r)` | errors with `r` | errored | reset |
 * | `close()` | done | errors with `closed` | FIN; read and discarded until the peer's FIN (at most `lingerMs`), then released |
 * | `close(r)` | errors with `r` | errors with `r` | reset |
 * | network error `e` | errors with `e` after the queued bytes | errors with `e` | released; `closed` rejects with `e` |
 *
 * @example Wrap a raw socket
 * ```ts
 * import { SocketConn, type RawSocket, type RawSocketEvents } from "weft";
 *
 * let events!: RawSocketEvents;
 * const raw: RawSocket = {
 *   localAddr: { transport: "memory" },
 *   remoteAddr: { transport: "memory" },
 *   open(e) { events = e; },
 *   pause() {}, resume() {}, write() {}, shutdown() {}, destroy() {},
 * };
 * const conn = new SocketConn(raw);
 * events.data(new TextEncoder().encode("hi"));
 * events.end();
 * console.assert(await new Response(conn.readable).text() === "hi");
 * await conn.close();
 * ```
 */
export class SocketConn<R extends RawSocket = RawSocket> implements Conn {
  readonly closed: Promise<void>;
  #raw: R;
  #read: ReadSide;
  #write: WriteSide;
  #state = OPEN;
  #writeDone = false; // FIN sent, or the writable failed
  #finSent = false;
  #lingerMs: number;
  #lingerTimer: ReturnType<typeof setTimeout> | undefined;
  #resolveClosed!: () => void;
  #rejectClosed!: (error: unknown) => void;

  constructor(raw: R, options: SocketConnOptions = {}) {
    this.#raw = raw;
    this.#lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS;
    if (typeof this.#lingerMs !== "number" || !(this.#lingerMs >= 0)) {
      throw new RangeError(`Invalid lingerMs ${this.#lingerMs}: expected a number of milliseconds, 0 or more`);
    }
    const readableHighWaterMark = checkBytes("readableHighWaterMark", options.readableHighWaterMark, DEFAULT_READABLE_HIGH_WATER_MARK);
    const writableHighWaterMark = checkBytes("writableHighWaterMark", options.writableHighWaterMark, DEFAULT_WRITABLE_HIGH_WATER_MARK);
    this.closed = new Promise<void>((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    // Nobody has to listen to `closed`: its rejection must never be unhandled.
    this.closed.catch(() => {});

    this.#read = new ReadSide(
      {
        pause: () => raw.pause(),
        resume: () => raw.resume(),
        cancelled: () => this.#cancelled(),
        ended: () => this.#maybeFinish(),
      },
      options.readAhead ?? true,
      readableHighWaterMark,
    );
    this.#write = new WriteSide(
      {
        write: (chunk) => raw.write(chunk),
        close: () => this.#closeWrite(),
        abort: (reason) => this.#abortWrite(reason),
        failed: (error) => this.#writeFailed(error),
      },
      writableHighWaterMark,
    );
    raw.open({
      data: (chunk, borrowed) => this.#read.data(chunk, borrowed),
      target: () => this.#read.target(),
      filled: (target, n) => this.#read.filled(target, n),
      end: () => this.#onEnd(),
      error: (error) => this.#onError(error),
      close: () => this.#onClose(),
    });
    this.#read.start();
  }

  /** The bytes the peer sends. */
  get readable(): ReadableStream<Uint8Array> {
    return this.#read.readable;
  }

  /** The bytes sent to the peer; `close()` on it is a half-close. */
  get writable(): WritableStream<Uint8Array> {
    return this.#write.writable;
  }

  get localAddr(): NetAddr {
    return this.#raw.localAddr;
  }

  get remoteAddr(): NetAddr {
    return this.#raw.remoteAddr;
  }

  get tls(): TlsInfo | undefined {
    return this.#raw.tls;
  }

  /** Bytes read from the socket that the reader has not taken yet. */
  get bufferedBytes(): number {
    return this.#read.bufferedBytes;
  }

  /** The raw socket underneath, for the adapter that made it. */
  get raw(): R {
    return this.#raw;
  }

  close(reason?: unknown): Promise<void> {
    if (this.#state !== OPEN) return Promise.resolve();
    if (reason !== undefined) {
      // Abortive: both streams fail with the reason and the socket is reset.
      this.#state = CLOSED;
      this.#read.stop(reason);
      this.#writeDone = true;
      this.#write.fail(reason);
      this.#raw.destroy(true);
      this.#resolveClosed();
      return Promise.resolve();
    }
    this.#read.stop();
    this.#writeDone = true;
    this.#write.fail(new NetError("closed", "Cannot write: the connection is closed"));
    this.#linger();
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Takes the raw socket back for a protocol switch such as STARTTLS, with the
   * bytes read but not yet taken. Both streams must be unlocked; they end here
   * (`closed` resolves) and the socket is paused and silent until the adapter
   * opens it again.
   */
  release(): ReleasedSocket<R> {
    if (this.#state !== OPEN) {
      throw new NetError("closed", "Cannot release the connection: it is already closed or released");
    }
    if (this.readable.locked || this.writable.locked) {
      throw new TypeError(
        "Cannot release the connection: its readable or writable is locked; release the reader and writer first",
      );
    }
    if (this.#read.done || this.#writeDone || this.#read.eof) {
      throw new NetError("closed", "Cannot release the connection: a direction is already closed");
    }
    this.#state = RELEASED;
    this.#raw.pause();
    const moved = new NetError("closed", "The connection was handed over to another layer");
    const leftover = this.#read.take(moved);
    this.#writeDone = true;
    this.#write.fail(moved);
    this.#resolveClosed();
    return { raw: this.#raw, leftover };
  }

  #onEnd(): void {
    this.#read.end();
    if (this.#state === LINGERING) this.#releaseSocket();
    else this.#maybeFinish();
  }

  #cancelled(): void {
    // Read and discard until the peer's FIN, so that the peer never stalls on us.
    if (this.#state !== OPEN) return;
    if (this.#read.eof) this.#maybeFinish();
    else this.#read.discardToEnd();
  }

  async #closeWrite(): Promise<void> {
    this.#finSent = true;
    await this.#raw.shutdown();
    this.#writeDone = true;
    // Without its writable the socket can no longer be released, so reading
    // ahead cannot get in an upgrade's way: read ahead from now on, so the
    // peer's FIN is seen (and `closed` settles) even if nobody reads.
    if (this.#state === OPEN) this.#read.enableReadAhead();
    this.#maybeFinish();
  }

  #abortWrite(reason: unknown): void {
    if (this.#state !== OPEN) return;
    this.close(reason ?? new NetError("closed", "The connection was aborted"));
  }

  #writeFailed(error: unknown): void {
    if (error instanceof NetError) {
      this.#onError(error);
    } else {
      this.#writeDone = true;
      this.#maybeFinish();
    }
  }

  #maybeFinish(): void {
    if (this.#state === OPEN && this.#writeDone && this.#read.eof) this.#releaseSocket();
  }

  /** After close(): FIN, then read and discard until the peer's FIN or lingerMs, then release. */
  #linger(): void {
    if (this.#read.eof) return this.#releaseSocket();
    this.#state = LINGERING;
    if (!this.#finSent) {
      this.#finSent = true;
      try {
        Promise.resolve(this.#raw.shutdown()).catch(() => {});
      } catch {
        // already closing: the release below covers it
      }
    }
    this.#read.discardToEnd();
    this.#lingerTimer = setTimeout(() => this.#releaseSocket(), this.#lingerMs);
  }

  #releaseSocket(): void {
    if (this.#state === CLOSED || this.#state === RELEASED) return;
    this.#state = CLOSED;
    if (this.#lingerTimer !== undefined) clearTimeout(this.#lingerTimer);
    this.#raw.destroy(false);
    this.#resolveClosed();
  }

  #onError(error: NetError): void {
    if (this.#state === LINGERING) return this.#releaseSocket();
    if (this.#state !== OPEN) return;
    this.#state = CLOSED;
    // Bytes that arrived before the error are still delivered; then the
    // reader sees the error (or the end, if the peer's FIN came first).
    this.#read.fail(error);
    this.#writeDone = true;
    this.#write.fail(error);
    this.#raw.destroy(false);
    this.#rejectClosed(error);
  }

  #onClose(): void {
    if (this.#state === LINGERING) return this.#releaseSocket();
    if (this.#state !== OPEN) return;
    // Released by the runtime without an error: the peer is gone.
    this.#read.end();
    if (!this.#writeDone) {
      this.#writeDone = true;
      this.#write.fail(new NetError("closed", "Cannot write: the connection was closed"));
    }
    this.#releaseSocket();
  }
}
