import type { Decoder } from "./codec.ts";
import { decodingStream } from "./_frame_queue.ts";

/**
 * A `TransformStream` from bytes to arrays of frames: every frame a chunk
 * completes comes out in one array, so a reader pays one read per chunk of
 * bytes instead of one per frame. The path dispatchers take; for a frame per
 * read use {@link DecoderStream}. A chunk that completes no frame yields
 * nothing. A corrupt stream errors the writable side with the decoder's
 * `FrameError`, and the readable side once the frames before it are read.
 *
 * @example Lines in batches
 * ```ts
 * import { BatchDecoderStream, lines } from "weft";
 *
 * const bytes = new Blob(["a\nb\nc"]).stream();
 * const batches: string[][] = [];
 * for await (const batch of bytes.pipeThrough(new BatchDecoderStream(lines()))) batches.push(batch);
 * console.assert(JSON.stringify(batches) === '[["a","b"],["c"]]');
 * ```
 */
export class BatchDecoderStream<T> extends TransformStream<Uint8Array, T[]> {
  #readable: ReadableStream<T[]>;

  constructor(decoder: Decoder<T>) {
    // One batch waits for its reader before the next chunk is decoded.
    const { transformer, readable } = decodingStream<T, T[]>(decoder, 1, true);
    super(transformer as Transformer<Uint8Array, T[]>, { highWaterMark: 1 }, { highWaterMark: 1 });
    this.#readable = readable;
  }

  /** The arrays of frames, one per chunk that completes any. */
  override get readable(): ReadableStream<T[]> {
    return this.#readable;
  }
}
