import { NetError } from "../errors.ts";
import type { Conn } from "../bytes/conn.ts";
import { type FastTarget, RESOLVED, rejected } from "../bytes/_fast_streams.ts";
import type { Encoder } from "../codec/codec.ts";
import { WriteBuffer } from "../codec/write_buffer.ts";

/**
 * The writing engine of framed(). Frames are encoded into one buffer, which
 * leaves in one socket write at the end of the current microtask turn: every
 * frame written in the same turn (a batch of responses settling together)
 * joins it. Frames written while that write is in flight join the next
 * buffer, which leaves when the first is done. Two buffers take turns, so
 * nothing is allocated per frame.
 *
 * A write resolves once its frame is encoded and the bytes waiting are under
 * `maxBufferedWriteBytes`; past it, writes (and `ready`) wait for the
 * connection. An error of the connection rejects later writes and `close()`.
 */
export class FrameWriter<T> implements FastTarget<T> {
  #conn: Conn;
  #encoder: Encoder<T>;
  #max: number;
  #pending = new WriteBuffer();
  #spare = new WriteBuffer();
  #inflight = false;
  #scheduled = false; // a flush waits for the end of this microtask turn
  #flushSoon = () => {
    this.#scheduled = false;
    if (!this.#inflight && !this.#failed) this.#flush();
  };
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #closing = false;
  #error: unknown = undefined;
  #failed = false;
  #waiters: { resolve(): void; reject(error: unknown): void; idle: boolean }[] = [];
  /** Socket writes made, for tests and metrics. */
  writes = 0;

  constructor(conn: Conn, encoder: Encoder<T>, maxBufferedWriteBytes: number) {
    this.#conn = conn;
    this.#encoder = encoder;
    this.#max = maxBufferedWriteBytes;
  }

  write(frame: T): Promise<void> {
    if (this.#failed) return rejected(this.#error);
    if (this.#closing) return rejected(new TypeError("Cannot write: the frames' writable is closing or closed"));
    const before = this.#pending.length;
    try {
      this.#encoder.encode(frame, this.#pending);
    } catch (error) {
      // A frame the encoder refuses is this write's error alone.
      this.#pending.truncate(before);
      return rejected(error);
    }
    if (!this.#inflight && !this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flushSoon);
    }
    return this.#pending.length < this.#max ? RESOLVED : this.#wait(false);
  }

  get ready(): Promise<void> {
    if (this.#failed) return rejected(this.#error);
    return this.#pending.length < this.#max ? RESOLVED : this.#wait(false);
  }

  get desiredSize(): number | null {
    if (this.#failed) return null;
    return this.#closing ? 0 : this.#max - this.#pending.length;
  }

  /** Waits until every frame written so far has been handed to the connection. */
  async closing(): Promise<void> {
    if (this.#failed) throw this.#error;
    this.#closing = true;
    await this.idle();
  }

  /** Resolves once nothing is buffered or in flight. */
  idle(): Promise<void> {
    if (this.#failed) return rejected(this.#error);
    if (!this.#inflight && this.#pending.length === 0) return RESOLVED;
    return this.#wait(true);
  }

  /** Half-closes the connection once the frames are out. */
  async close(): Promise<void> {
    await this.idle();
    this.#writer ??= this.#conn.writable.getWriter();
    await this.#writer.close();
  }

  /** Aborts the connection's writable. */
  async abort(reason: unknown): Promise<void> {
    this.#fail(reason ?? new NetError("closed", "The frames' writable was aborted"));
    this.#writer ??= this.#conn.writable.getWriter();
    await this.#writer.abort(reason);
  }

  /** Lets go of the connection's writer (after `idle()`), for a protocol switch. */
  detach(): void {
    this.#fail(new NetError("closed", "Cannot write frames: the connection was handed over with parts()"));
    this.#writer?.releaseLock();
    this.#writer = undefined;
  }

  #flush(): void {
    const buffer = this.#pending;
    if (buffer.length === 0) return;
    this.#pending = this.#spare;
    this.#spare = buffer;
    this.#inflight = true;
    this.writes++;
    this.#writer ??= this.#conn.writable.getWriter();
    // Resolved when the runtime no longer needs the bytes: then the buffer is reused.
    const written = this.#writer.write(buffer.bytes());
    // The runtime took the bytes at once (the connection hands back its one
    // resolved promise): the buffer is free now, with no reaction to wait for.
    if (written === RESOLVED) return this.#written(buffer);
    written.then(
      () => this.#written(buffer),
      (error) => {
        this.#inflight = false;
        this.#fail(error);
      },
    );
  }

  #written(buffer: WriteBuffer): void {
    buffer.clear();
    this.#inflight = false;
    // Frames written meanwhile leave together, in one write.
    if (this.#pending.length > 0) this.#flush();
    this.#wake();
  }

  #wait(idle: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject, idle }));
  }

  #wake(): void {
    const idle = !this.#inflight && this.#pending.length === 0;
    const roomy = this.#pending.length < this.#max;
    const waiting = this.#waiters;
    this.#waiters = [];
    for (const w of waiting) {
      if (w.idle ? idle : roomy) w.resolve();
      else this.#waiters.push(w);
    }
  }

  #fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#error = error;
    const waiting = this.#waiters;
    this.#waiters = [];
    for (const w of waiting) w.reject(error);
  }
}
