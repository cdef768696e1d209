import type { Encoder } from "./codec.ts";
import { WriteBuffer } from "./write_buffer.ts";

/**
 * A `TransformStream` from frames to bytes with any {@link Encoder}: each
 * frame becomes one chunk of its own bytes. (To send many frames in few socket
 * writes, write them through `framed()`, which encodes a burst into one buffer.)
 *
 * @example Lines to bytes
 * ```ts
 * import { EncoderStream, lines } from "weft";
 *
 * const frames = ReadableStream.from(["a", "b"]);
 * const text = await new Response(frames.pipeThrough(new EncoderStream(lines()))).text();
 * console.assert(text === "a\nb\n");
 * ```
 */
export class EncoderStream<T> extends TransformStream<T, Uint8Array> {
  constructor(encoder: Encoder<T>) {
    const dst = new WriteBuffer(1024);
    super({
      transform(item, controller) {
        encoder.encode(item, dst);
        // The reader owns what it gets: a copy, and the buffer is reused.
        controller.enqueue(dst.bytes().slice());
        dst.clear();
      },
    });
  }
}
