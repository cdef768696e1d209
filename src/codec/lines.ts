import { FrameError } from "../errors.ts";
import type { Codec } from "./codec.ts";
import type { ReadBuffer } from "./read_buffer.ts";
import type { WriteBuffer } from "./write_buffer.ts";
import { checkChoice, checkMaxFrameBytes, decodeUtf8 } from "./_text.ts";

/** The longest line `lines()` accepts, without its terminator: tokio's LinesCodec has none, weft bounds it. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;

/**
 * Text mode decodes up to this many bytes of complete lines with one
 * TextDecoder call and slices the lines out of that text: on V8 a call per
 * line costs 4-10 times more than the whole decoding. Bounded because a slice
 * keeps its whole run of text alive as long as it lives: a line kept by the
 * application holds at most this much (or itself, when it is longer), where
 * splitters that decode whole chunks (TextLineStream, split2) hold a chunk.
 * 16 KiB gets most of the gain: on Node a TextDecoder call costs about as
 * much as decoding 6 KiB of ASCII. Runs of 32 and 64 KiB were measured too:
 * no faster on one engine, a little faster on a second and slower on a
 * third (the README's framing figures).
 */
const TEXT_RUN_BYTES = 16 * 1024;

/** Options of {@link lines}. */
export interface LinesOptions {
  /** The longest line, in bytes, without its `\n` or `\r\n`. Default 64 KiB. */
  maxFrameBytes?: number;
  /**
   * What a line over the limit does: `"error"` (default) ends the stream with
   * a `frame-too-large` FrameError; `"skip"` yields that FrameError as one item,
   * drops the line, and goes on from the next newline.
   */
  onOversize?: "error" | "skip";
  /** Frames as strings (`"text"`, default; invalid UTF-8 is a FrameError) or as bytes. */
  as?: "text" | "bytes";
  /** What encoding ends each line with: `"\n"` (default) or `"\r\n"` (SMTP, Redis inline commands, HTTP heads). Decoding takes both. */
  lineEnding?: "\n" | "\r\n";
}

/**
 * Lines: frames end at `\n`, and a `\r` before it is dropped too. The last
 * line may end with the stream instead.
 *
 * ```
 *   "PING\r\n"  "SET a 1\n"  "QUIT"<EOF>
 *    └ "PING"    └ "SET a 1"  └ "QUIT"
 * ```
 *
 * Decoding finds each `\n` with one scan: a search that finds none
 * remembers how far it went, and the next chunk is searched from there, so a
 * long line costs one pass however it is split. As text, the complete lines
 * at the front of a chunk are decoded together, up to 16 KiB at a time, and each
 * line is a slice of that text (on V8 a kept slice keeps its 16 KiB of text
 * alive: to store many lines for long, store copies). Encoding appends `\n` (or `lineEnding`); a line
 * that contains `\n` or is longer than `maxFrameBytes` is refused (RangeError).
 *
 * @example Lines through a memory pipe
 * ```ts
 * import { DecoderStream, lines, memoryPipe } from "weft";
 *
 * const [a, b] = memoryPipe();
 * const w = a.writable.getWriter();
 * await w.write(new TextEncoder().encode("GET /\r\nHost: x\n"));
 * await w.close();
 * const got: string[] = [];
 * for await (const line of b.readable.pipeThrough(new DecoderStream(lines()))) got.push(line);
 * console.assert(got.join("|") === "GET /|Host: x");
 * ```
 */
export function lines(options?: LinesOptions & { as?: "text"; onOversize?: "error" }): Codec<string>;
export function lines(options: LinesOptions & { as: "bytes"; onOversize?: "error" }): Codec<Uint8Array>;
export function lines(options: LinesOptions & { as?: "text"; onOversize: "skip" }): Codec<string | FrameError, string>;
export function lines(options: LinesOptions & { as: "bytes"; onOversize: "skip" }): Codec<Uint8Array | FrameError, Uint8Array>;
export function lines(options: LinesOptions): Codec<string | Uint8Array | FrameError, string | Uint8Array>;
export function lines(options: LinesOptions = {}): Codec<unknown, string | Uint8Array> {
  return new LinesCodec(options);
}

class LinesCodec implements Codec<unknown, string | Uint8Array> {
  #max: number;
  #skip: boolean;
  #asText: boolean;
  #scanned = 0; // bytes at the front already searched for "\n"
  #skipping = false; // inside an oversize line, dropping it
  // Text mode: complete lines whose bytes are still at the front of src,
  // decoded together. #text[#textAt] starts the next line; each line's bytes
  // are taken from src as the line is returned, so src holds exactly the
  // bytes not yet returned (the leftover of a protocol switch stays exact).
  #text = "";
  #textAt = 0;
  #ascii = false; // #text has one character per byte
  #crlf: boolean;

  constructor(options: LinesOptions) {
    if (typeof options !== "object" || options === null) throw new TypeError("Invalid lines() options: expected an object");
    this.#max = checkMaxFrameBytes(options.maxFrameBytes, DEFAULT_MAX_LINE_BYTES);
    this.#skip = checkChoice("onOversize", options.onOversize, ["error", "skip"], "error") === "skip";
    this.#crlf = checkChoice("lineEnding", options.lineEnding, ["\n", "\r\n"], "\n") === "\r\n";
    this.#asText = checkChoice("as", options.as, ["text", "bytes"], "text") === "text";
  }

  decode(src: ReadBuffer): unknown {
    if (this.#textAt < this.#text.length) return this.#nextText(src);
    if (this.#skipping && !this.#resync(src)) return undefined;
    const end = src.indexOf(LF, this.#scanned);
    if (end === -1) {
      this.#scanned = src.length;
      // Held bytes stay within the limit plus one chunk: no "\n" yet and
      // already too long means the line is over it, whatever follows.
      if (src.length > this.#max + 1) return this.#oversize(src, src.length, false);
      return undefined;
    }
    this.#scanned = 0;
    if (this.#asText && this.#decodeRun(src, end)) return this.#nextText(src);
    const length = end > 0 && src.byteAt(end - 1) === CR ? end - 1 : end;
    if (length > this.#max) return this.#oversize(src, length, true, end + 1);
    const line = src.take(length);
    src.skip(end + 1 - length);
    return this.#frame(line);
  }

  decodeMany(src: ReadBuffer, out: unknown[]): void {
    for (;;) {
      // After each frame decode() gives, the lines that follow in the same
      // run of text (or, as bytes, in the same chunk) are taken in one loop.
      if (this.#ascii && this.#textAt < this.#text.length) this.#textRun(src, out);
      else if (!this.#asText && !this.#skipping && this.#scanned === 0) this.#bytesRun(src, out);
      const frame = this.decode(src);
      if (frame === undefined) return;
      out.push(frame);
    }
  }

  decodeEof(src: ReadBuffer): unknown {
    if (this.#skipping) {
      src.skip(src.length);
      this.#skipping = false;
      return undefined;
    }
    if (src.length === 0) return undefined;
    const last = this.decode(src);
    if (last !== undefined) return last;
    this.#scanned = 0;
    const length = src.byteAt(src.length - 1) === CR ? src.length - 1 : src.length;
    if (length > this.#max) return this.#oversize(src, length, true, src.length);
    const line = src.take(length);
    src.skip(src.length);
    return this.#frame(line);
  }

  encode(item: string | Uint8Array, dst: WriteBuffer): void {
    const start = dst.length;
    if (typeof item === "string") {
      if (item.includes("\n")) throw new RangeError("Cannot encode line: it contains \"\\n\"");
      dst.writeUtf8(item);
    } else if (item instanceof Uint8Array) {
      if (item.includes(LF)) throw new RangeError("Cannot encode line: it contains \"\\n\"");
      dst.write(item);
    } else {
      throw new TypeError(`Cannot encode line ${typeof item}: expected a string or a Uint8Array`);
    }
    const length = dst.length - start;
    if (length > this.#max) {
      throw new RangeError(`Cannot encode line: ${length} bytes exceed maxFrameBytes ${this.#max}`);
    }
    if (this.#crlf) dst.writeByte(CR);
    dst.writeByte(LF);
  }

  #frame(line: Uint8Array): unknown {
    return this.#asText ? decodeUtf8(line, "line") : line;
  }

  /**
   * Decodes the complete lines at the front of the first chunk, the first
   * ending at `end`, up to TEXT_RUN_BYTES (at least that line), into #text.
   * False when there is no run of lines to share a call (one line, or a line
   * that spans chunks) or the run is not valid UTF-8: then each line is
   * decoded alone, which also reports the invalid one where it is.
   */
  #decodeRun(src: ReadBuffer, end: number): boolean {
    const chunk = src.peekChunk()!;
    if (end + 1 >= chunk.length) return false;
    const last = chunk.lastIndexOf(LF, end >= TEXT_RUN_BYTES ? end : Math.min(TEXT_RUN_BYTES, chunk.length) - 1);
    if (last === end) return false;
    try {
      this.#text = decodeUtf8(chunk.subarray(0, last + 1), "line");
    } catch {
      return false;
    }
    this.#textAt = 0;
    this.#ascii = this.#text.length === last + 1; // UTF-8 spends 2 or more bytes per character beyond ASCII
    return true;
  }

  /** The next line of #text, its bytes taken from src. */
  #nextText(src: ReadBuffer): unknown {
    const text = this.#text;
    const at = this.#textAt;
    const nl = text.indexOf("\n", at); // found: the run ends with one
    if (nl + 1 === text.length) {
      this.#text = ""; // the run is done: let it go
      this.#textAt = 0;
    } else {
      this.#textAt = nl + 1;
    }
    // In ASCII the text's positions are the bytes'; else the "\n" bytes are
    // found again, one search per line, still without decoding a line alone.
    const through = this.#ascii ? nl + 1 - at : src.indexOf(LF) + 1;
    const cr = nl > at && text.charCodeAt(nl - 1) === CR;
    const length = through - (cr ? 2 : 1);
    if (length > this.#max) return this.#oversize(src, length, true, through);
    src.skip(through);
    return text.slice(at, cr ? nl - 1 : nl);
  }

  /** The lines left in an ASCII run of text, up to one over the limit (decode() reports it). */
  #textRun(src: ReadBuffer, out: unknown[]): void {
    const text = this.#text;
    const start = this.#textAt;
    const max = this.#max;
    let at = start;
    while (at < text.length) {
      const nl = text.indexOf("\n", at); // found: the run ends with one
      const end = nl > at && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
      if (end - at > max) break;
      out.push(text.slice(at, end));
      at = nl + 1;
    }
    src.skip(at - start); // ASCII: a character per byte
    if (at === text.length) {
      this.#text = ""; // the run is done: let it go
      this.#textAt = 0;
    } else {
      this.#textAt = at;
    }
  }

  /** As bytes, the lines that end in the first chunk, up to one over the limit (decode() reports it). */
  #bytesRun(src: ReadBuffer, out: unknown[]): void {
    const chunk = src.peekChunk();
    if (chunk === undefined) return;
    const max = this.#max;
    let start = 0;
    for (let nl = chunk.indexOf(LF); nl !== -1; nl = chunk.indexOf(LF, start)) {
      const end = nl > start && chunk[nl - 1] === CR ? nl - 1 : nl;
      if (end - start > max) break;
      out.push(chunk.subarray(start, end));
      start = nl + 1;
    }
    if (start > 0) {
      src.skip(start);
      this.#scanned = 0;
    }
  }

  /** A line over the limit: the error, or in skip mode the error as an item and the line dropped. */
  #oversize(src: ReadBuffer, length: number, complete: boolean, through = 0): FrameError {
    const error = new FrameError(
      "frame-too-large",
      `Cannot decode line: ${complete ? "" : "more than "}${length} bytes exceed maxFrameBytes ${this.#max}`,
    );
    if (!this.#skip) throw error;
    this.#scanned = 0;
    if (complete) src.skip(through);
    else {
      src.skip(src.length);
      this.#skipping = true;
    }
    return error;
  }

  /** Drops the rest of an oversize line; true once the next line starts. */
  #resync(src: ReadBuffer): boolean {
    const end = src.indexOf(LF);
    if (end === -1) {
      src.skip(src.length);
      return false;
    }
    src.skip(end + 1);
    this.#skipping = false;
    return true;
  }
}
