import type { Decoder } from "./codec.ts";
import { decodingStream } from "./_frame_queue.ts";

/** Options of {@link DecoderStream}. */
export interface DecoderStreamOptions {
  /** Frames the stream may hold for its reader before it stops taking bytes. Default 16. */
  readableHighWaterMark?: number;
}

/**
 * A `TransformStream` from bytes to frames with any {@link Decoder}: pipe a
 * connection (or any byte stream) through it. Every frame a chunk holds is
 * decoded in one pass; a corrupt stream errors the writable side with the
 * decoder's `FrameError`, and the readable side with it once the frames
 * before it are read; at the end, `decodeEof` says what the bytes left over
 * mean.
 *
 * Its `readable` is a real `ReadableStream` whose default reader takes each
 * frame straight from the decoded queue, one resolved promise per read:
 * about twice as cheap per frame as a TransformStream that enqueues every
 * frame. For one read per chunk of bytes, see {@link BatchDecoderStream}.
 *
 * @example Lines from a byte stream
 * ```ts
 * import { DecoderStream, lines } from "weft";
 *
 * const bytes = new Blob(["one\ntwo\r\nthree"]).stream();
 * const got: string[] = [];
 * for await (const line of bytes.pipeThrough(new DecoderStream(lines()))) got.push(line);
 * console.assert(got.join() === "one,two,three");
 * ```
 */
export class DecoderStream<T> extends TransformStream<Uint8Array, T> {
  #readable: ReadableStream<T>;

  constructor(decoder: Decoder<T>, options: DecoderStreamOptions = {}) {
    const highWaterMark = options.readableHighWaterMark ?? 16;
    if (!Number.isSafeInteger(highWaterMark) || highWaterMark < 1) {
      throw new RangeError(`Invalid readableHighWaterMark ${String(highWaterMark)}: expected a positive integer of frames`);
    }
    const { transformer, readable } = decodingStream<T, T>(decoder, highWaterMark, false);
    // The platform's own readable side is never read: a high-water mark of 1
    // keeps it from holding back the writable side.
    super(transformer as Transformer<Uint8Array, T>, { highWaterMark: 1 }, { highWaterMark: 1 });
    this.#readable = readable;
  }

  /** The frames. */
  override get readable(): ReadableStream<T> {
    return this.#readable;
  }
}
