/**
 * The values RESP carries, as JavaScript values.
 *
 * | wire (RESP2 / RESP3)            | decoded as                                  | encoded from                     |
 * |---------------------------------|---------------------------------------------|----------------------------------|
 * | `+OK` simple string             | `string`                                    | {@link SimpleString}             |
 * | `$5 hello` bulk string          | `Uint8Array` (or `string`, see `bulkAs`)    | `string` (UTF-8), `Uint8Array`   |
 * | `-ERR x` error, `!` bulk error  | {@link RespError}                           | {@link RespError}                |
 * | `:42` integer                   | `number` (`bigint` past 2^53 - 1)           | integer `number`, `bigint`       |
 * | `,3.14` double (`inf`, `nan`)   | `number`                                    | non-integer `number`, ±Infinity, NaN |
 * | `(1234…` big number             | `bigint`                                    | `bigint` outside 64 bits         |
 * | `#t` boolean                    | `boolean`                                   | `boolean` (`:1`/`:0` in RESP2)   |
 * | `$-1`, `*-1`, `_` null          | `null`                                      | `null`                           |
 * | `*` array                       | `RespValue[]`                               | arrays                           |
 * | `%` map                         | `Map`                                       | `Map` (a flat array in RESP2)    |
 * | `~` set                         | `Set`                                       | `Set` (an array in RESP2)        |
 * | `>` push                        | {@link Push}                                | {@link Push} (an array in RESP2) |
 * | `=` verbatim string             | {@link Verbatim}                            | {@link Verbatim} (bulk in RESP2) |
 * | `\|` attribute                  | skipped: the value after it is returned     | —                                |
 *
 * The classes keep the distinctions a server needs to reply exactly (`+OK` is
 * not `$2 OK`, an error is not a string); everything else is a plain value.
 *
 * @module
 */

/** A RESP value as decoded, or as given to an encoder. */
export type RespValue =
  | string
  | Uint8Array
  | number
  | bigint
  | boolean
  | null
  | SimpleString
  | RespError
  | Verbatim
  | Push
  | RespValue[]
  | Map<RespValue, RespValue>
  | Set<RespValue>;

/**
 * A simple string (`+OK\r\n`): what an encoder writes for a status reply.
 * Decoders give simple strings back as plain `string`s.
 *
 * @example A status reply
 * ```ts
 * import { respServerCodec, SimpleString } from "weft/resp";
 * import { WriteBuffer } from "weft";
 *
 * const out = new WriteBuffer();
 * respServerCodec().encode(new SimpleString("OK"), out);
 * console.assert(new TextDecoder().decode(out.bytes()) === "+OK\r\n");
 * ```
 */
export class SimpleString {
  /** The text; it cannot hold `\r` or `\n`. */
  readonly value: string;

  constructor(value: string) {
    if (typeof value !== "string") throw new TypeError(`Invalid simple string ${typeof value}: expected a string`);
    if (/[\r\n]/.test(value)) throw new RangeError(`Invalid simple string ${JSON.stringify(value)}: it contains "\\r" or "\\n"`);
    this.value = value;
  }

  /** The text. */
  toString(): string {
    return this.value;
  }
}

/**
 * An error reply (`-ERR unknown command\r\n`, or RESP3's `!` bulk error): a
 * value a caller branches on, not a thrown exception. `prefix` is its first
 * word when that is in capitals (`ERR`, `WRONGTYPE`, `NOAUTH`), the code
 * Redis clients branch on.
 *
 * @example Branch on the prefix
 * ```ts
 * import { RespError } from "weft/resp";
 *
 * const err = new RespError("WRONGTYPE Operation against a key holding the wrong kind of value");
 * console.assert(err.prefix === "WRONGTYPE" && err instanceof Error);
 * ```
 */
export class RespError extends Error {
  /** The first word of the message when it is all capitals, else `""`. */
  readonly prefix: string;

  constructor(message: string) {
    super(message);
    this.name = "RespError";
    const space = message.indexOf(" ");
    const first = space === -1 ? message : message.slice(0, space);
    this.prefix = /^[A-Z][A-Z0-9_-]*$/.test(first) ? first : "";
  }
}

/**
 * A RESP3 verbatim string (`=15\r\ntxt:Some string\r\n`): text with a
 * three-letter format (`txt`, `mkd`). RESP2 connections get it as a bulk string.
 *
 * @example
 * ```ts
 * import { Verbatim } from "weft/resp";
 *
 * const v = new Verbatim("txt", "Some string");
 * console.assert(String(v) === "Some string" && v.format === "txt");
 * ```
 */
export class Verbatim {
  /** Three characters: `txt` or `mkd`. */
  readonly format: string;
  /** The text. */
  readonly text: string;

  constructor(format: string, text: string) {
    if (typeof format !== "string" || format.length !== 3 || /[\r\n:]/.test(format)) {
      throw new RangeError(`Invalid verbatim format ${JSON.stringify(format)}: expected three characters such as "txt"`);
    }
    this.format = format;
    this.text = text;
  }

  /** The text. */
  toString(): string {
    return this.text;
  }
}

/**
 * A RESP3 push (`>3\r\n...`): out-of-band data such as a pub/sub message,
 * which is not the reply to a command. RESP2 connections get it as an array.
 *
 * @example A pub/sub message
 * ```ts
 * import { Push } from "weft/resp";
 *
 * const p = new Push(["message", "news", "hello"]);
 * console.assert(p.values.length === 3 && p.values[0] === "message");
 * ```
 */
export class Push {
  /** The items; the first names the kind (`message`, `subscribe`, `invalidate`). */
  readonly values: RespValue[];

  constructor(values: RespValue[]) {
    if (!Array.isArray(values)) throw new TypeError("Invalid push: expected an array of values");
    this.values = values;
  }
}
