import type { Codec } from "./codec.ts";
import type { ReadBuffer } from "./read_buffer.ts";
import type { WriteBuffer } from "./write_buffer.ts";

/**
 * Pass-through: every chunk of bytes received is one frame, and a frame written is
 * written as it is. For protocols without framing, and for moving a byte
 * stream through code written for frames.
 *
 * ```
 *   chunk "abc" ─▶ frame "abc"      frame "xyz" ─▶ bytes "xyz"
 * ```
 *
 * @example
 * ```ts
 * import { bytes, ReadBuffer } from "weft";
 *
 * const codec = bytes();
 * const src = new ReadBuffer();
 * src.push(new Uint8Array([1, 2, 3]));
 * console.assert(codec.decode(src)?.length === 3 && codec.decode(src) === undefined);
 * ```
 */
export function bytes(): Codec<Uint8Array> {
  return BYTES;
}

const BYTES: Codec<Uint8Array> = {
  decode(src: ReadBuffer): Uint8Array | undefined {
    return src.takeChunk();
  },
  encode(item: Uint8Array, dst: WriteBuffer): void {
    if (!(item instanceof Uint8Array)) throw new TypeError(`Cannot encode ${typeof item}: expected a Uint8Array`);
    dst.write(item);
  },
};
