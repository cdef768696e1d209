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
const SPACE = 0x20;
const DQUOTE = 0x22;
const SQUOTE = 0x27;

/** Names up to this many bytes are carried as a number (see {@link nameKey}), with no view or string made. */
const KEY_BYTES = 6;

/**
 * A command name of up to 6 bytes as one exact number: the bytes packed,
 * times 8, plus the length (under 2^51, so exact as a double). -1 when longer.
 */
export function nameKey(bytes: Uint8Array, from: number, length: number): number {
  if (length > KEY_BYTES) return -1;
  let key = length;
  let scale = 8;
  for (let i = 0; i < length; i++) {
    key += bytes[from + i]! * scale;
    scale *= 256;
  }
  return key;
}

/** `buf.subarray(at, at + length)`, made the cheaper way (no species lookup). */
function view(buf: Uint8Array, at: number, length: number): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset + at, length);
}

/** The bytes of a name from its {@link nameKey}. */
export function keyBytes(key: number): Uint8Array {
  const length = key % 8;
  let rest = (key - length) / 8;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    out[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  return out;
}

/**
 * A command as the server takes it: the name as a {@link nameKey} when it is
 * short (`name` undefined), else as bytes (`key` -1), and the arguments after it.
 */
export class ParsedCommand {
  readonly key: number;
  readonly name: Uint8Array | undefined;
  readonly args: Uint8Array[];
  constructor(key: number, name: Uint8Array | undefined, args: Uint8Array[]) {
    this.key = key;
    this.name = name;
    this.args = args;
  }

  /** A command as decode() returns it (the name first). */
  static of(command: Uint8Array[]): ParsedCommand {
    const name = command[0]!;
    const key = nameKey(name, 0, name.length);
    return new ParsedCommand(key, key < 0 ? name : undefined, command.slice(1));
  }

  /** The name's bytes. */
  nameBytes(): Uint8Array {
    return this.name ?? keyBytes(this.key);
  }
}

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

  /**
   * Decodes every complete command, as decodeMany() does, into
   * {@link ParsedCommand}s: the server's form. Commands that lie whole in the
   * first chunk, with plain headers (and inline commands of plain words), are
   * read straight from the chunk, one view per argument; anything else (a
   * command split across chunks, a limit reached, malformed input, quotes)
   * goes through decode(), which gives the same commands and errors.
   */
  decodeCommands(src: ReadBuffer, out: ParsedCommand[]): void {
    for (;;) {
      if (this.#args === undefined) {
        const chunk = src.peekChunk();
        if (chunk !== undefined) {
          const used = this.#fast(chunk, out);
          if (used > 0) {
            src.skip(used);
            this.#scanned = 0;
          }
        }
      }
      const c = this.decode(src);
      if (c === undefined) return;
      out.push(ParsedCommand.of(c));
    }
  }

  /** The complete, plain commands at the start of `buf`; the bytes they took. Stops, taking nothing of it, at the first other command. */
  #fast(buf: Uint8Array, out: ParsedCommand[]): number {
    const limits = this.#limits;
    const end = buf.length;
    let p = 0;
    outer: while (p < end) {
      const start = p;
      if (buf[p] === STAR) {
        let q = p + 1;
        let n = 0;
        while (q < end) {
          const d = buf[q]! - 0x30;
          if (d < 0 || d > 9) break;
          n = n * 10 + d;
          q++;
        }
        if (q - start - 1 < 1 || q - start - 1 > 15 || q + 1 >= end || buf[q] !== CR || q - start > limits.inline) break;
        if (n < 1 || n > limits.aggregate) break;
        let bytes = q - start + 2;
        q += 2;
        let key = -1;
        let name: Uint8Array | undefined;
        const args: Uint8Array[] = [];
        for (let i = 0; i < n; i++) {
          if (q >= end || buf[q] !== DOLLAR) break outer;
          let r = q + 1;
          let len = 0;
          while (r < end) {
            const d = buf[r]! - 0x30;
            if (d < 0 || d > 9) break;
            len = len * 10 + d;
            r++;
          }
          if (r - q - 1 < 1 || r - q - 1 > 15 || r + 1 >= end || buf[r] !== CR || r - q > limits.inline) break outer;
          if (len > limits.bulk) break outer;
          bytes += r - q + 2 + len + 2;
          if (bytes > limits.value) break outer;
          const at = r + 2;
          if (at + len + 2 > end) break outer;
          if (i === 0) {
            key = nameKey(buf, at, len);
            if (key < 0) name = view(buf, at, len);
          } else args.push(view(buf, at, len));
          q = at + len + 2; // as redis-server does, the two bytes after the payload are not checked
        }
        out.push(new ParsedCommand(key, name, args));
        p = q;
      } else {
        let lf = p;
        while (lf < end && buf[lf] !== LF) lf++;
        if (lf === end || lf - start > limits.inline) break;
        let stop = lf;
        if (stop > start && buf[stop - 1] === CR) stop--;
        // Plain words (printable ASCII, no quotes) between spaces: anything else is split by splitInline().
        let key = -1;
        let name: Uint8Array | undefined;
        let first = true;
        const args: Uint8Array[] = [];
        let i = start;
        while (i < stop) {
          if (buf[i] === SPACE) {
            i++;
            continue;
          }
          const w = i;
          while (i < stop) {
            const c = buf[i]!;
            if (c === SPACE) break;
            if (c < 0x21 || c > 0x7e || c === DQUOTE || c === SQUOTE) break outer;
            i++;
          }
          if (first) {
            first = false;
            key = nameKey(buf, w, i - w);
            if (key < 0) name = view(buf, w, i - w);
          } else args.push(view(buf, w, i - w));
        }
        if (!first) out.push(new ParsedCommand(key, name, args));
        p = lf + 1;
      }
    }
    return p;
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
