import { NetError } from "../errors.ts";
import type { Conn } from "../bytes/conn.ts";
import { DONE, type FastSource, type ReadResult, rejected } from "../bytes/_fast_streams.ts";
import type { Decoder } from "../codec/codec.ts";
import { ReadBuffer } from "../codec/read_buffer.ts";
import { decodeAll, decodeRest } from "../codec/_frames.ts";

/**
 * The reading engine of framed(): a connection's chunks, a ReadBuffer and a
 * decoder. Frames are decoded on demand, one per read, so that the bytes
 * after the frame that asks for a protocol switch stay undecoded and go to
 * `parts()` as leftover; batches decode every frame a chunk completes.
 */
export class FrameReader<T> implements FastSource<T> {
  readonly src = new ReadBuffer();
  #conn: Conn;
  #decoder: Decoder<T>;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #mode: "frames" | "batches" | undefined;
  #eof = false; // the conn's readable ended
  #tail: T[] | undefined; // frames decoded at the end of the stream, not yet read
  #error: unknown = undefined; // reported once the frames before it are read
  #failed = false;
  #released = false;
  #cancelled = false; // released by a cancel: reads end rather than fail
  #pending: Promise<unknown> | undefined; // a chunk read in flight

  constructor(conn: Conn, decoder: Decoder<T>, leftover: Uint8Array | undefined) {
    this.#conn = conn;
    this.#decoder = decoder;
    if (leftover !== undefined) this.src.push(leftover);
  }

  /** One frame, the end, or the stream's error. The default reader of `readable` calls it directly. */
  read(): Promise<ReadResult<T>> {
    const stop = this.#claim("frames");
    if (stop !== undefined) return stop;
    if (!this.#eof) {
      // Fast path: the next frame is already in the buffer.
      let frame: T | undefined;
      try {
        frame = this.#decoder.decode(this.src);
      } catch (error) {
        return this.#fail(error);
      }
      if (frame !== undefined) return Promise.resolve({ done: false, value: frame });
      return this.#readMore().then(() => this.read());
    }
    return this.#fromTail();
  }

  /** The default reader of `batches` reads here. */
  readonly batchSource: FastSource<T[]> = {
    read: () => this.readBatch(),
    release: () => {},
  };

  /** Every frame the next chunk (or the buffer) completes, or the end. */
  readBatch(): Promise<ReadResult<T[]>> {
    if (this.#mode === "batches" && !this.#eof && !this.#released) {
      if (this.src.length > 0) {
        // Fast path: the buffer already holds frames (a pipelined burst).
        const frames = this.#decodeBatch();
        if (frames.length > 0 && !this.#eof) return Promise.resolve({ done: false, value: frames });
      }
      // Fast path: one read of the connection, decoded as it lands: two
      // promises per batch, where the general loop below takes several.
      if (this.#pending === undefined && this.#reader !== undefined && !this.#eof) {
        const batch = this.#reader.read().then<ReadResult<T[]>, ReadResult<T[]>>(this.#landed, this.#lost);
        this.#pending = batch;
        return batch;
      }
    }
    return this.#nextBatch();
  }

  /** A chunk the fast path read: its frames, or (none yet, the end, an error) the general loop. */
  #landed = (r: { done: boolean; value?: Uint8Array }): ReadResult<T[]> | Promise<ReadResult<T[]>> => {
    this.#pending = undefined;
    if (r.done || r.value === undefined) {
      this.#end();
      return this.#nextBatch();
    }
    this.src.push(r.value);
    const frames = this.#decodeBatch();
    if (frames.length > 0 && !this.#eof) return { done: false, value: frames };
    return this.#nextBatch();
  };

  #lost = (error: unknown): Promise<ReadResult<T[]>> => {
    this.#pending = undefined;
    this.#readFailed(error);
    return this.#nextBatch();
  };

  async #nextBatch(): Promise<ReadResult<T[]>> {
    for (;;) {
      const stop = this.#claim("batches");
      if (stop !== undefined) {
        return (await stop) as ReadResult<T[]>; // ends when cancelled; rejects when handed over or the other mode is in use
      }
      if (this.#eof) {
        const tail = this.#tail ?? [];
        this.#tail = [];
        if (tail.length > 0) return { done: false, value: tail };
        if (this.#failed) throw this.#error;
        return DONE;
      }
      const frames = this.#decodeBatch();
      if (this.#eof) continue; // corrupt: the frames before it are the tail
      if (frames.length > 0) return { done: false, value: frames };
      await this.#readMore();
    }
  }

  /** Every frame the buffer holds; a corrupt one ends the stream, the frames before it kept as its tail. */
  #decodeBatch(): T[] {
    const frames: T[] = [];
    try {
      decodeAll(this.#decoder, this.src, frames);
    } catch (error) {
      this.#error = error;
      this.#failed = true;
      this.#eof = true;
      this.#tail = frames;
    }
    return frames;
  }

  release(): void {
    // The default reader of `readable` was released; nothing waits on our side.
  }

  /** Stops reading for good, releasing the conn's reader; returns the bytes not decoded. */
  detach(): Uint8Array {
    this.#released = true;
    this.#reader?.releaseLock();
    this.#reader = undefined;
    return this.src.takeAll();
  }

  /** Cancels the conn's readable (the frames' reader went away). */
  async cancel(reason: unknown): Promise<void> {
    this.#released = true;
    this.#cancelled = true;
    if (this.#reader) await this.#reader.cancel(reason);
    else await this.#conn.readable.cancel(reason);
  }

  /** Whether a chunk read is in flight. */
  get busy(): boolean {
    return this.#pending !== undefined;
  }

  #claim(mode: "frames" | "batches"): Promise<ReadResult<T>> | undefined {
    // Cancelled, as a stream is: reads end (and one in flight ends with them).
    if (this.#cancelled) return Promise.resolve(DONE);
    if (this.#released) return rejected(new NetError("closed", "Cannot read frames: the connection was handed over with parts()"));
    if (this.#mode === undefined) this.#mode = mode;
    else if (this.#mode !== mode) {
      return rejected(new TypeError("Cannot read: readable and batches share one decoder; read from only one of them"));
    }
    return undefined;
  }

  /** Reads one chunk into the buffer; at the end, decodes what is left. */
  #readMore(): Promise<unknown> {
    this.#pending ??= (async () => {
      try {
        this.#reader ??= this.#conn.readable.getReader();
        const { value, done } = await this.#reader.read();
        if (done) this.#end();
        else this.src.push(value);
      } catch (error) {
        this.#readFailed(error);
      } finally {
        this.#pending = undefined;
      }
    })();
    return this.#pending;
  }

  /** The connection's read failed: the frames end with its error. */
  #readFailed(error: unknown): void {
    if (this.#released) return; // handed over: the read was given up on purpose
    this.#eof = true;
    this.#tail = [];
    this.#error = error;
    this.#failed = true;
  }

  #end(): void {
    this.#eof = true;
    const tail: T[] = [];
    try {
      decodeRest(this.#decoder, this.src, tail);
    } catch (error) {
      this.#error = error;
      this.#failed = true;
    }
    this.#tail = tail;
  }

  #fromTail(): Promise<ReadResult<T>> {
    const tail = this.#tail;
    if (tail !== undefined && tail.length > 0) return Promise.resolve({ done: false, value: tail.shift()! });
    if (this.#failed) return rejected(this.#error);
    return Promise.resolve(DONE);
  }

  #fail(error: unknown): Promise<never> {
    this.#eof = true;
    this.#tail = [];
    this.#error = error;
    this.#failed = true;
    return rejected(error);
  }
}
