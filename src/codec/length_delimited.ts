import { FrameError } from "../errors.ts";
import type { Codec } from "./codec.ts";
import type { ReadBuffer } from "./read_buffer.ts";
import type { WriteBuffer } from "./write_buffer.ts";
import { checkInteger, checkMaxFrameBytes, show } from "./_text.ts";

/** The longest frame `lengthDelimited()` accepts: tokio-util's LengthDelimitedCodec default. */
export const DEFAULT_MAX_LENGTH_DELIMITED_BYTES = 8 * 1024 * 1024;

/** Options of {@link lengthDelimited}; all counts are in bytes. */
export interface LengthDelimitedOptions {
  /** Bytes before the length field (a version, a type). Default 0. */
  lengthFieldOffset?: number;
  /** Size of the length field: 1, 2, 3, 4 or 8. Default 4. */
  lengthFieldBytes?: 1 | 2 | 3 | 4 | 8;
  /** The length field is little-endian. Default `false` (network order). */
  littleEndian?: boolean;
  /**
   * Added to the length field's value to get the number of bytes that follow
   * the field. Default 0: the field counts the bytes after itself. A field
   * that counts the whole frame needs `-(lengthFieldOffset + lengthFieldBytes)`;
   * one that leaves out a header after it needs that header's size.
   */
  lengthAdjustment?: number;
  /** Bytes dropped from the front of each frame. Default `lengthFieldOffset + lengthFieldBytes`: the header up to the end of the length field. */
  bytesToSkip?: number;
  /** The longest frame, in bytes, as decode returns it and encode takes it (after `bytesToSkip`). Default 8 MiB. */
  maxFrameBytes?: number;
}

/**
 * Frames with a length field in their header: the knobs of tokio-util's
 * LengthDelimitedCodec and Netty's LengthFieldBasedFrameDecoder.
 *
 * ```
 *   |<- lengthFieldOffset ->|<- lengthFieldBytes ->|<-- field + lengthAdjustment -->|
 *   +-----------------------+----------------------+-------------------------------+
 *   |  header before field  |     length field     |  bytes after the field        |
 *   +-----------------------+----------------------+-------------------------------+
 *   |<------ bytesToSkip (dropped) ------>|<--------- the decoded frame ----------->|
 * ```
 *
 * The defaults read a 4-byte big-endian length and the payload after it:
 * `00 00 00 05 "hello"` is the frame `"hello"`. With `bytesToSkip: 0` the frame
 * keeps its header; with a `lengthFieldOffset` or a `lengthAdjustment` the
 * header may hold other fields too. `lengthAdjustment` counts, as Netty's does,
 * from the end of the length field; tokio's `length_adjustment` counts from
 * the end of `num_skip`, so a tokio setup reads the same frames here with
 * `lengthAdjustment = length_adjustment + num_skip - lengthFieldOffset -
 * lengthFieldBytes` (the same value whenever `num_skip` is the header).
 *
 * Decoding checks the frame size as soon as the header is in, before any of
 * the body is held: a frame over `maxFrameBytes` is a `FrameError`
 * `frame-too-large` (so is an 8-byte length past 2^53 - 1); a length that
 * leaves a negative count after the field, or a frame shorter than
 * `bytesToSkip`, is `invalid-frame`.
 *
 * Encoding writes zero bytes for the `lengthFieldOffset` header, the length
 * field, zero bytes for any skipped header after the field (`bytesToSkip`
 * beyond the field's end), then the frame, so that decoding gives the frame
 * back. That needs `bytesToSkip >= lengthFieldOffset + lengthFieldBytes`: when
 * decoded frames keep header bytes, the encoder cannot know them, and
 * `encode` throws a TypeError (encode the rest with the default `bytesToSkip`
 * instead, after writing the header). A frame over `maxFrameBytes`, one
 * whose length does not fit the field, or one too short for a positive
 * `lengthAdjustment`, is refused (RangeError).
 *
 * @example A 2-byte length at offset 1, after a version byte
 * ```ts
 * import { lengthDelimited, ReadBuffer, WriteBuffer } from "weft";
 *
 * const codec = lengthDelimited({ lengthFieldOffset: 1, lengthFieldBytes: 2 });
 * const src = new ReadBuffer();
 * src.push(Uint8Array.of(0x01, 0x00, 0x03, 0x61, 0x62, 0x63, 0x01, 0x00));
 * console.assert(new TextDecoder().decode(codec.decode(src)) === "abc");
 * console.assert(codec.decode(src) === undefined); // the next header is not in yet
 *
 * const out = new WriteBuffer();
 * codec.encode(Uint8Array.of(0x61), out);
 * console.assert(out.bytes().join() === "0,0,1,97"); // the offset byte is written as 0
 * ```
 */
export function lengthDelimited(options: LengthDelimitedOptions = {}): Codec<Uint8Array> {
  return new LengthDelimitedCodec(options);
}

const FIELD_SIZES = [1, 2, 3, 4, 8];

class LengthDelimitedCodec implements Codec<Uint8Array> {
  #offset: number;
  #fieldBytes: number;
  #littleEndian: boolean;
  #adjustment: number;
  #skip: number;
  #max: number;
  #header: number; // lengthFieldOffset + lengthFieldBytes
  #zeros: Uint8Array; // written for the header bytes the encoder does not know
  #cannotEncode: string | undefined;
  #total = -1; // wire bytes of the frame whose header is read, or -1

  constructor(options: LengthDelimitedOptions) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Invalid lengthDelimited() options: expected an object");
    }
    const fieldBytes = options.lengthFieldBytes ?? 4;
    if (!FIELD_SIZES.includes(fieldBytes)) {
      throw new RangeError(`Invalid lengthFieldBytes ${show(fieldBytes)}: expected 1, 2, 3, 4 or 8`);
    }
    const littleEndian = options.littleEndian ?? false;
    if (typeof littleEndian !== "boolean") {
      throw new TypeError(`Invalid littleEndian ${show(littleEndian)}: expected a boolean`);
    }
    this.#fieldBytes = fieldBytes;
    this.#littleEndian = littleEndian;
    this.#offset = checkInteger("lengthFieldOffset", options.lengthFieldOffset, "non-negative", 0);
    this.#adjustment = checkInteger("lengthAdjustment", options.lengthAdjustment, "any", 0);
    this.#header = this.#offset + fieldBytes;
    this.#skip = checkInteger("bytesToSkip", options.bytesToSkip, "non-negative", this.#header);
    this.#max = checkMaxFrameBytes(options.maxFrameBytes, DEFAULT_MAX_LENGTH_DELIMITED_BYTES);
    this.#zeros = new Uint8Array(Math.max(this.#offset, this.#skip - this.#header, 0));
    this.#cannotEncode = this.#skip < this.#header
      ? `Cannot encode with bytesToSkip ${this.#skip}: decoded frames keep ${this.#header - this.#skip} bytes of the ` +
        `${this.#header}-byte header, which an encoder cannot fill in; write the header, then encode the rest with the default bytesToSkip`
      : undefined;
  }

  decode(src: ReadBuffer): Uint8Array | undefined {
    let total = this.#total;
    if (total === -1) {
      if (src.length < this.#header) return undefined;
      total = this.#frameBytes(src);
    }
    if (src.length < total) {
      // The header is read once: the next chunk only compares a count.
      this.#total = total;
      return undefined;
    }
    this.#total = -1;
    // A view of the chunk when the frame sits in one.
    return src.takeAfter(this.#skip, total - this.#skip);
  }

  decodeMany(src: ReadBuffer, out: Uint8Array[]): void {
    for (let frame = this.decode(src); frame !== undefined; frame = this.decode(src)) {
      out.push(frame);
      // The frames after it that lie whole in the first chunk, in one loop.
      if (this.#fieldBytes !== 8) this.#run(src, out);
    }
  }

  encode(item: Uint8Array, dst: WriteBuffer): void {
    if (this.#cannotEncode !== undefined) throw new TypeError(this.#cannotEncode);
    if (!(item instanceof Uint8Array)) throw new TypeError(`Cannot encode ${typeof item}: expected a Uint8Array`);
    const n = item.byteLength;
    if (n > this.#max) throw new RangeError(`Cannot encode frame: ${n} bytes exceed maxFrameBytes ${this.#max}`);
    const gap = this.#skip - this.#header; // skipped bytes after the field, written as zeros
    const field = gap + n - this.#adjustment;
    if (field < 0) {
      throw new RangeError(`Cannot encode frame: ${n} bytes are fewer than lengthAdjustment ${this.#adjustment} needs`);
    }
    if (!Number.isSafeInteger(field) || (this.#fieldBytes < 8 && field >= 2 ** (8 * this.#fieldBytes))) {
      throw new RangeError(`Cannot encode frame: length ${field} does not fit lengthFieldBytes ${this.#fieldBytes}`);
    }
    dst.reserve(this.#skip + n);
    if (this.#offset > 0) dst.write(this.#zeros.subarray(0, this.#offset));
    dst.writeUint(field, this.#fieldBytes, this.#littleEndian);
    if (gap > 0) dst.write(this.#zeros.subarray(0, gap));
    dst.write(item);
  }

  /** Frames whole in the first chunk, read from it directly; stops before any other. */
  #run(src: ReadBuffer, out: Uint8Array[]): void {
    const chunk = src.peekChunk();
    if (chunk === undefined) return;
    const header = this.#header;
    const skip = this.#skip;
    let at = 0;
    try {
      while (at + header <= chunk.length) {
        const total = this.#checked(this.#field(chunk, at + this.#offset) + this.#adjustment);
        if (at + total > chunk.length) break;
        out.push(chunk.subarray(at + skip, at + total));
        at += total;
      }
    } finally {
      src.skip(at);
    }
  }

  /** The length field (of 1 to 4 bytes) at `at` in `bytes`. */
  #field(bytes: Uint8Array, at: number): number {
    const n = this.#fieldBytes;
    if (!this.#littleEndian) {
      if (n === 4) return bytes[at]! * 0x1000000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
      let value = 0;
      for (let i = 0; i < n; i++) value = value * 256 + bytes[at + i]!;
      return value;
    }
    let value = 0;
    for (let i = n - 1; i >= 0; i--) value = value * 256 + bytes[at + i]!;
    return value;
  }

  /** The wire size of the frame whose header `src` holds, checked against the format and the limit. */
  #frameBytes(src: ReadBuffer): number {
    return this.#checked(
      this.#fieldBytes === 8 ? this.#after64(src) : src.uint(this.#offset, this.#fieldBytes, this.#littleEndian) + this.#adjustment,
    );
  }

  /** The wire size of a frame with `after` bytes after its length field, checked against the format and the limit. */
  #checked(after: number): number {
    if (after < 0) {
      throw new FrameError(
        "invalid-frame",
        `Cannot decode frame: length ${after - this.#adjustment} with lengthAdjustment ${this.#adjustment} leaves ${after} bytes after the field`,
      );
    }
    // Sums of safe integers: exact up to 2^53, and beyond it never below the limit.
    const total = this.#header + after;
    if (total < this.#skip) {
      throw new FrameError("invalid-frame", `Cannot decode frame: ${total} bytes are fewer than bytesToSkip ${this.#skip}`);
    }
    if (total - this.#skip > this.#max) {
      throw new FrameError("frame-too-large", `Cannot decode frame: length ${total - this.#skip} exceeds maxFrameBytes ${this.#max}`);
    }
    return total;
  }

  /** Bytes after an 8-byte length field; a value past 2^53 - 1 is exact in BigInt, where only a large negative adjustment could save it. */
  #after64(src: ReadBuffer): number {
    const at = this.#offset;
    const le = this.#littleEndian;
    const high = src.uint(le ? at + 4 : at, 4, le);
    const low = src.uint(le ? at : at + 4, 4, le);
    if (high < 2 ** 21) return high * 2 ** 32 + low + this.#adjustment;
    const after = BigInt(high) * 2n ** 32n + BigInt(low) + BigInt(this.#adjustment);
    const frame = BigInt(this.#header) + after - BigInt(this.#skip);
    if (frame > BigInt(this.#max)) {
      throw new FrameError("frame-too-large", `Cannot decode frame: length ${frame} exceeds maxFrameBytes ${this.#max}`);
    }
    return Number(after);
  }
}
