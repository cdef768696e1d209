import type { Codec } from "./codec.ts";
import type { ReadBuffer } from "./read_buffer.ts";
import type { WriteBuffer } from "./write_buffer.ts";
import { checkInteger } from "./_text.ts";

/**
 * Frames of exactly `frameBytes` bytes each, with nothing between them: fixed-size
 * records, cells, sensor samples.
 *
 * ```
 *   frameBytes = 4
 *   | 01 02 03 04 | 05 06 07 08 | 09 0A <EOF>
 *     └ frame      └ frame       └ unexpected-eof
 * ```
 *
 * Decoding takes each frame as soon as its last byte arrives (a view of the
 * chunk when the frame sits in one). The frame size is its own limit: the
 * decoder never holds more than `frameBytes - 1` bytes plus one chunk. A
 * stream that ends inside a frame is a `FrameError` `unexpected-eof`. Encoding
 * writes the frame as it is; a frame of any other size is refused (RangeError).
 *
 * @example Four-byte records
 * ```ts
 * import { fixedLength, ReadBuffer, WriteBuffer } from "weft";
 *
 * const codec = fixedLength(4);
 * const out = new WriteBuffer();
 * codec.encode(Uint8Array.of(1, 2, 3, 4), out);
 * codec.encode(Uint8Array.of(5, 6, 7, 8), out);
 * const src = new ReadBuffer();
 * src.push(out.bytes().slice(0, 6)); // one frame and a half
 * console.assert(codec.decode(src)?.join() === "1,2,3,4" && codec.decode(src) === undefined);
 * src.push(out.bytes().slice(6));
 * console.assert(codec.decode(src)?.join() === "5,6,7,8");
 * ```
 */
export function fixedLength(frameBytes: number): Codec<Uint8Array> {
  return new FixedLengthCodec(checkInteger("frameBytes", frameBytes, "positive"));
}

class FixedLengthCodec implements Codec<Uint8Array> {
  #size: number;

  constructor(size: number) {
    this.#size = size;
  }

  decode(src: ReadBuffer): Uint8Array | undefined {
    // No decodeEof: bytes left at the end are an unexpected-eof FrameError.
    return src.length >= this.#size ? src.take(this.#size) : undefined;
  }

  encode(item: Uint8Array, dst: WriteBuffer): void {
    if (!(item instanceof Uint8Array)) throw new TypeError(`Cannot encode ${typeof item}: expected a Uint8Array`);
    if (item.byteLength !== this.#size) {
      throw new RangeError(`Cannot encode frame: ${item.byteLength} bytes instead of frameBytes ${this.#size}`);
    }
    dst.write(item);
  }
}
