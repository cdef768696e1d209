/** Bytes a WriteBuffer starts with: room for a burst of small frames. */
export const DEFAULT_WRITE_BUFFER_BYTES = 16 * 1024;
/** Capacity `clear()` gives back beyond, so that one huge frame does not pin its memory for good. */
const RETAIN_BYTES = 1024 * 1024;

const utf8 = new TextEncoder();
/** Texts up to this many UTF-16 units are copied byte by byte while ASCII. */
const SHORT_TEXT = 64;

/**
 * One growable buffer that encoders append frames to. The framing engine
 * encodes every frame written while a socket write is in flight into it, and
 * sends the lot in one write; after the write, `clear()` makes it ready to
 * reuse, with no allocation per frame.
 *
 * @example A length-prefixed frame, the length patched in after the body
 * ```ts
 * import { WriteBuffer } from "weft";
 *
 * const buf = new WriteBuffer();
 * const at = buf.length;
 * buf.writeUint(0, 2);               // room for a 2-byte length
 * const n = buf.writeUtf8("hello");
 * buf.setUint(at, n, 2);
 * console.assert(buf.bytes().join() === "0,5,104,101,108,108,111");
 * ```
 */
export class WriteBuffer {
  #buf: Uint8Array;
  #view: DataView;
  #length = 0;
  #last: Uint8Array | undefined; // the view bytes() gave last, of #buf (dropped when #buf changes)
  #initial: number;

  constructor(initialBytes: number = DEFAULT_WRITE_BUFFER_BYTES) {
    if (!Number.isInteger(initialBytes) || initialBytes < 1) {
      throw new RangeError(`Invalid initialBytes ${initialBytes}: expected a positive integer`);
    }
    this.#initial = initialBytes;
    this.#buf = new Uint8Array(initialBytes);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Bytes written. */
  get length(): number {
    return this.#length;
  }

  /** The bytes written so far: a view, valid until the next write or `clear()`. */
  bytes(): Uint8Array {
    // The same view again while the buffer and its length are the same (a
    // server that sends the same response each time): no object per call.
    const last = this.#last;
    if (last !== undefined && last.length === this.#length) return last;
    return (this.#last = this.#buf.subarray(0, this.#length));
  }

  /** Forgets what was written; the capacity is kept (up to 1 MiB) for the next frames. */
  clear(): void {
    this.#length = 0;
    if (this.#buf.byteLength > RETAIN_BYTES) {
      this.#buf = new Uint8Array(this.#initial);
      this.#last = undefined;
      this.#view = new DataView(this.#buf.buffer);
    }
  }

  /** Drops what was written after the first `length` bytes (undoes a frame an encoder gave up on). */
  truncate(length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.#length) {
      throw new RangeError(`Invalid length ${length}: the buffer holds ${this.#length} bytes`);
    }
    this.#length = length;
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    const need = this.#length + n;
    if (need <= this.#buf.byteLength) return;
    let size = this.#buf.byteLength * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#length));
    this.#buf = next;
    this.#last = undefined;
    this.#view = new DataView(next.buffer);
  }

  /** Appends `bytes`. */
  write(bytes: Uint8Array): void {
    this.reserve(bytes.byteLength);
    this.#buf.set(bytes, this.#length);
    this.#length += bytes.byteLength;
  }

  /** Appends one byte. */
  writeByte(byte: number): void {
    this.reserve(1);
    this.#buf[this.#length++] = byte;
  }

  /** Appends `text` as UTF-8; returns the byte count. */
  writeUtf8(text: string): number {
    // At most 3 bytes per UTF-16 unit; encodeInto writes in place, no temporary.
    this.reserve(text.length * 3);
    const buf = this.#buf;
    const start = this.#length;
    let at = start;
    if (text.length <= SHORT_TEXT) {
      // A short text (a reply, a command, a header) is copied in a loop while
      // it is ASCII: a call into encodeInto costs more than that on Node.
      let i = 0;
      for (; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at++] = c;
      }
      if (i === text.length) {
        this.#length = at;
        return at - start;
      }
      text = text.slice(i);
    }
    const { written } = utf8.encodeInto(text, buf.subarray(at));
    this.#length = at + written;
    return this.#length - start;
  }

  /**
   * Appends `text` as Latin-1, one byte per UTF-16 unit (its low 8 bits): the
   * encoding of HTTP's field values, which `Headers` holds as ByteStrings.
   */
  writeLatin1(text: string): void {
    const n = text.length;
    this.reserve(n);
    const buf = this.#buf;
    let at = this.#length;
    for (let i = 0; i < n; i++) buf[at++] = text.charCodeAt(i);
    this.#length = at;
  }

  /** Appends the unsigned integer `value` in `bytes` bytes (1, 2, 3, 4 or 8), big-endian unless `littleEndian`. */
  writeUint(value: number, bytes: number, littleEndian = false): void {
    this.reserve(bytes);
    this.#length += bytes;
    this.setUint(this.#length - bytes, value, bytes, littleEndian);
  }

  /** Overwrites `bytes` bytes at `at` (already written) with `value`: a length patched in after its frame. */
  setUint(at: number, value: number, bytes: number, littleEndian = false): void {
    if (!Number.isSafeInteger(value) || value < 0 || (bytes < 8 && value >= 2 ** (8 * bytes))) {
      throw new RangeError(`Invalid value ${value}: it does not fit ${bytes} unsigned bytes`);
    }
    if (at < 0 || at + bytes > this.#length) throw new RangeError(`Invalid offset ${at} for ${bytes} bytes`);
    const v = this.#view;
    switch (bytes) {
      case 1:
        v.setUint8(at, value);
        return;
      case 2:
        v.setUint16(at, value, littleEndian);
        return;
      case 4:
        v.setUint32(at, value, littleEndian);
        return;
      case 8:
        v.setBigUint64(at, BigInt(value), littleEndian);
        return;
      case 3: {
        const hi = Math.floor(value / 65536);
        const lo = value % 65536;
        if (littleEndian) {
          v.setUint16(at, lo, true);
          v.setUint8(at + 2, hi);
        } else {
          v.setUint8(at, hi);
          v.setUint16(at + 1, lo, false);
        }
        return;
      }
      default:
        throw new RangeError(`Invalid byte count ${bytes}: expected 1, 2, 3, 4 or 8`);
    }
  }
}
