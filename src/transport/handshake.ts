import { FrameError, NetError } from "../errors.ts";
import type { Conn } from "../bytes/conn.ts";
import { ReadBuffer } from "../codec/read_buffer.ts";
import { decodeUtf8 } from "../codec/_text.ts";

/** The longest line `readLine()` takes by default: a greeting or a PROXY v1 header is far shorter. */
export const DEFAULT_HANDSHAKE_LINE_BYTES = 8 * 1024;

const encoder = new TextEncoder();

/** What {@link Handshake.release} hands back. */
export interface HandshakeParts {
  /** The connection, with its readable and writable unlocked. */
  conn: Conn;
  /** Bytes read past the handshake, for `framed(conn, codec, { leftover })` or `startTls(conn, { leftover })`. */
  leftover: Uint8Array;
}

/**
 * Reads and writes the bytes that come before framing: a greeting, a version
 * byte, a PROXY protocol header. It reads whole chunks, as any reader does,
 * and `release()` hands back what it read past the handshake as `leftover`, so
 * the next stage loses no byte and reads none twice.
 *
 * @example A version byte and a greeting, then lines
 * ```ts
 * import { framed, handshake, lines, memoryPipe } from "weft";
 *
 * const [client, server] = memoryPipe();
 * const w = client.writable.getWriter();
 * await w.write(new TextEncoder().encode("\x01HELLO weft\r\nPING\n"));
 *
 * const hs = handshake(server);
 * const [version] = await hs.readExactly(1);
 * const greeting = await hs.readLine();
 * const { conn, leftover } = hs.release();
 * console.assert(version === 1 && greeting === "HELLO weft");
 *
 * const frames = framed(conn, lines(), { leftover });
 * const reader = frames.readable.getReader();
 * console.assert((await reader.read()).value === "PING");
 * await Promise.all([client.close(), server.close()]);
 * ```
 */
export function handshake(conn: Conn, options: { leftover?: Uint8Array } = {}): Handshake {
  return new Handshake(conn, options.leftover);
}

/** See {@link handshake}. */
export class Handshake {
  #conn: Conn;
  #src = new ReadBuffer();
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #released = false;
  #busy = false;

  constructor(conn: Conn, leftover?: Uint8Array) {
    this.#conn = conn;
    if (leftover !== undefined) {
      if (!(leftover instanceof Uint8Array)) throw new TypeError("Invalid leftover: expected a Uint8Array");
      this.#src.push(leftover);
    }
  }

  /** Exactly `n` bytes; the stream ending first is a FrameError `unexpected-eof`. */
  async readExactly(n: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`Invalid byte count ${n}: expected an integer of 0 or more`);
    return this.#exclusive(async () => {
      while (this.#src.length < n) {
        if (!(await this.#more())) throw eof(`${n} bytes`, this.#src.length);
      }
      return this.#src.take(n);
    });
  }

  /**
   * The bytes before `delimiter`, which is taken too. More than `maxBytes`
   * before it is a FrameError `frame-too-large`, checked as bytes arrive; the
   * stream ending first is `unexpected-eof`.
   */
  async readUntil(delimiter: Uint8Array | string, options: { maxBytes: number }): Promise<Uint8Array> {
    const delim = typeof delimiter === "string" ? encoder.encode(delimiter) : delimiter;
    if (!(delim instanceof Uint8Array) || delim.byteLength === 0) throw new TypeError("Invalid delimiter: expected a non-empty string or Uint8Array");
    const max = options?.maxBytes;
    if (!Number.isSafeInteger(max) || max < 0) throw new RangeError(`Invalid maxBytes ${max}: expected an integer of 0 or more`);
    return this.#exclusive(async () => {
      let from = 0;
      for (;;) {
        const at = this.#src.indexOfSequence(delim, from);
        if (at !== -1) {
          if (at > max) throw tooLarge(at, max);
          const bytes = this.#src.take(at);
          this.#src.skip(delim.byteLength);
          return bytes;
        }
        if (this.#src.length - delim.byteLength + 1 > max) throw tooLarge(this.#src.length, max, true);
        from = Math.max(0, this.#src.length - delim.byteLength + 1);
        if (!(await this.#more())) throw eof("a delimiter", this.#src.length);
      }
    });
  }

  /** One line, without its `\n` or `\r\n`, as UTF-8 text; at most `maxBytes` (default 8 KiB). */
  async readLine(maxBytes = DEFAULT_HANDSHAKE_LINE_BYTES): Promise<string> {
    const bytes = await this.readUntil("\n", { maxBytes: maxBytes + 1 });
    const line = bytes.at(-1) === 0x0d ? bytes.subarray(0, -1) : bytes;
    if (line.byteLength > maxBytes) throw tooLarge(line.byteLength, maxBytes);
    return decodeUtf8(line, "handshake line");
  }

  /** Writes `data` (a string goes as UTF-8); resolves when the connection took it. */
  write(data: Uint8Array | string): Promise<void> {
    if (this.#released) return Promise.reject(released());
    this.#writer ??= this.#conn.writable.getWriter();
    return this.#writer.write(typeof data === "string" ? encoder.encode(data) : data);
  }

  /** Ends the handshake: the connection's streams are unlocked, the bytes read past it returned. */
  release(): HandshakeParts {
    if (this.#released) throw released();
    if (this.#busy) throw new TypeError("Cannot release the handshake while a read is pending");
    this.#released = true;
    this.#reader?.releaseLock();
    this.#writer?.releaseLock();
    return { conn: this.#conn, leftover: this.#src.takeAll() };
  }

  async #exclusive<T>(read: () => Promise<T>): Promise<T> {
    if (this.#released) throw released();
    if (this.#busy) throw new TypeError("Cannot read: another handshake read is pending");
    this.#busy = true;
    try {
      return await read();
    } finally {
      this.#busy = false;
    }
  }

  /** Reads one more chunk; false at the end of the stream. */
  async #more(): Promise<boolean> {
    this.#reader ??= this.#conn.readable.getReader();
    const { value, done } = await this.#reader.read();
    if (done) return false;
    this.#src.push(value);
    return true;
  }
}

function eof(what: string, got: number): FrameError {
  return new FrameError("unexpected-eof", `Cannot read the handshake: the stream ended after ${got} bytes, before ${what}`);
}

function tooLarge(length: number, max: number, more = false): FrameError {
  return new FrameError("frame-too-large", `Cannot read the handshake: ${more ? "more than " : ""}${length} bytes exceed maxBytes ${max}`);
}

function released(): NetError {
  return new NetError("closed", "The handshake was released");
}
