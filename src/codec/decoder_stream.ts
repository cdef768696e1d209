import type { Decoder } from "./codec.ts";
import { ReadBuffer } from "./read_buffer.ts";
import { decodeAll, decodeRest } from "./_frames.ts";

/** Options of {@link DecoderStream}. */
export interface DecoderStreamOptions {
  /** Frames the stream may hold for its reader before it stops taking bytes. Default 16. */
  readableHighWaterMark?: number;
}

/**
 * A `TransformStream` from bytes to frames with any {@link Decoder}: pipe a
 * connection (or any byte stream) through it. Every frame a chunk holds is
 * decoded in one pass and enqueued; a corrupt stream errors both sides with
 * the decoder's `FrameError`; at the end, `decodeEof` says what the bytes left
 * over mean.
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
  constructor(decoder: Decoder<T>, options: DecoderStreamOptions = {}) {
    const src = new ReadBuffer();
    const frames: T[] = [];
    const flushTo = (controller: TransformStreamDefaultController<T>) => {
      for (let i = 0; i < frames.length; i++) controller.enqueue(frames[i]!);
      frames.length = 0;
    };
    super(
      {
        transform(chunk, controller) {
          src.push(chunk);
          try {
            decodeAll(decoder, src, frames);
          } finally {
            // Frames before a corrupt one are still delivered, then the error.
            flushTo(controller);
          }
        },
        flush(controller) {
          try {
            decodeRest(decoder, src, frames);
          } finally {
            flushTo(controller);
          }
        },
      },
      undefined,
      { highWaterMark: options.readableHighWaterMark ?? 16 },
    );
  }
}
