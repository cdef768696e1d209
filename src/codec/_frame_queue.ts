import { DONE, FastReadable, type FastSource, type ReadResult, rejected } from "../bytes/_fast_streams.ts";
import type { Decoder } from "./codec.ts";
import { ReadBuffer } from "./read_buffer.ts";
import { decodeAll, decodeRest } from "./_frames.ts";

const OPEN = 0;
const CLOSED = 1; // no more items will come
const ERRORED = 2; // after the items held, reads fail
const CANCELLED = 3; // the reader went away: items dropped, reads end

interface Waiter<T> {
  resolve(result: ReadResult<T>): void;
  reject(error: unknown): void;
}

/**
 * The readable side of DecoderStream and BatchDecoderStream: a queue that
 * the transform appends decoded items to (`items`, pushed in place by
 * decodeAll) and that the stream's default reader takes from directly, one
 * resolved promise per item, without the platform's per-chunk algorithms.
 * The transform waits (`pushed()` returns a promise) while the reader is
 * `highWaterMark` items behind: that promise is the backpressure the
 * writable side passes upstream.
 *
 * Items decoded before a corrupt frame are read before the error: the
 * platform's own readable would drop them when it errors.
 */
export class FrameQueue<T> implements FastSource<T> {
  /** The queue; items before `#head` are taken. The transform pushes here, then calls `pushed()`. */
  readonly items: T[] = [];
  #head = 0;
  #highWaterMark: number;
  #state = OPEN;
  #error: unknown = undefined;
  #waiters: Waiter<T>[] = [];
  #space: (() => void) | undefined;

  constructor(highWaterMark: number) {
    this.#highWaterMark = highWaterMark;
  }

  /** A FastReadable over this queue: its default reader reads here; pipes and other readers go through `pull`. */
  readable(onCancel: (reason: unknown) => void): ReadableStream<T> {
    return new FastReadable<T>(
      {
        pull: async (controller) => {
          const result = await this.read();
          if (result.done) controller.close();
          else controller.enqueue(result.value);
        },
        cancel: (reason) => {
          this.cancel();
          onCancel(reason);
        },
      },
      { highWaterMark: 0 },
      this,
    );
  }

  /** After items were pushed: hands them to waiting reads; a promise while the reader is behind. */
  pushed(): Promise<void> | undefined {
    this.#wake();
    if (this.#state !== OPEN || this.items.length - this.#head < this.#highWaterMark) return undefined;
    return new Promise((resolve) => (this.#space = resolve));
  }

  /** No more items: reads end once the queue is empty. */
  close(): void {
    if (this.#state === OPEN) this.#state = CLOSED;
    this.#wake();
  }

  /** The stream is corrupt: reads fail with `error` once the queue is empty. */
  fail(error: unknown): void {
    if (this.#state === OPEN) {
      this.#state = ERRORED;
      this.#error = error;
    }
    this.#wake();
  }

  /** The reader went away: drops what is queued and lets a waiting transform go on. */
  cancel(): void {
    this.#state = CANCELLED;
    this.items.length = 0;
    this.#head = 0;
    this.#wake();
  }

  read(): Promise<ReadResult<T>> {
    if (this.#head < this.items.length) return Promise.resolve({ done: false, value: this.#take() });
    if (this.#state === OPEN) return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
    return this.#state === ERRORED ? rejected(this.#error) : Promise.resolve(DONE);
  }

  release(): void {
    const waiters = this.#waiters.splice(0);
    for (const w of waiters) w.reject(new TypeError("Cannot read: the reader was released"));
  }

  #take(): T {
    const items = this.items;
    const item = items[this.#head++]!;
    if (this.#head === items.length) {
      items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= items.length) {
      // A reader that stays behind: drop the taken slots now and then.
      items.splice(0, this.#head);
      this.#head = 0;
    }
    if (this.#space !== undefined && items.length - this.#head < this.#highWaterMark) {
      const go = this.#space;
      this.#space = undefined;
      go();
    }
    return item;
  }

  #wake(): void {
    while (this.#waiters.length > 0 && this.#head < this.items.length) {
      this.#waiters.shift()!.resolve({ done: false, value: this.#take() });
    }
    if (this.#state !== OPEN) {
      if (this.#state === CANCELLED && this.#space !== undefined) {
        const go = this.#space;
        this.#space = undefined;
        go();
      }
      if (this.#head < this.items.length) return;
      const waiters = this.#waiters.splice(0);
      for (const w of waiters) {
        if (this.#state === ERRORED) w.reject(this.#error);
        else w.resolve(DONE);
      }
    }
  }
}

/**
 * The two halves of a decoding TransformStream: the transformer for its
 * writable side and, for its readable side, a FrameQueue's readable of frames
 * (or of arrays of frames, one per chunk, with `batches`). Cancelling the
 * readable errors the writable side with the reason.
 */
export function decodingStream<T, I>(decoder: Decoder<T>, highWaterMark: number, batches: boolean): {
  transformer: Transformer<Uint8Array, never>;
  readable: ReadableStream<I>;
} {
  const src = new ReadBuffer();
  const queue = new FrameQueue<I>(highWaterMark);
  let controller: TransformStreamDefaultController<never> | undefined;
  const decode = (all: (decoder: Decoder<T>, src: ReadBuffer, out: T[]) => unknown) => {
    const out = batches ? [] : (queue.items as unknown as T[]);
    let failure: { error: unknown } | undefined;
    try {
      all(decoder, src, out);
    } catch (error) {
      failure = { error };
    }
    if (batches && out.length > 0) queue.items.push(out as I);
    if (failure !== undefined) {
      queue.fail(failure.error); // read after the frames before it
      throw failure.error;
    }
  };
  return {
    transformer: {
      start: (c) => void (controller = c),
      transform(chunk) {
        src.push(chunk);
        decode(decodeAll);
        return queue.pushed();
      },
      flush() {
        decode(decodeRest);
        queue.close();
      },
    },
    readable: queue.readable((reason) => controller?.error(reason)),
  };
}
