import type { ReadBuffer } from "./read_buffer.ts";
import type { WriteBuffer } from "./write_buffer.ts";

/**
 * Turns bytes into frames. `decode` has three outcomes, as in tokio-util:
 * a frame (taken from `src`), `undefined` (need more bytes; `src` is left as
 * it is, or partly consumed if the codec keeps state), or a thrown
 * {@link FrameError} (the stream is corrupt). It is synchronous and never
 * touches I/O, so a decoder is tested with a bare {@link ReadBuffer}.
 *
 * A decoder holds the state of one stream (how far it has searched, whether it
 * is skipping an oversize frame): make one per connection.
 *
 * @example A decoder of 2-byte big-endian numbers
 * ```ts
 * import { type Decoder, ReadBuffer } from "weft";
 *
 * const u16: Decoder<number> = {
 *   decode(src) {
 *     if (src.length < 2) return undefined;
 *     const n = src.uint(0, 2);
 *     src.skip(2);
 *     return n;
 *   },
 * };
 * const buf = new ReadBuffer();
 * buf.push(new Uint8Array([1, 0, 0]));
 * console.assert(u16.decode(buf) === 256 && u16.decode(buf) === undefined);
 * ```
 */
export interface Decoder<T> {
  /** The next frame, or `undefined` when more bytes are needed; throws `FrameError` on corrupt input. */
  decode(src: ReadBuffer): T | undefined;
  /**
   * Called at the end of the stream, until it returns `undefined`: what the
   * bytes left over mean (a final unterminated line). Without it, bytes left
   * over are an `unexpected-eof` FrameError.
   */
  decodeEof?(src: ReadBuffer): T | undefined;
  /**
   * Optional, for speed: appends every frame `src` holds to `out`, exactly
   * the frames repeated `decode` calls would give (and throws as they would,
   * after appending the frames before the corrupt one). DecoderStream, the
   * batches of framed() and the dispatchers use it when it is there; a codec
   * implements it to run one tight loop over a chunk instead of a call per
   * frame.
   */
  decodeMany?(src: ReadBuffer, out: T[]): void;
}

/**
 * Turns frames into bytes, appended to a shared {@link WriteBuffer}, so that
 * a burst of frames leaves in one write. Throws `RangeError` or `TypeError` for
 * a frame it cannot encode (too large, wrong type).
 */
export interface Encoder<T> {
  /** Appends the bytes of `item` to `dst`. */
  encode(item: T, dst: WriteBuffer): void;
}

/**
 * A {@link Decoder} and an {@link Encoder} for one protocol: `In` is what is
 * read, `Out` what is written (often the same).
 *
 * @example Using a codec with a bare buffer
 * ```ts
 * import { lines, ReadBuffer, WriteBuffer } from "weft";
 *
 * const codec = lines();
 * const out = new WriteBuffer();
 * codec.encode("hello", out);
 * const src = new ReadBuffer();
 * src.push(out.bytes().slice());
 * console.assert(codec.decode(src) === "hello");
 * ```
 */
export interface Codec<In, Out = In> extends Decoder<In>, Encoder<Out> {}
