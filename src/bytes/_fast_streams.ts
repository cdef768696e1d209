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

/** What a FastWritable's default writer writes to. */
export interface FastTarget<T> {
  write(chunk: T): Promise<void>;
  readonly ready: Promise<void>;
  readonly desiredSize: number | null;
  /** Called by `writer.close()` before the platform's close: waits for queued writes. */
  closing(): Promise<void>;
}

/** A ReadableStream whose default reader reads from a {@link FastSource}. */
export class FastReadable<T> extends ReadableStream<T> {
  #fast: FastSource<T>;

  constructor(source: UnderlyingDefaultSource<T> | UnderlyingByteSource, strategy: QueuingStrategy<T> | undefined, fast: FastSource<T>) {
    super(source as UnderlyingDefaultSource<T>, strategy);
    this.#fast = fast;
  }

  override getReader(options: { mode: "byob" }): ReadableStreamBYOBReader;
  override getReader(options?: ReadableStreamGetReaderOptions): ReadableStreamDefaultReader<T>;
  override getReader(options?: ReadableStreamGetReaderOptions): ReadableStreamReader<T> {
    if (options?.mode !== undefined) return super.getReader(options as { mode: "byob" });
    return new FastReader<T>(this as ReadableStream<T>, this.#fast);
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
