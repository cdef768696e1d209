import { FrameError } from "../errors.ts";
import type { Codec } from "./codec.ts";
import type { ReadBuffer } from "./read_buffer.ts";
import type { WriteBuffer } from "./write_buffer.ts";
import { checkMaxFrameBytes } from "./_text.ts";

/** The longest frame `varintDelimited()` accepts: it-length-prefixed's default, which libp2p streams use. */
export const DEFAULT_MAX_VARINT_DELIMITED_BYTES = 4 * 1024 * 1024;

/** Options of {@link varintDelimited}. */
export interface VarintDelimitedOptions {
  /** The longest frame, in bytes, without its length prefix. Default 4 MiB. */
  maxFrameBytes?: number;
}

/**
 * Frames behind an unsigned LEB128 varint of their length: seven bits a byte,
 * least significant first, the high bit set on every byte but the last. The
 * framing of protobuf's delimited messages, of libp2p and multiformats
 * (`unsigned-varint`), and it-length-prefixed's default, byte for byte.
 *
 * ```
 *   +--- varint ---+---- payload ----+
 *   |    0x05      |     "hello"     |      5 < 128: one byte
 *   |  0xAC 0x02   |   300 bytes     |      300 = 0b10_0101100 → 0x80|0x2C, 0x02
 *   +--------------+-----------------+
 * ```
 *
 * The varint must be minimal, as multiformats requires (a last byte of 0x00
 * after another byte is padding), and at most 2^53 - 1, which also rules out
 * any varint of more than 8 bytes; otherwise the stream is a `FrameError`
 * `invalid-frame`. A length over `maxFrameBytes` is `frame-too-large` as soon
 * as its varint is read, before any of the payload is held. Encoding writes
 * the minimal varint and the payload; a frame over the limit is refused
 * (RangeError).
 *
 * @example A frame split anywhere
 * ```ts
 * import { ReadBuffer, varintDelimited, WriteBuffer } from "weft";
 *
 * const codec = varintDelimited();
 * const out = new WriteBuffer();
 * codec.encode(new Uint8Array(300).fill(7), out);
 * const bytes = out.bytes().slice();
 * console.assert(bytes[0] === 0xac && bytes[1] === 0x02 && bytes.length === 302);
 * const src = new ReadBuffer();
 * src.push(bytes.subarray(0, 1));
 * console.assert(codec.decode(src) === undefined); // half a varint
 * src.push(bytes.subarray(1));
 * console.assert(codec.decode(src)?.length === 300);
 * ```
 */
export function varintDelimited(options: VarintDelimitedOptions = {}): Codec<Uint8Array> {
  return new VarintDelimitedCodec(options);
}

/** A varint of 8 bytes carries 56 bits: past 2^53 - 1 if it needs a ninth byte. */
const MAX_VARINT_BYTES = 8;

class VarintDelimitedCodec implements Codec<Uint8Array> {
  #max: number;
  // The frame whose varint is read: its prefix size and payload length (-1:
  // none). The varint stays in src until the whole frame is taken, so src
  // always holds exactly the bytes not yet returned: the stream's end inside a
  // frame is an unexpected-eof, and a protocol switch's leftover is exact.
  #prefix = 0;
  #pending = -1;

  constructor(options: VarintDelimitedOptions) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Invalid varintDelimited() options: expected an object");
    }
    this.#max = checkMaxFrameBytes(options.maxFrameBytes, DEFAULT_MAX_VARINT_DELIMITED_BYTES);
  }

  decode(src: ReadBuffer): Uint8Array | undefined {
    if (this.#pending === -1 && !this.#readLength(src)) return undefined;
    // The next chunk only compares a count.
    if (src.length < this.#prefix + this.#pending) return undefined;
    const length = this.#pending;
    this.#pending = -1;
    src.skip(this.#prefix);
    return src.take(length);
  }

  encode(item: Uint8Array, dst: WriteBuffer): void {
    if (!(item instanceof Uint8Array)) throw new TypeError(`Cannot encode ${typeof item}: expected a Uint8Array`);
    let n = item.byteLength;
    if (n > this.#max) throw new RangeError(`Cannot encode frame: ${n} bytes exceed maxFrameBytes ${this.#max}`);
    dst.reserve(MAX_VARINT_BYTES + n);
    // Division, not shifts: lengths may pass 2^32.
    while (n >= 0x80) {
      dst.writeByte((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    dst.writeByte(n);
    dst.write(item);
  }

  /** Reads the varint at the front into #prefix and #pending; false while it is incomplete. */
  #readLength(src: ReadBuffer): boolean {
    const held = src.length;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < held; i++) {
      const b = src.byteAt(i);
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (b === 0 && i > 0) {
          throw new FrameError("invalid-frame", `Cannot decode varint: ${i + 1} bytes where ${i} would do`);
        }
        // Sums stay exact up to 2^53; beyond it they round, never below 2^53.
        if (value > Number.MAX_SAFE_INTEGER) {
          throw new FrameError("invalid-frame", `Cannot decode varint: its value exceeds 2^53 - 1`);
        }
        if (value > this.#max) {
          throw new FrameError("frame-too-large", `Cannot decode frame: length ${value} exceeds maxFrameBytes ${this.#max}`);
        }
        this.#prefix = i + 1;
        this.#pending = value;
        return true;
      }
      if (i + 1 === MAX_VARINT_BYTES) {
        throw new FrameError("invalid-frame", `Cannot decode varint: more than ${MAX_VARINT_BYTES} bytes, so over 2^53 - 1`);
      }
      scale *= 0x80;
    }
    return false;
  }
}
