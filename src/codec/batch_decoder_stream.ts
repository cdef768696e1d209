import type { Decoder } from "./codec.ts";
import { ReadBuffer } from "./read_buffer.ts";
import { decodeAll, decodeRest } from "./_frames.ts";

/**
 * A `TransformStream` from bytes to arrays of frames: every frame a chunk
 * completes comes out in one array, so a reader pays one read per chunk of
 * bytes instead of one per frame. The path dispatchers take; for a frame per
 * read use {@link DecoderStream}. A chunk that completes no frame yields
 * nothing.
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
  constructor(decoder: Decoder<T>) {
    const src = new ReadBuffer();
    super({
      transform(chunk, controller) {
        src.push(chunk);
        const frames: T[] = [];
        try {
          decodeAll(decoder, src, frames);
        } finally {
          if (frames.length > 0) controller.enqueue(frames);
        }
      },
      flush(controller) {
        const frames: T[] = [];
        try {
          decodeRest(decoder, src, frames);
        } finally {
          if (frames.length > 0) controller.enqueue(frames);
        }
      },
    });
  }
}
