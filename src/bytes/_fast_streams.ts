/**
 * Streams whose default reader and writer take a short cut.
 *
 * `FastReadable` and `FastWritable` are real `ReadableStream` and
 * `WritableStream` subclasses: `pipeTo`, `pipeThrough`, `tee`, BYOB readers
 * and `new Response()` go through the platform's machinery over the
 * underlying source or sink. But `getReader()` and `getWriter()` return
 * genuine `ReadableStreamDefaultReader` and `WritableStreamDefaultWriter`
 * subclasses (they lock the stream; `closed`, `cancel()`, `abort()` and the
 * final `close()` are the platform's) whose `read()`, `write()`, `ready` and
 * `desiredSize` go straight to the owner's queue, with one promise per call
 * and no generic stream algorithms in between. On Node and Deno, whose
 * streams are written in JavaScript, that is three times cheaper per call.
 */

/** A read's result, in the shape every runtime's stream typings accept. */
export type ReadResult<T> = { done: false; value: T } | { done: true; value: undefined };

/** The end of a stream, as a read's result. */
export const DONE: { done: true; value: undefined } = Object.freeze({ done: true, value: undefined });

/** A resolved promise, shared: a write the runtime took at once costs no allocation. */
export const RESOLVED: Promise<void> = Promise.resolve();

/** A rejected promise that is never reported as unhandled (as the platform marks `ready`). */
export function rejected(error: unknown): Promise<never> {
  const p = Promise.reject(error);
  p.catch(() => {});
  return p;
}

/** What a FastReadable's default reader reads from. */
export interface FastSource<T> {
  /** The next chunk, the end, or the stored error. */
  read(): Promise<ReadResult<T>>;
  /** The reader was released: a pending read fails with TypeError. */
  release(): void;
}

/** A BYOB read's result: the filled part of the caller's buffer, empty at the end. */
export type ByobResult = { done: boolean; value: Uint8Array };

/** What a FastReadable's BYOB reader reads from (bytes only). */
export interface FastByobSource {
  /** Bytes copied into `view`, or read straight into it; at the end, done with an empty view. */
  readInto(view: Uint8Array): Promise<ByobResult>;
  /** Puts bytes back in front (part of an element a typed array could not take); false once the stream is over. */
  unread(bytes: Uint8Array): boolean;
  /** The reader was released: pending reads fail with TypeError. */
  release(): void;
}

/** What a FastWritable's default writer writes to. */
export interface FastTarget<T> {
  write(chunk: T): Promise<void>;
  readonly ready: Promise<void>;
  readonly desiredSize: number | null;
  /** Called by `writer.close()` before the platform's close: waits for queued writes. */
  closing(): Promise<void>;
}

/**
 * A ReadableStream whose default reader reads from a {@link FastSource}, and
 * (a byte stream given a {@link FastByobSource}) whose BYOB reader reads from that.
 */
export class FastReadable<T> extends ReadableStream<T> {
  #fast: FastSource<T>;
  #byob: FastByobSource | undefined;

  constructor(
    source: UnderlyingDefaultSource<T> | UnderlyingByteSource,
    strategy: QueuingStrategy<T> | undefined,
    fast: FastSource<T>,
    byob?: FastByobSource,
  ) {
    super(source as UnderlyingDefaultSource<T>, strategy);
    this.#fast = fast;
    this.#byob = byob;
  }

  override getReader(options: { mode: "byob" }): ReadableStreamBYOBReader;
  override getReader(options?: ReadableStreamGetReaderOptions): ReadableStreamDefaultReader<T>;
  override getReader(options?: ReadableStreamGetReaderOptions): ReadableStreamReader<T> {
    if (options?.mode === undefined) return new FastReader<T>(this as ReadableStream<T>, this.#fast);
    if (options.mode === "byob" && this.#byob !== undefined) return new FastByobReader(this as ReadableStream<T>, this.#byob);
    return super.getReader(options as { mode: "byob" });
  }

  override values(options?: { preventCancel?: boolean }): ReadableStreamAsyncIterator<T> {
    return iterate(this.getReader(), options?.preventCancel ?? false) as unknown as ReadableStreamAsyncIterator<T>;
  }

  override [Symbol.asyncIterator](options?: { preventCancel?: boolean }): ReadableStreamAsyncIterator<T> {
    return this.values(options);
  }
}

/** Async iteration over a reader, with the spec's cancel-on-break and release-on-end. */
async function* iterate<T>(reader: ReadableStreamDefaultReader<T>, preventCancel: boolean): AsyncGenerator<T, undefined> {
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        return undefined;
      }
      yield value;
    }
  } catch (error) {
    finished = true;
    throw error;
  } finally {
    if (!finished && !preventCancel) await reader.cancel();
    reader.releaseLock();
  }
}

class FastReader<T> extends ReadableStreamDefaultReader<T> {
  #fast: FastSource<T>;
  #released = false;

  constructor(stream: ReadableStream<T>, fast: FastSource<T>) {
    super(stream);
    this.#fast = fast;
  }

  override read(): Promise<ReadResult<T>> {
    if (this.#released) return rejected(new TypeError("Cannot read: the reader was released"));
    return this.#fast.read();
  }

  override releaseLock(): void {
    if (!this.#released) {
      this.#released = true;
      this.#fast.release();
    }
    super.releaseLock();
  }
}

/**
 * A BYOB reader that fills the caller's buffer from the source's queue, or
 * lets the socket read straight into it, with one promise per read. Unlike
 * the platform's, it does not transfer the buffer: the result is a view of
 * the same ArrayBuffer, and the caller must leave the buffer alone while a
 * read is pending (as code written for transferred buffers does anyway).
 * Typed arrays of any element size and the `min` option take a general path
 * that reads until enough whole elements came, one such read at a time.
 */
class FastByobReader extends ReadableStreamBYOBReader {
  #fast: FastByobSource;
  #released = false;
  #tail: Promise<unknown> | undefined; // the last read on the general path, while pending: later reads wait for it

  constructor(stream: ReadableStream<unknown>, fast: FastByobSource) {
    super(stream as ReadableStream<Uint8Array<ArrayBuffer>>);
    this.#fast = fast;
  }

  // deno-lint-ignore no-explicit-any
  override read<V extends ArrayBufferView<any>>(view: V, options?: { min?: number }): Promise<ReadableStreamReadResult<V>> {
    if (this.#released) return rejected(new TypeError("Cannot read: the reader was released"));
    if (!ArrayBuffer.isView(view)) return rejected(new TypeError(`Cannot read into ${describe(view)}: expected an ArrayBufferView`));
    if (view.byteLength === 0) {
      return rejected(new TypeError("Cannot read into an empty view (or one whose buffer was detached)"));
    }
    const elementSize = (view as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
    const length = view.byteLength / elementSize;
    const min = options?.min ?? 1;
    if (!Number.isInteger(min) || min < 1) return rejected(new TypeError(`Invalid min ${String(min)}: expected a whole number, 1 or more`));
    if (min > length) return rejected(new RangeError(`Invalid min ${min}: the view holds only ${length} elements`));
    if (this.#tail === undefined && min === 1 && view instanceof Uint8Array) {
      // Fast path: one read into the caller's bytes.
      return this.#fast.readInto(view) as unknown as Promise<ReadableStreamReadResult<V>>;
    }
    const run = () => this.#readElements(view, elementSize, min);
    const reading = this.#tail === undefined ? run() : this.#tail.then(run, run);
    this.#tail = reading;
    const settled = () => {
      if (this.#tail === reading) this.#tail = undefined;
    };
    reading.then(settled, settled);
    return reading;
  }

  /** Reads until at least `min` whole elements came (or the end); bytes of a part element go back. */
  // deno-lint-ignore no-explicit-any
  async #readElements<V extends ArrayBufferView<any>>(view: V, elementSize: number, min: number): Promise<ReadableStreamReadResult<V>> {
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    let filled = 0;
    let ended = false;
    while (filled < min * elementSize) {
      if (this.#released) throw new TypeError("Cannot read: the reader was released");
      const r = await this.#fast.readInto(bytes.subarray(filled));
      if (r.done) {
        ended = true;
        break;
      }
      filled += r.value.byteLength;
    }
    const whole = filled - (filled % elementSize);
    if (whole < filled && (ended || !this.#fast.unread(bytes.slice(whole, filled)))) {
      throw new TypeError(`Cannot read: the stream ended within an element of ${elementSize} bytes`);
    }
    const Type = view.constructor as new (buffer: ArrayBufferLike, byteOffset: number, length: number) => V;
    const value = new Type(view.buffer, view.byteOffset, whole / elementSize);
    return (ended && whole === 0 ? { done: true, value } : { done: false, value }) as ReadableStreamReadResult<V>;
  }

  override releaseLock(): void {
    if (!this.#released) {
      this.#released = true;
      this.#fast.release();
    }
    super.releaseLock();
  }
}

/** How a value that is not what was expected shows in an error: its class, or its type. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}

/** A WritableStream whose default writer writes to a {@link FastTarget}. */
export class FastWritable<T> extends WritableStream<T> {
  #fast: FastTarget<T>;

  constructor(sink: UnderlyingSink<T>, strategy: QueuingStrategy<T> | undefined, fast: FastTarget<T>) {
    super(sink, strategy);
    this.#fast = fast;
  }

  override getWriter(): WritableStreamDefaultWriter<T> {
    return new FastWriter<T>(this, this.#fast);
  }
}

class FastWriter<T> extends WritableStreamDefaultWriter<T> {
  #fast: FastTarget<T>;
  #released = false;

  constructor(stream: WritableStream<T>, fast: FastTarget<T>) {
    super(stream);
    this.#fast = fast;
  }

  override write(chunk: T): Promise<void> {
    if (this.#released) return rejected(new TypeError("Cannot write: the writer was released"));
    return this.#fast.write(chunk);
  }

  override get ready(): Promise<void> {
    if (this.#released) return rejected(new TypeError("The writer was released"));
    return this.#fast.ready;
  }

  override get desiredSize(): number | null {
    if (this.#released) throw new TypeError("The writer was released");
    return this.#fast.desiredSize;
  }

  override async close(): Promise<void> {
    if (this.#released) throw new TypeError("Cannot close: the writer was released");
    await this.#fast.closing();
    return super.close();
  }

  override releaseLock(): void {
    this.#released = true;
    super.releaseLock();
  }
}
