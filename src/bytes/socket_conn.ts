import { NetError } from "../errors.ts";
import type { Conn } from "./conn.ts";
import type { NetAddr } from "./net_addr.ts";
import type { RawSocket, RawSocketEvents, TlsInfo } from "./raw_socket.ts";

/** Bytes read ahead of the reader before the socket is paused: one typical socket read. */
export const DEFAULT_READABLE_HIGH_WATER_MARK = 64 * 1024;
/** Bytes queued in the writable before `writer.ready` waits: one typical socket write. */
export const DEFAULT_WRITABLE_HIGH_WATER_MARK = 64 * 1024;

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
   * flight while the reader waits for one.
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

// Lifecycle of a SocketConn: open; lingering after close() (streams done, the
// socket still reading until the peer's FIN); closed (socket released); or
// released (socket handed over to another layer).
const OPEN = 0;
const LINGERING = 1;
const CLOSED = 2;
const RELEASED = 3;

/** How long `close()` keeps reading after its FIN before releasing the socket. */
export const DEFAULT_LINGER_MS = 2_000;

function checkHighWaterMark(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`Invalid ${name} ${JSON.stringify(value)}: expected a positive integer of bytes`);
  }
  return value;
}

/**
 * The {@link Conn} of every socket adapter: it wires a {@link RawSocket} to the
 * controllers of a `ReadableStream` and a `WritableStream` directly, with no
 * generic converter in between.
 *
 * Reading: chunks the socket delivers while a read waits are enqueued straight
 * into it; the rest wait in a queue of at most `readableHighWaterMark` bytes,
 * after which the socket is paused until the reader catches up. The stream's own
 * queue stays empty (high-water mark 0), so the bytes read but not taken are
 * always known: {@link SocketConn.release} hands them over for a TLS upgrade.
 *
 * Writing: each chunk goes to `raw.write()`; the write resolves when the runtime
 * has taken it, so `writer.ready` reflects the socket's real backpressure.
 *
 * | event | readable | writable | socket |
 * |---|---|---|---|
 * | peer FIN | ends after the queued bytes | open | open until the writable closes |
 * | `writable.close()` | open | closed after queued writes | FIN sent; released once the peer's FIN came |
 * | `readable.cancel()` | done | open | read and discarded; released once both FINs are through |
 * | `writable.abort(r)` | errors with `r` | errored | reset |
 * | `close()` | done | errors with `closed` | FIN; read and discarded until the peer's FIN (at most `lingerMs`), then released |
 * | `close(r)` | errors with `r` | errors with `r` | reset |
 * | network error `e` | errors with `e` | errors with `e` | released; `closed` rejects with `e` |
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
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly closed: Promise<void>;

  #raw: R;
  #readAhead: boolean;
  #readableHighWaterMark: number;
  #rc!: ReadableStreamDefaultController<Uint8Array>;
  #wc!: WritableStreamDefaultController;
  #resolveClosed!: () => void;
  #rejectClosed!: (error: unknown) => void;

  // Bytes read and not yet taken; #head is the first live index so that
  // taking a chunk is O(1) without Array#shift.
  #queue: (Uint8Array | undefined)[] = [];
  #head = 0;
  #queuedBytes = 0;
  #waiting = false; // a read waits and nothing was enqueued for it yet
  #paused = true; // reading starts paused: resume() asks for bytes
  #eof = false; // the peer's FIN arrived
  #readError: unknown = undefined; // reported to the reader once the queued bytes are taken
  #readDone = false; // the readable is closed, cancelled or errored
  #writeDone = false; // FIN sent, or the writable is errored
  #finSent = false;
  #lingerMs: number;
  #lingerTimer: ReturnType<typeof setTimeout> | undefined;
  #state = OPEN;

  constructor(raw: R, options: SocketConnOptions = {}) {
    this.#raw = raw;
    this.#readAhead = options.readAhead ?? true;
    this.#lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS;
    if (typeof this.#lingerMs !== "number" || !(this.#lingerMs >= 0)) {
      throw new RangeError(`Invalid lingerMs ${this.#lingerMs}: expected a number of milliseconds, 0 or more`);
    }
    this.#readableHighWaterMark = checkHighWaterMark(
      "readableHighWaterMark",
      options.readableHighWaterMark,
      DEFAULT_READABLE_HIGH_WATER_MARK,
    );
    const writableHighWaterMark = checkHighWaterMark(
      "writableHighWaterMark",
      options.writableHighWaterMark,
      DEFAULT_WRITABLE_HIGH_WATER_MARK,
    );
    this.closed = new Promise<void>((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    // Nobody has to listen to `closed`: its rejection must never be unhandled.
    this.closed.catch(() => {});

    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.#rc = c;
        },
        pull: () => this.#pull(),
        cancel: () => this.#cancelRead(),
      },
      { highWaterMark: 0 },
    );
    this.writable = new WritableStream<Uint8Array>(
      {
        start: (c) => {
          this.#wc = c;
        },
        write: (chunk) => this.#write(chunk),
        close: () => this.#closeWrite(),
        abort: (reason) => this.#abortWrite(reason),
      },
      { highWaterMark: writableHighWaterMark, size: (chunk) => chunk?.byteLength ?? 0 },
    );

    const events: RawSocketEvents = {
      data: (chunk) => this.#onData(chunk),
      end: () => this.#onEnd(),
      error: (error) => this.#onError(error),
      close: () => this.#onClose(),
    };
    raw.open(events);
    if (this.#readAhead) this.#resume();
  }

  get localAddr(): NetAddr {
    return this.#raw.localAddr;
  }

  get remoteAddr(): NetAddr {
    return this.#raw.remoteAddr;
  }

  /** Bytes read from the socket that the reader has not taken yet. */
  get bufferedBytes(): number {
    return this.#queuedBytes;
  }

  /** The raw socket underneath, for the adapter that made it. */
  get raw(): R {
    return this.#raw;
  }

  get tls(): TlsInfo | undefined {
    return this.#raw.tls;
  }

  close(reason?: unknown): Promise<void> {
    if (this.#state !== OPEN) return Promise.resolve();
    this.#dropQueue();
    if (reason !== undefined) {
      // Abortive: both streams fail with the reason and the socket is reset.
      this.#state = CLOSED;
      this.#fail(reason, reason);
      this.#raw.destroy(true);
      this.#resolveClosed();
      return Promise.resolve();
    }
    this.#fail(undefined, new NetError("closed", "Cannot write: the connection is closed"));
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
    if (this.#readDone || this.#writeDone || this.#eof) {
      throw new NetError("closed", "Cannot release the connection: a direction is already closed");
    }
    this.#state = RELEASED;
    this.#pause();
    const leftover = concat(this.#queue, this.#head, this.#queuedBytes);
    this.#dropQueue();
    this.#readDone = true;
    this.#writeDone = true;
    const moved = new NetError("closed", "The connection was handed over to another layer");
    this.#rc.error(moved);
    this.#wc.error(moved);
    this.#resolveClosed();
    return { raw: this.#raw, leftover };
  }

  #pause(): void {
    if (!this.#paused) {
      this.#paused = true;
      this.#raw.pause();
    }
  }

  #resume(): void {
    if (this.#paused) {
      this.#paused = false;
      this.#raw.resume();
    }
  }

  #pull(): void {
    if (this.#head < this.#queue.length) {
      const chunk = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined;
      this.#queuedBytes -= chunk.byteLength;
      if (this.#head === this.#queue.length) {
        this.#queue.length = 0;
        this.#head = 0;
      }
      this.#rc.enqueue(chunk);
      if (this.#head === this.#queue.length && (this.#eof || this.#readError !== undefined)) this.#endReadable();
      else if (this.#readAhead && this.#queuedBytes < this.#readableHighWaterMark) this.#resume();
      return;
    }
    if (this.#eof || this.#readError !== undefined) {
      this.#endReadable();
      return;
    }
    this.#waiting = true;
    this.#resume();
  }

  #onData(chunk: Uint8Array): void {
    if (this.#state !== OPEN) return;
    if (this.#readDone || chunk.byteLength === 0) return; // cancelled: read and discard
    if (this.#waiting) {
      // Fast path: a read waits, so the chunk goes straight to it.
      this.#waiting = false;
      this.#rc.enqueue(chunk);
      if (!this.#readAhead) this.#pause();
      return;
    }
    this.#queue.push(chunk);
    this.#queuedBytes += chunk.byteLength;
    if (!this.#readAhead || this.#queuedBytes >= this.#readableHighWaterMark) this.#pause();
  }

  #onEnd(): void {
    if (this.#state === LINGERING) {
      this.#eof = true;
      return this.#releaseSocket();
    }
    if (this.#state !== OPEN || this.#eof) return;
    this.#eof = true;
    if (!this.#readDone && this.#head === this.#queue.length) this.#endReadable();
    else this.#maybeFinish();
  }

  #endReadable(): void {
    this.#readDone = true;
    this.#waiting = false;
    if (this.#eof || this.#readError === undefined) this.#rc.close();
    else this.#rc.error(this.#readError);
    this.#maybeFinish();
  }

  #cancelRead(): void {
    this.#readDone = true;
    this.#dropQueue();
    if (this.#state !== OPEN) return;
    if (this.#eof) this.#maybeFinish();
    else this.#resume(); // read and discard until the peer's FIN, so the peer never stalls on us
  }

  #write(chunk: Uint8Array): void | Promise<void> {
    if (!(chunk instanceof Uint8Array)) {
      throw new TypeError(`Cannot write ${describe(chunk)}: expected a Uint8Array`);
    }
    if (chunk.byteLength === 0) return;
    let pending: void | Promise<void>;
    try {
      pending = this.#raw.write(chunk);
    } catch (error) {
      this.#writeFailed(error);
      throw error;
    }
    // Fast path: the runtime took the bytes at once, so no promise is made here.
    if (pending === undefined) return;
    return pending.catch((error) => {
      this.#writeFailed(error);
      throw error;
    });
  }

  #writeFailed(error: unknown): void {
    if (error instanceof NetError) {
      this.#onError(error);
    } else {
      this.#writeDone = true;
      this.#maybeFinish();
    }
  }

  async #closeWrite(): Promise<void> {
    this.#finSent = true;
    await this.#raw.shutdown();
    this.#writeDone = true;
    this.#maybeFinish();
  }

  #abortWrite(reason: unknown): void {
    if (this.#state !== OPEN) return;
    this.#writeDone = true;
    this.close(reason ?? new NetError("closed", "The connection was aborted"));
  }

  #maybeFinish(): void {
    if (this.#state === OPEN && this.#writeDone && this.#eof) this.#releaseSocket();
  }

  /** Ends the streams that are still open: the readable with `readReason` (or done), the writable with `writeReason`. */
  #fail(readReason: unknown, writeReason: unknown): void {
    if (!this.#readDone) {
      this.#readDone = true;
      this.#waiting = false;
      if (readReason === undefined) this.#rc.close();
      else this.#rc.error(readReason);
    }
    if (!this.#writeDone) {
      this.#writeDone = true;
      this.#wc.error(writeReason);
    }
  }

  /** After close(): FIN, then read and discard until the peer's FIN or lingerMs, then release. */
  #linger(): void {
    if (this.#eof) return this.#releaseSocket();
    this.#state = LINGERING;
    if (!this.#finSent) {
      this.#finSent = true;
      try {
        Promise.resolve(this.#raw.shutdown()).catch(() => {});
      } catch {
        // already closing: the release below covers it
      }
    }
    this.#resume();
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
    if (!this.#readDone) {
      // Bytes that arrived before the error are still delivered; then the
      // reader sees the error (or the end, if the peer's FIN came first).
      this.#readError = error;
      if (this.#head === this.#queue.length) this.#endReadable();
    }
    if (!this.#writeDone) {
      this.#writeDone = true;
      this.#wc.error(error);
    }
    this.#raw.destroy(false);
    this.#rejectClosed(error);
  }

  #onClose(): void {
    if (this.#state === LINGERING) return this.#releaseSocket();
    if (this.#state !== OPEN) return;
    // Released by the runtime without an error: the peer is gone.
    this.#onEnd();
    if (this.#state !== OPEN) return;
    if (!this.#writeDone) {
      this.#writeDone = true;
      this.#wc.error(new NetError("closed", "Cannot write: the connection was closed"));
    }
    this.#releaseSocket();
  }

  #dropQueue(): void {
    this.#queue.length = 0;
    this.#head = 0;
    this.#queuedBytes = 0;
  }
}

function concat(chunks: (Uint8Array | undefined)[], from: number, total: number): Uint8Array {
  if (chunks.length - from === 1) return chunks[from]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (let i = from; i < chunks.length; i++) {
    out.set(chunks[i]!, at);
    at += chunks[i]!.byteLength;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}
