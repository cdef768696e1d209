import type { Codec, ReadBuffer, WriteBuffer } from "../../../mod.ts";
import { CommandDecoder, type ParsedCommand } from "./_command_decoder.ts";
import { encodeCommand, encodeValue } from "./_encode.ts";
import { checkOptions, type RespLimits, resolveLimits } from "./_limits.ts";
import { ValueDecoder } from "./_value_decoder.ts";

export {
  DEFAULT_MAX_AGGREGATE_LENGTH,
  DEFAULT_MAX_BULK_BYTES,
  DEFAULT_MAX_INLINE_BYTES,
  DEFAULT_MAX_NESTING_DEPTH,
  DEFAULT_MAX_VALUE_BYTES,
} from "./_limits.ts";
export type { RespLimits } from "./_limits.ts";
import type { RespValue } from "./value.ts";

/** A command as a client sends it: the name, then its arguments; numbers are sent as their decimal text. */
export type RespCommand = readonly (string | Uint8Array | number)[];

/** Options of {@link respCodec}. */
export interface RespCodecOptions extends RespLimits {
  /**
   * What bulk strings decode to: `"text"` (default), a `string` when the
   * bytes are UTF-8 and the `Uint8Array` when they are not, so nothing is
   * lost; or `"bytes"`, always a `Uint8Array` (a view of the received chunk
   * where it lies in one), which also keeps `+OK` (a `string`) apart from
   * `$2 OK` (bytes).
   */
  bulkAs?: "text" | "bytes";
}

/**
 * The client side of RESP: decodes replies (RESP2 and RESP3, as in the table
 * of `RespValue`) and encodes commands as arrays of bulk strings.
 *
 * ```
 *   encode ["SET", "k", 1]   →  *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n1\r\n
 *   decode +OK\r\n           →  "OK"
 *   decode %1\r\n+a\r\n:1\r\n →  Map { "a" => 1 }
 * ```
 *
 * Decoding is incremental (a reply split across many chunks is read in one
 * pass) and bounded: a bulk string over `maxBulkBytes` is a FrameError
 * `frame-too-large` as soon as its header is in, before any of its payload is
 * held; so are aggregates longer than `maxAggregateLength`, nesting deeper
 * than `maxNestingDepth`, lines longer than `maxInlineBytes`, and values over
 * `maxValueBytes`. Anything that is not RESP is `invalid-frame`; a stream
 * that ends inside a value, `unexpected-eof`. Attributes (`|`) are skipped.
 *
 * @example A command out, replies in
 * ```ts
 * import { ReadBuffer, WriteBuffer } from "weft";
 * import { respCodec, RespError } from "weft/resp";
 *
 * const codec = respCodec();
 * const out = new WriteBuffer();
 * codec.encode(["GET", "greeting"], out);
 * console.assert(new TextDecoder().decode(out.bytes()) === "*2\r\n$3\r\nGET\r\n$8\r\ngreeting\r\n");
 *
 * const src = new ReadBuffer();
 * src.push(new TextEncoder().encode("$5\r\nhello\r\n-ERR no\r\n*2\r\n:1\r\n_\r\n"));
 * console.assert(codec.decode(src) === "hello");
 * const err = codec.decode(src);
 * console.assert(err instanceof RespError && err.message === "ERR no");
 * console.assert(JSON.stringify(codec.decode(src)) === "[1,null]");
 * ```
 */
export function respCodec(options?: RespCodecOptions): Codec<RespValue, RespCommand> {
  const fn = "respCodec()";
  const o = checkOptions(fn, options);
  if (o.bulkAs !== undefined && o.bulkAs !== "text" && o.bulkAs !== "bytes") {
    throw new TypeError(`Invalid bulkAs ${JSON.stringify(o.bulkAs)} for ${fn}: expected "text" or "bytes"`);
  }
  const decoder = new ValueDecoder(resolveLimits(fn, o), o.bulkAs !== "bytes");
  return {
    decode: (src: ReadBuffer) => decoder.decode(src),
    decodeMany: (src: ReadBuffer, out: RespValue[]) => decoder.decodeMany(src, out),
    decodeEof: (src: ReadBuffer) => decoder.decodeEof(src),
    encode: (command: RespCommand, dst: WriteBuffer) => encodeCommand(command, dst),
  };
}

/** Options of {@link respServerCodec}. */
export interface RespServerCodecOptions extends RespLimits {
  /** The protocol replies are encoded in at first: 2 (default, as for every new Redis connection) or 3. */
  protocol?: 2 | 3;
}

/**
 * The codec {@link respServerCodec} returns: commands in, replies out, and the
 * protocol of the replies, which a server switches after `HELLO 3`.
 */
export interface RespServerCodec extends Codec<Uint8Array[], RespValue> {
  /** The protocol replies are encoded in: 2 or 3. RESP3 types become their RESP2 forms on a RESP2 connection. */
  protocol: 2 | 3;
  /** Whether a command is partly received: a server's command timeout runs while it is. */
  readonly inCommand: boolean;
}

/**
 * The server side of RESP: decodes commands as redis-server reads them
 * (multibulks of bulk strings, and inline commands: space-separated words
 * with quotes as redis-cli writes them) into `Uint8Array[]`, the command name
 * first; encodes replies in RESP2 or RESP3.
 *
 * ```
 *   decode *2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n  →  [ECHO, hi]   (bytes)
 *   decode SET k "a b"\r\n                  →  [SET, k, a b]
 *   encode new SimpleString("OK")            →  +OK\r\n
 *   encode null                              →  $-1\r\n (RESP2) or _\r\n (RESP3)
 * ```
 *
 * Its FrameErrors carry redis-server's protocol error texts (`Protocol error:
 * invalid bulk length`) for the server to send back before it closes the
 * connection. A bulk over `maxBulkBytes` is refused at its header, before its
 * payload is held.
 *
 * @example Commands in, replies out
 * ```ts
 * import { ReadBuffer, WriteBuffer } from "weft";
 * import { respServerCodec, SimpleString } from "weft/resp";
 *
 * const codec = respServerCodec();
 * const src = new ReadBuffer();
 * src.push(new TextEncoder().encode("*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING\r\n"));
 * const text = (args: Uint8Array[]) => args.map((a) => new TextDecoder().decode(a)).join(" ");
 * console.assert(text(codec.decode(src)!) === "ECHO hi");
 * console.assert(text(codec.decode(src)!) === "PING");
 *
 * const out = new WriteBuffer();
 * codec.encode(new SimpleString("PONG"), out);
 * codec.encode(null, out);
 * codec.protocol = 3;
 * codec.encode(null, out);
 * console.assert(new TextDecoder().decode(out.bytes()) === "+PONG\r\n$-1\r\n_\r\n");
 * ```
 */
export function respServerCodec(options?: RespServerCodecOptions): RespServerCodec {
  const fn = "respServerCodec()";
  const o = checkOptions(fn, options);
  return new ServerCodec(new CommandDecoder(resolveLimits(fn, o)), checkProtocol(fn, o.protocol ?? 2));
}

/** respServerCodec() with the server's own decoding, {@link ServerCodec.decodeCommands}: for respServer(), not exported from the module. */
export function serverCodec(limits: RespLimits): ServerCodec {
  return new ServerCodec(new CommandDecoder(resolveLimits("respServer()", limits)), 2);
}

function checkProtocol(fn: string, protocol: unknown): 2 | 3 {
  if (protocol !== 2 && protocol !== 3) throw new RangeError(`Invalid protocol ${String(protocol)} for ${fn}: expected 2 or 3`);
  return protocol;
}

export class ServerCodec implements RespServerCodec {
  #decoder: CommandDecoder;
  #protocol: 2 | 3;

  constructor(decoder: CommandDecoder, protocol: 2 | 3) {
    this.#decoder = decoder;
    this.#protocol = protocol;
  }

  get protocol(): 2 | 3 {
    return this.#protocol;
  }

  set protocol(protocol: 2 | 3) {
    this.#protocol = checkProtocol("RespServerCodec", protocol);
  }

  get inCommand(): boolean {
    return this.#decoder.inCommand;
  }

  decode(src: ReadBuffer): Uint8Array[] | undefined {
    return this.#decoder.decode(src);
  }

  decodeMany(src: ReadBuffer, out: Uint8Array[][]): void {
    this.#decoder.decodeMany(src, out);
  }

  decodeEof(src: ReadBuffer): Uint8Array[] | undefined {
    return this.#decoder.decodeEof(src);
  }

  /** The commands complete in `src`, in the server's form. */
  decodeCommands(src: ReadBuffer, out: ParsedCommand[]): void {
    this.#decoder.decodeCommands(src, out);
  }

  encode(value: RespValue, dst: WriteBuffer): void {
    const start = dst.length;
    try {
      encodeValue(value, dst, this.#protocol);
    } catch (error) {
      dst.truncate(start); // nothing of a value that cannot be encoded
      throw error;
    }
  }
}
