/**
 * The decoder of commands, on the server side: what redis-server reads.
 *
 * ```
 *   *2\r\n$3\r\nGET\r\n$1\r\nk\r\n     a multibulk: an array of bulk strings
 *   GET k\r\n                          an inline command: words, quotes as redis-cli's
 * ```
 *
 * A command is `Uint8Array[]`, the name first. As redis-server does, a
 * request that starts with `*` is a multibulk and anything else is an inline
 * line; `*0`, `*-1` and blank lines are skipped. Its FrameError messages are
 * Redis's own protocol error texts, so that a server can send them as they
 * are: `Protocol error: invalid bulk length`.
 *
 * | state                             | needs                 | then                          |
 * |-----------------------------------|-----------------------|-------------------------------|
 * | no command (`#args` undefined)    | a line                | a multibulk header, or an inline command |
 * | in a multibulk, no bulk header    | a `$` line            | the bulk's length             |
 * | bulk length read (`#bulk` ≥ 0)     | `#bulk` + 2 bytes     | the argument; the command when it is the last |
 */
import type { Decoder, ReadBuffer } from "../../../mod.ts";
import { FrameError } from "../../../mod.ts";
import { invalid, LF, type Limits, parseSmallInt, tooLarge } from "./_limits.ts";
import { splitInline } from "./_inline.ts";

const STAR = 0x2a;
const DOLLAR = 0x24;
const CR = 0x0d;

/** Decodes commands as arrays of arguments. */
export class CommandDecoder implements Decoder<Uint8Array[]> {
  #limits: Limits;
  #args: Uint8Array[] | undefined;
  #left = 0; // arguments still to read
  #bulk = -1; // length of the argument whose header was read, or -1
  #scanned = 0;
  #bytes = 0; // wire bytes of the command being read

  constructor(limits: Limits) {
    this.#limits = limits;
  }

  /** Whether part of a command has arrived (a line begun, or a multibulk under way). */
  get inCommand(): boolean {
    return this.#args !== undefined || this.#scanned > 0;
  }

  decode(src: ReadBuffer): Uint8Array[] | undefined {
    for (;;) {
      if (this.#args === undefined) {
        if (src.length === 0) return undefined;
        const first = src.byteAt(0);
        if (first !== STAR) {
          const command = this.#inline(src);
          if (command === undefined) return undefined;
          if (command.length > 0) return command;
          continue; // a blank line
        }
        const line = this.#line(src, "too big mbulk count string");
        if (line === undefined) return undefined;
        const n = parseSmallInt(line, 1, line.length);
        if (n !== n || n > this.#limits.aggregate) throw tooLargeOr(n, "Protocol error: invalid multibulk length");
        if (n <= 0) continue; // Redis skips an empty or null multibulk
        this.#args = [];
        this.#left = n;
        this.#bytes = line.length + 2;
      }
      const command = this.#arguments(src);
      if (command === undefined) return undefined;
      return command;
    }
  }

  decodeMany(src: ReadBuffer, out: Uint8Array[][]): void {
    for (let c = this.decode(src); c !== undefined; c = this.decode(src)) out.push(c);
  }

  decodeEof(src: ReadBuffer): Uint8Array[] | undefined {
    if (src.length === 0 && this.#args === undefined) return undefined;
    throw new FrameError("unexpected-eof", "Protocol error: the connection closed inside a command");
  }

  /** The arguments of the multibulk in progress; the command when the last is in. */
  #arguments(src: ReadBuffer): Uint8Array[] | undefined {
    const args = this.#args!;
    while (this.#left > 0) {
      if (this.#bulk === -1) {
        if (src.length === 0) return undefined;
        const line = this.#line(src, "too big bulk count string");
        if (line === undefined) return undefined;
        if (line[0] !== DOLLAR) {
          throw invalid(`Protocol error: expected '$', got '${String.fromCharCode(line[0] ?? CR)}'`);
        }
        const n = parseSmallInt(line, 1, line.length);
        // Checked before any of the payload is held.
        if (!(n >= 0) || n > this.#limits.bulk) throw tooLargeOr(n, "Protocol error: invalid bulk length");
        this.#bytes += line.length + 2 + n + 2;
        if (this.#bytes > this.#limits.value) throw tooLarge("Protocol error: command larger than maxValueBytes");
        this.#bulk = n;
      }
      const n = this.#bulk;
      if (src.length < n + 2) return undefined;
      // As redis-server does, the two bytes after the payload are not checked.
      args.push(src.take(n));
      src.skip(2);
      this.#bulk = -1;
      this.#left--;
    }
    this.#args = undefined;
    return args;
  }

  /** A header line without its CRLF (taken), or undefined until it is in. */
  #line(src: ReadBuffer, tooBig: string): Uint8Array | undefined {
    const end = src.indexOf(0x0d, this.#scanned);
    if (end === -1 || end + 1 >= src.length) {
      // A line is `end` bytes once its "\r" is in: the split must not decide.
      if ((end === -1 ? src.length : end) > this.#limits.inline) throw tooLarge(`Protocol error: ${tooBig}`);
      this.#scanned = end === -1 ? src.length : end;
      return undefined;
    }
    this.#scanned = 0;
    if (end > this.#limits.inline) throw tooLarge(`Protocol error: ${tooBig}`);
    const line = src.take(end);
    src.skip(2); // as redis-server does, the byte after "\r" is not checked
    return line;
  }

  /** An inline command (taken), `[]` for a blank line, or undefined until its "\n" is in. */
  #inline(src: ReadBuffer): Uint8Array[] | undefined {
    const end = src.indexOf(LF, this.#scanned);
    if (end === -1) {
      if (src.length > this.#limits.inline) throw tooLarge("Protocol error: too big inline request");
      this.#scanned = src.length;
      return undefined;
    }
    this.#scanned = 0;
    if (end > this.#limits.inline) throw tooLarge("Protocol error: too big inline request");
    const line = src.take(end);
    src.skip(1);
    const args = splitInline(line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, line.length - 1) : line);
    if (args === undefined) throw invalid("Protocol error: unbalanced quotes in request");
    return args;
  }
}

function tooLargeOr(n: number, message: string): FrameError {
  return n === n && n > 0 ? tooLarge(message) : invalid(message);
}
