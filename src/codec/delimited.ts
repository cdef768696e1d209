import { FrameError } from "../errors.ts";
import type { Codec } from "./codec.ts";
import type { ReadBuffer } from "./read_buffer.ts";
import type { WriteBuffer } from "./write_buffer.ts";
import { checkChoice, checkMaxFrameBytes, decodeUtf8 } from "./_text.ts";

/** The longest frame `delimited()` accepts, without delimiters: the same bound as lines(), for the same kind of protocols. */
export const DEFAULT_MAX_DELIMITED_BYTES = 64 * 1024;

/** Options of {@link delimited}. */
export interface DelimitedOptions {
  /** What ends a frame: one or more non-empty strings (as UTF-8) or byte sequences. */
  delimiters: readonly (string | Uint8Array)[];
  /**
   * Where the delimiter goes: `"discard"` (default) drops it; `"suffix"` keeps
   * it at the end of the frame it ends; `"prefix"` keeps it at the start of
   * the next frame (the first frame has none).
   */
  keep?: "discard" | "suffix" | "prefix";
  /** The longest frame, in bytes, not counting delimiters. Default 64 KiB. */
  maxFrameBytes?: number;
  /** Frames as bytes (`"bytes"`, default) or as strings (`"text"`; invalid UTF-8 is a FrameError). */
  as?: "text" | "bytes";
}

/**
 * Frames that end at any of several delimiters. Where delimiters overlap, the
 * one that starts first ends the frame, and of those starting at the same
 * byte the longest. The last frame may end with the stream instead.
 *
 * ```
 *   delimiters ["\r\n", "\n"], the stream  "a\r\n" "b\n" "c"<EOF>
 *   keep "discard"                          "a"     "b"   "c"
 *   keep "suffix"                           "a\r\n" "b\n" "c"
 *   keep "prefix"                           "a"  "\r\nb"  "\nc"
 * ```
 *
 * Decoding searches each delimiter once over the bytes: a search that finds
 * none remembers how far it went, a delimiter found beyond the frame is
 * remembered for the frames after it, so a frame split into many chunks
 * costs one pass per delimiter. A decision waits while a longer delimiter
 * could still match (`"\r"` then, in the next chunk, `"\n"`); so the frames
 * never depend on where the chunks split. A frame longer than
 * `maxFrameBytes` is a `FrameError` `frame-too-large` as soon as more than the
 * limit (plus a partial delimiter) is held, so memory stays within the limit
 * plus one chunk.
 *
 * Encoding gives back what decoding takes apart. `"discard"` appends the first
 * delimiter; `"suffix"` writes the frame, which ends with its delimiter;
 * `"prefix"` writes the frame, which after the first one starts with its
 * delimiter (an encoder is per stream: it knows which frame is first; a lone
 * empty first frame writes nothing, and decodes to no frame). A frame the
 * decoder would split differently is refused (RangeError): one with a
 * delimiter inside, one whose end could join the next frame's bytes into a
 * delimiter, one over the limit. In `"discard"` mode that rules out every
 * frame when the first delimiter begins a longer one (list the longer one
 * first): `encode` then throws a TypeError.
 *
 * @example Records ended by ";" or "\n", the delimiter kept
 * ```ts
 * import { DecoderStream, delimited } from "weft";
 *
 * const bytes = new Blob(["a=1;b=2\nc=3"]).stream();
 * const codec = delimited({ delimiters: [";", "\n"], keep: "suffix", as: "text" });
 * const got: string[] = [];
 * for await (const frame of bytes.pipeThrough(new DecoderStream(codec))) got.push(frame);
 * console.assert(JSON.stringify(got) === '["a=1;","b=2\\n","c=3"]');
 * ```
 */
export function delimited(options: DelimitedOptions & { as: "text" }): Codec<string>;
export function delimited(options: DelimitedOptions & { as?: "bytes" }): Codec<Uint8Array>;
export function delimited(options: DelimitedOptions): Codec<string | Uint8Array>;
export function delimited(options: DelimitedOptions): Codec<string | Uint8Array> {
  return new DelimitedCodec(options);
}

const KEEP = ["discard", "suffix", "prefix"] as const;
/** A remembered position that fell inside taken bytes: search again from the frame's start. */
const STALE = -2;
const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();

class DelimitedCodec implements Codec<string | Uint8Array> {
  #delims: Uint8Array[];
  #names: string[]; // each delimiter as the caller gave it, for messages
  #longest: number;
  #keep: (typeof KEEP)[number];
  #text: boolean;
  #max: number;
  // Decoding: per delimiter, its first position at or after the frame's
  // search start, or -1 (none starts before #scanned), or STALE.
  #found: number[];
  #scanned = 0;
  #prefix = 0; // keep "prefix": the held delimiter that starts this frame
  // Encoding.
  #started = false; // keep "prefix": the first frame is written
  #cannotEncode: string | undefined;

  constructor(options: DelimitedOptions) {
    if (typeof options !== "object" || options === null) throw new TypeError("Invalid delimited() options: expected an object");
    const list: unknown = options.delimiters;
    if (!Array.isArray(list) || list.length === 0) {
      throw new TypeError(`Invalid delimiters ${describe(list)}: expected a non-empty array of strings or Uint8Arrays`);
    }
    this.#names = list.map(describe);
    this.#delims = list.map((d: unknown, i) => {
      const bytes = typeof d === "string" ? utf8.encode(d) : d instanceof Uint8Array ? d.slice() : undefined;
      if (bytes === undefined) throw new TypeError(`Invalid delimiters[${i}] ${describe(d)}: expected a string or a Uint8Array`);
      if (bytes.byteLength === 0) throw new RangeError(`Invalid delimiters[${i}] ${describe(d)}: expected at least one byte`);
      return bytes;
    });
    this.#longest = Math.max(...this.#delims.map((d) => d.byteLength));
    this.#found = this.#delims.map(() => -1);
    this.#keep = checkChoice("keep", options.keep, KEEP, "discard");
    this.#max = checkMaxFrameBytes(options.maxFrameBytes, DEFAULT_MAX_DELIMITED_BYTES);
    this.#text = checkChoice("as", options.as, ["text", "bytes"], "bytes") === "text";
    const longer = this.#keep === "discard" ? this.#extends(0) : -1;
    this.#cannotEncode = longer === -1 ? undefined : `Cannot encode with keep "discard": the first delimiter ${this.#names[0]} begins ` +
      `the longer ${this.#names[longer]}, which the next frame's first bytes could complete; list the longer delimiter first`;
  }

  decode(src: ReadBuffer): string | Uint8Array | undefined {
    return this.#next(src, false);
  }

  decodeEof(src: ReadBuffer): string | Uint8Array | undefined {
    if (src.length === 0) return undefined;
    const frame = this.#next(src, true);
    if (frame !== undefined) return frame;
    // What is left is the last frame, ended by the stream.
    const content = src.length - this.#prefix;
    if (content > this.#max) throw this.#tooLarge(content, true);
    const last = src.take(src.length);
    this.#found.fill(-1);
    this.#scanned = 0;
    this.#prefix = 0;
    return this.#frame(last);
  }

  encode(item: string | Uint8Array, dst: WriteBuffer): void {
    const bytes = typeof item === "string" ? utf8.encode(item) : item instanceof Uint8Array ? item : undefined;
    if (bytes === undefined) throw new TypeError(`Cannot encode ${typeof item}: expected a string or a Uint8Array`);
    if (this.#keep === "discard") {
      if (this.#cannotEncode !== undefined) throw new TypeError(this.#cannotEncode);
      this.#checkContent(bytes.byteLength);
      const d = this.#delims[0]!;
      this.#refuseSplit(bytes, d, 0, bytes.byteLength);
      dst.reserve(bytes.byteLength + d.byteLength);
      dst.write(bytes);
      dst.write(d);
      return;
    }
    if (this.#keep === "suffix") {
      const i = this.#longestMatch(bytes, (d) => endsWith(bytes, d));
      if (i === -1) throw new RangeError("Cannot encode frame: with keep \"suffix\", a frame ends with a delimiter");
      const end = bytes.byteLength - this.#delims[i]!.byteLength;
      this.#checkContent(end);
      const longer = this.#extends(i);
      if (longer !== -1) {
        throw new RangeError(`Cannot encode frame: its delimiter ${this.#names[i]} begins ${this.#names[longer]}, which the next frame could complete`);
      }
      this.#refuseSplit(bytes, EMPTY, 0, end);
    } else {
      let start = 0;
      if (this.#started) {
        const i = this.#longestMatch(bytes, (d) => endsWith(bytes.subarray(0, d.byteLength), d));
        if (i === -1) throw new RangeError("Cannot encode frame: with keep \"prefix\", every frame after the first starts with a delimiter");
        start = this.#delims[i]!.byteLength;
        // A longer delimiter that the frame's bytes begin, and the next frame could complete.
        this.#refuseSplit(bytes, EMPTY, 0, 1, start);
      }
      this.#checkContent(bytes.byteLength - start);
      this.#refuseSplit(bytes, EMPTY, start, bytes.byteLength);
      this.#started = true;
    }
    dst.write(bytes);
  }

  /** Finds where the frame ends and takes it; `undefined` while that is not decided. */
  #next(src: ReadBuffer, eof: boolean): string | Uint8Array | undefined {
    const delims = this.#delims;
    const found = this.#found;
    const start = this.#prefix;
    const from = Math.max(this.#scanned, start);
    let at = -1;
    let size = 0;
    for (let i = 0; i < delims.length; i++) {
      const d = delims[i]!;
      let f = found[i]!;
      // Each delimiter is searched from where its last search ended: no byte twice.
      if (f < 0) found[i] = f = src.indexOfSequence(d, f === STALE ? start : from);
      if (f !== -1 && (at === -1 || f < at || (f === at && d.byteLength > size))) {
        at = f;
        size = d.byteLength;
      }
    }
    const held = src.length;
    // A delimiter not found may still start in the last bytes, completed by the next chunk.
    this.#scanned = Math.max(start, held - this.#longest + 1);
    if (at === -1 || (!eof && at + this.#longest > held && this.#mayGrow(src, start, at))) {
      const atLeast = held - this.#longest + 1 - start;
      if (atLeast > this.#max) throw this.#tooLarge(atLeast, false);
      return undefined;
    }
    if (at - start > this.#max) throw this.#tooLarge(at - start, true);
    let frame: Uint8Array;
    let taken = at + size;
    let prefix = 0;
    if (this.#keep === "discard") {
      frame = src.take(at);
      src.skip(size);
    } else if (this.#keep === "suffix") {
      frame = src.take(taken);
    } else {
      frame = src.take(at);
      taken = at;
      prefix = size; // the delimiter stays: it starts the next frame
    }
    this.#prefix = prefix;
    this.#scanned = Math.max(prefix, this.#scanned - taken);
    for (let i = 0; i < found.length; i++) {
      const f = found[i]!;
      if (f >= 0) found[i] = f - taken >= prefix ? f - taken : STALE;
    }
    return this.#frame(frame);
  }

  /** Whether a delimiter longer than the match at `at` could start at or before it, once more bytes come. */
  #mayGrow(src: ReadBuffer, start: number, at: number): boolean {
    const held = src.length;
    for (let q = Math.max(start, held - this.#longest + 1); q <= at; q++) {
      for (const e of this.#delims) {
        if (q + e.byteLength <= held) continue;
        let i = 0;
        while (q + i < held && src.byteAt(q + i) === e[i]) i++;
        if (q + i === held) return true;
      }
    }
    return false;
  }

  #frame(bytes: Uint8Array): string | Uint8Array {
    return this.#text ? decodeUtf8(bytes, "delimited") : bytes;
  }

  #tooLarge(length: number, complete: boolean): FrameError {
    return new FrameError(
      "frame-too-large",
      `Cannot decode frame: ${complete ? "" : "more than "}${length} bytes exceed maxFrameBytes ${this.#max}`,
    );
  }

  #checkContent(length: number): void {
    if (length > this.#max) throw new RangeError(`Cannot encode frame: ${length} bytes exceed maxFrameBytes ${this.#max}`);
  }

  /** The index of a delimiter longer than delimiter `i` that it begins, or -1. */
  #extends(i: number): number {
    const d = this.#delims[i]!;
    return this.#delims.findIndex((e) => e.byteLength > d.byteLength && endsWith(e.subarray(0, d.byteLength), d));
  }

  /** The index of the longest delimiter that `test` accepts, or -1. */
  #longestMatch(bytes: Uint8Array, test: (d: Uint8Array) => boolean): number {
    let best = -1;
    this.#delims.forEach((d, i) => {
      if (d.byteLength <= bytes.byteLength && (best === -1 || d.byteLength > this.#delims[best]!.byteLength) && test(d)) best = i;
    });
    return best;
  }

  /**
   * Refuses a frame the decoder would end elsewhere: with the bytes written
   * being `bytes` then `tail`, no delimiter may start in [from, end), whole or
   * running off the end (where the next frame could complete it). `minLength`
   * ignores delimiters no longer than it.
   */
  #refuseSplit(bytes: Uint8Array, tail: Uint8Array, from: number, end: number, minLength = 0): void {
    const total = bytes.byteLength + tail.byteLength;
    this.#delims.forEach((e, k) => {
      if (e.byteLength <= minLength) return;
      for (let q = bytes.indexOf(e[0]!, from); q !== -1 && q < end; q = bytes.indexOf(e[0]!, q + 1)) {
        let i = 1;
        while (i < e.byteLength && q + i < total && (q + i < bytes.byteLength ? bytes[q + i] : tail[q + i - bytes.byteLength]) === e[i]) i++;
        if (i === e.byteLength) throw new RangeError(`Cannot encode frame: it holds the delimiter ${this.#names[k]} at byte ${q}`);
        if (q + i === total) {
          throw new RangeError(`Cannot encode frame: its last ${total - q} bytes begin the delimiter ${this.#names[k]}, which the next frame could complete`);
        }
      }
    });
  }
}

function endsWith(bytes: Uint8Array, end: Uint8Array): boolean {
  const offset = bytes.byteLength - end.byteLength;
  if (offset < 0) return false;
  for (let i = 0; i < end.byteLength; i++) if (bytes[offset + i] !== end[i]) return false;
  return true;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value instanceof Uint8Array) return `<${Array.from(value, (b) => b.toString(16).padStart(2, "0")).join(" ")}>`;
  if (Array.isArray(value)) return `[${value.map(describe).join(", ")}]`;
  return String(value);
}
