/**
 * The decoder of any RESP2/RESP3 value (replies, on the client side).
 *
 * It is incremental: each line and each bulk string is taken from the buffer
 * as soon as it is whole, and partial aggregates wait on a stack, so a large
 * reply arriving in many chunks costs one pass however it is split.
 *
 * | state                         | needs                  | then                                |
 * |-------------------------------|------------------------|-------------------------------------|
 * | between items (`#bulk` = -1)  | a line up to CRLF      | a scalar, a bulk header or an aggregate header |
 * | bulk header read (`#bulk` ≥ 0) | `#bulk` + 2 bytes      | the bulk string                     |
 * | an item is done               | —                      | added to the top aggregate; a full aggregate pops and is added in turn |
 */
import type { Decoder, ReadBuffer } from "../../../mod.ts";
import { FrameError } from "../../../mod.ts";
import {
  CR,
  invalid,
  latin1,
  LF,
  type Limits,
  parseSmallInt,
  tooLarge,
  utf8Loose,
  utf8OrUndefined,
} from "./_limits.ts";
import { Push, RespError, type RespValue, Verbatim } from "./value.ts";

/** An aggregate being filled. */
interface Level {
  type: number;
  left: number;
  items: RespValue[];
}

const PENDING = Symbol("pending");
type Step = RespValue | typeof PENDING;

const T_SIMPLE = 0x2b; // +
const T_ERROR = 0x2d; // -
const T_INT = 0x3a; // :
const T_BULK = 0x24; // $
const T_ARRAY = 0x2a; // *
const T_NULL = 0x5f; // _
const T_BOOL = 0x23; // #
const T_DOUBLE = 0x2c; // ,
const T_BIG = 0x28; // (
const T_BULK_ERROR = 0x21; // !
const T_VERBATIM = 0x3d; // =
const T_MAP = 0x25; // %
const T_SET = 0x7e; // ~
const T_ATTR = 0x7c; // |
const T_PUSH = 0x3e; // >

const INTEGER = /^-?[0-9]+$/;
const DOUBLE = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

/** Decodes RESP values; bulk strings as bytes, or as text when they are UTF-8. */
export class ValueDecoder implements Decoder<RespValue> {
  #limits: Limits;
  #text: boolean;
  #stack: Level[] = [];
  #bulk = -1; // payload bytes of the bulk whose header was read, or -1
  #bulkType = 0;
  #scanned = 0; // bytes already searched for LF
  #valueBytes = 0; // wire bytes of the value being decoded

  constructor(limits: Limits, text: boolean) {
    this.#limits = limits;
    this.#text = text;
  }

  decode(src: ReadBuffer): RespValue | undefined {
    for (;;) {
      let value: Step;
      if (this.#bulk >= 0) {
        const n = this.#bulk;
        if (src.length < n + 2) return undefined;
        if (src.byteAt(n) !== CR || src.byteAt(n + 1) !== LF) {
          throw invalid("Cannot decode RESP bulk string: its payload is not followed by CRLF");
        }
        const payload = src.take(n);
        src.skip(2);
        this.#bulk = -1;
        value = this.#bulkValue(this.#bulkType, payload);
      } else {
        const end = src.indexOf(LF, this.#scanned);
        if (end === -1) {
          if (src.length > this.#limits.inline + 1) {
            throw tooLarge(`Cannot decode RESP line: more than ${src.length - 1} bytes exceed maxInlineBytes ${this.#limits.inline}`);
          }
          this.#scanned = src.length;
          return undefined;
        }
        this.#scanned = 0;
        if (end < 1 || src.byteAt(end - 1) !== CR) throw invalid("Cannot decode RESP line: it does not end with CRLF");
        // The line is the end - 1 bytes before its CRLF, type byte included.
        if (end - 1 > this.#limits.inline) {
          throw tooLarge(`Cannot decode RESP line: ${end - 1} bytes exceed maxInlineBytes ${this.#limits.inline}`);
        }
        this.#count(end + 1);
        const line = src.peek(end - 1);
        src.skip(end + 1);
        value = this.#line(line);
        if (value === PENDING) continue;
      }
      // An item is done: into its aggregate, and up while aggregates fill.
      const stack = this.#stack;
      for (;;) {
        const top = stack[stack.length - 1];
        if (top === undefined) {
          this.#valueBytes = 0;
          return value;
        }
        top.items.push(value);
        if (--top.left > 0) break;
        stack.pop();
        if (top.type === T_ATTR) break; // attributes are skipped: the value they annotate follows
        value = build(top);
      }
    }
  }

  decodeMany(src: ReadBuffer, out: RespValue[]): void {
    for (let v = this.decode(src); v !== undefined; v = this.decode(src)) out.push(v);
  }

  decodeEof(src: ReadBuffer): RespValue | undefined {
    if (src.length === 0 && this.#stack.length === 0 && this.#bulk === -1) return undefined;
    throw new FrameError("unexpected-eof", "Cannot decode RESP value: the stream ended inside one");
  }

  #count(bytes: number): void {
    this.#valueBytes += bytes;
    if (this.#valueBytes > this.#limits.value) {
      throw tooLarge(`Cannot decode RESP value: more than ${this.#valueBytes} bytes exceed maxValueBytes ${this.#limits.value}`);
    }
  }

  /** One line, `line[0]` its type byte, without CRLF. */
  #line(line: Uint8Array): Step {
    if (line.length === 0) throw invalid("Cannot decode RESP value: an empty line where a type byte belongs");
    const type = line[0]!;
    switch (type) {
      case T_SIMPLE:
        return utf8Loose(line.subarray(1));
      case T_ERROR:
        return new RespError(utf8Loose(line.subarray(1)));
      case T_INT: {
        const n = parseSmallInt(line, 1, line.length);
        if (n === n) return n;
        return integer(latin1(line.subarray(1)));
      }
      case T_NULL:
        if (line.length !== 1) throw invalid("Cannot decode RESP null: it has a payload");
        return null;
      case T_BOOL:
        if (line.length === 2 && line[1] === 0x74) return true;
        if (line.length === 2 && line[1] === 0x66) return false;
        throw invalid(`Cannot decode RESP boolean ${JSON.stringify(latin1(line.subarray(1)))}: expected "t" or "f"`);
      case T_DOUBLE:
        return double(latin1(line.subarray(1)));
      case T_BIG: {
        const text = latin1(line.subarray(1));
        if (!INTEGER.test(text.startsWith("+") ? text.slice(1) : text)) {
          throw invalid(`Cannot decode RESP big number ${JSON.stringify(text)}: expected digits`);
        }
        return BigInt(text);
      }
      case T_BULK:
      case T_BULK_ERROR:
      case T_VERBATIM:
        return this.#bulkHeader(type, line);
      case T_ARRAY:
      case T_MAP:
      case T_SET:
      case T_PUSH:
      case T_ATTR:
        return this.#aggregateHeader(type, line);
      default:
        throw invalid(`Cannot decode RESP value: unknown type byte ${JSON.stringify(String.fromCharCode(type))} (0x${type.toString(16)})`);
    }
  }

  #bulkHeader(type: number, line: Uint8Array): Step {
    const n = parseSmallInt(line, 1, line.length);
    if (n === -1 && type === T_BULK) return null;
    if (!(n >= 0)) throw invalid(`Cannot decode RESP bulk length ${JSON.stringify(latin1(line.subarray(1)))}: expected a non-negative integer`);
    // Checked before any of the payload is held.
    if (n > this.#limits.bulk) throw tooLarge(`Cannot decode RESP bulk string: ${n} bytes exceed maxBulkBytes ${this.#limits.bulk}`);
    this.#count(n + 2);
    this.#bulk = n;
    this.#bulkType = type;
    return PENDING;
  }

  #aggregateHeader(type: number, line: Uint8Array): Step {
    const n = parseSmallInt(line, 1, line.length);
    if (n === -1 && (type === T_ARRAY || type === T_MAP || type === T_SET)) return null;
    if (!(n >= 0)) throw invalid(`Cannot decode RESP aggregate length ${JSON.stringify(latin1(line.subarray(1)))}: expected a non-negative integer`);
    const items = type === T_MAP || type === T_ATTR ? n * 2 : n;
    if (items > this.#limits.aggregate) {
      throw tooLarge(`Cannot decode RESP aggregate: ${items} items exceed maxAggregateLength ${this.#limits.aggregate}`);
    }
    // Empty ones too: the value returned nests no deeper than the limit.
    if (this.#stack.length >= this.#limits.depth) {
      throw tooLarge(`Cannot decode RESP aggregate: nesting deeper than maxNestingDepth ${this.#limits.depth}`);
    }
    if (items === 0) {
      if (type === T_ATTR) return PENDING;
      return build({ type, left: 0, items: [] });
    }
    this.#stack.push({ type, left: items, items: [] });
    return PENDING;
  }

  #bulkValue(type: number, payload: Uint8Array): RespValue {
    if (type === T_BULK) {
      if (!this.#text) return payload;
      return utf8OrUndefined(payload) ?? payload;
    }
    if (type === T_BULK_ERROR) return new RespError(utf8Loose(payload));
    if (payload.length < 4 || payload[3] !== 0x3a) throw invalid("Cannot decode RESP verbatim string: expected a 3-byte format and a colon");
    const format = latin1(payload.subarray(0, 3));
    if (/[\r\n:]/.test(format)) throw invalid(`Cannot decode RESP verbatim string: invalid format ${JSON.stringify(format)}`);
    return new Verbatim(format, utf8Loose(payload.subarray(4)));
  }
}

function build(level: Level): RespValue {
  const items = level.items;
  switch (level.type) {
    case T_MAP: {
      const map = new Map<RespValue, RespValue>();
      for (let i = 0; i < items.length; i += 2) map.set(items[i]!, items[i + 1]!);
      return map;
    }
    case T_SET:
      return new Set(items);
    case T_PUSH:
      return new Push(items);
    default:
      return items;
  }
}

function integer(text: string): number | bigint {
  if (!INTEGER.test(text)) throw invalid(`Cannot decode RESP integer ${JSON.stringify(text)}: expected digits`);
  const big = BigInt(text);
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

function double(text: string): number {
  switch (text) {
    case "inf":
    case "+inf":
      return Infinity;
    case "-inf":
      return -Infinity;
    case "nan":
    case "-nan":
      return NaN;
  }
  if (!DOUBLE.test(text)) throw invalid(`Cannot decode RESP double ${JSON.stringify(text)}: expected a number, inf, -inf or nan`);
  return Number(text);
}
