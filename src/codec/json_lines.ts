import { FrameError } from "../errors.ts";
import type { Codec } from "./codec.ts";
import type { ReadBuffer } from "./read_buffer.ts";
import type { WriteBuffer } from "./write_buffer.ts";
import { lines } from "./lines.ts";

/** Options of {@link jsonLines}. */
export interface JsonLinesOptions {
  /** The longest line, in bytes, without its `\n` or `\r\n`. Default 64 KiB, as for lines(). */
  maxFrameBytes?: number;
  /**
   * What a line over the limit does: `"error"` (default) ends the stream with
   * a `frame-too-large` FrameError; `"skip"` yields that FrameError as one item,
   * drops the line, and goes on from the next newline.
   */
  onOversize?: "error" | "skip";
}

/**
 * JSON Lines (NDJSON): one JSON value per line, framed by {@link lines}.
 *
 * ```
 *   {"id":1,"op":"get"}\n  [1,2,3]\r\n  \n  "done"<EOF>
 *   └ {id: 1, op: "get"}   └ [1, 2, 3]  └ skipped  └ "done"
 * ```
 *
 * Each line is parsed with `JSON.parse`; one that does not parse is a
 * `FrameError` `invalid-json` naming its line number (from 1, counting every
 * line the stream held). Empty lines are skipped, as NDJSON allows. Limits,
 * `\r\n`, UTF-8 checks and a last line without `\n` work as in lines().
 * Encoding writes `JSON.stringify(value)` and `\n`; a value with no JSON form
 * (`undefined`, a function, a symbol) is a TypeError, and so is what
 * `JSON.stringify` refuses (a cycle, a BigInt).
 *
 * @example Values in, values out
 * ```ts
 * import { DecoderStream, EncoderStream, jsonLines } from "weft";
 *
 * const values = ReadableStream.from([{ id: 1 }, [true, null], "three"]);
 * const text = values.pipeThrough(new EncoderStream(jsonLines()));
 * const got: unknown[] = [];
 * for await (const value of text.pipeThrough(new DecoderStream(jsonLines()))) got.push(value);
 * console.assert(JSON.stringify(got) === '[{"id":1},[true,null],"three"]');
 * ```
 */
export function jsonLines<T = unknown>(options?: JsonLinesOptions & { onOversize?: "error" }): Codec<T>;
export function jsonLines<T = unknown>(options: JsonLinesOptions & { onOversize: "skip" }): Codec<T | FrameError, T>;
export function jsonLines(options: JsonLinesOptions = {}): Codec<unknown> {
  return new JsonLinesCodec(options);
}

class JsonLinesCodec implements Codec<unknown> {
  #lines: Codec<string | FrameError, string>;
  #line = 0; // lines taken so far

  constructor(options: JsonLinesOptions) {
    if (typeof options !== "object" || options === null) throw new TypeError("Invalid jsonLines() options: expected an object");
    // lines() checks the options it shares.
    this.#lines = lines({ maxFrameBytes: options.maxFrameBytes, onOversize: options.onOversize as "skip" });
  }

  decode(src: ReadBuffer): unknown {
    for (let line = this.#lines.decode(src); line !== undefined; line = this.#lines.decode(src)) {
      const value = this.#parse(line);
      if (value !== SKIP) return value;
    }
    return undefined;
  }

  decodeEof(src: ReadBuffer): unknown {
    for (let line = this.#lines.decodeEof!(src); line !== undefined; line = this.#lines.decodeEof!(src)) {
      const value = this.#parse(line);
      if (value !== SKIP) return value;
    }
    return undefined;
  }

  encode(item: unknown, dst: WriteBuffer): void {
    const text = JSON.stringify(item);
    if (text === undefined) throw new TypeError(`Cannot encode ${typeof item} as JSON: it has no JSON form`);
    this.#lines.encode(text, dst);
  }

  #parse(line: string | FrameError): unknown {
    this.#line++;
    if (typeof line !== "string") return line; // an oversize line, in skip mode
    if (line.length === 0) return SKIP;
    try {
      return JSON.parse(line);
    } catch (error) {
      throw new FrameError("invalid-json", `Cannot decode JSON line ${this.#line}: ${(error as Error).message}`, { cause: error });
    }
  }
}

const SKIP = Symbol("empty line");
