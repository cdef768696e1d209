/** Encoding RESP values (replies) and commands into a WriteBuffer. */
import type { WriteBuffer } from "../../../mod.ts";
import { Push, RespError, type RespValue, SimpleString, Verbatim } from "./value.ts";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const utf8 = new TextEncoder();
/** Strings longer than this are encoded once with TextEncoder instead of measured first. */
const MEASURE_LIMIT = 1024;

/** The UTF-8 length of `s`, as TextEncoder would encode it (a lone surrogate takes 3 bytes). */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else {
      n += 2; // 3 bytes, or 4 for a surrogate pair of 2 units
      if (c >= 0xd800 && c <= 0xdbff) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) i++;
      }
    }
  }
  return n;
}

/** `<type><n>\r\n` for a non-negative safe integer `n`, without building a string for it: a header or an integer reply. */
function writeHeader(dst: WriteBuffer, type: number, n: number): void {
  dst.writeByte(type);
  dst.writeLatin1(String(n)); // small integers' strings are cached by the engines
  dst.writeByte(0x0d);
  dst.writeByte(0x0a);
}

/** A bulk string of `value`: `$<len>\r\n<bytes>\r\n`. */
export function writeBulk(dst: WriteBuffer, value: string | Uint8Array): void {
  if (typeof value === "string") {
    if (value.length > MEASURE_LIMIT) value = utf8.encode(value);
    else {
      writeHeader(dst, 0x24, utf8Length(value));
      dst.writeUtf8(value);
      dst.writeByte(0x0d);
      dst.writeByte(0x0a);
      return;
    }
  }
  writeHeader(dst, 0x24, value.length);
  dst.write(value);
  dst.writeByte(0x0d);
  dst.writeByte(0x0a);
}

/** An error line: `\r` and `\n` become spaces, as redis-server does with error replies. */
function errorLine(message: string): string {
  return message.replace(/[\r\n]/g, " ");
}

function double(n: number): string {
  if (n === Infinity) return "inf";
  if (n === -Infinity) return "-inf";
  if (n !== n) return "nan";
  return String(n);
}

/** Appends `value` for a connection speaking RESP `protocol` (2 or 3). */
export function encodeValue(value: RespValue, dst: WriteBuffer, protocol: 2 | 3): void {
  if (typeof value === "string" || value instanceof Uint8Array) return writeBulk(dst, value);
  if (typeof value === "number") {
    if (Number.isSafeInteger(value)) {
      if (value >= 0) writeHeader(dst, 0x3a, value);
      else dst.writeUtf8(`:${value}\r\n`);
    } else if (protocol === 3) dst.writeUtf8(`,${double(value)}\r\n`);
    else writeBulk(dst, double(value));
    return;
  }
  if (value === null) {
    dst.writeUtf8(protocol === 3 ? "_\r\n" : "$-1\r\n");
    return;
  }
  if (Array.isArray(value)) return aggregate(dst, "*", value, value.length, protocol);
  if (value instanceof SimpleString) {
    dst.writeByte(0x2b);
    dst.writeUtf8(value.value);
    dst.writeByte(0x0d);
    dst.writeByte(0x0a);
    return;
  }
  if (value instanceof RespError) {
    dst.writeUtf8(`-${errorLine(value.message)}\r\n`);
    return;
  }
  if (typeof value === "bigint") {
    if (value >= INT64_MIN && value <= INT64_MAX) dst.writeUtf8(`:${value}\r\n`);
    else if (protocol === 3) dst.writeUtf8(`(${value}\r\n`);
    else writeBulk(dst, String(value));
    return;
  }
  if (typeof value === "boolean") {
    dst.writeUtf8(protocol === 3 ? (value ? "#t\r\n" : "#f\r\n") : value ? ":1\r\n" : ":0\r\n");
    return;
  }
  if (value instanceof Map) {
    if (protocol === 3) dst.writeUtf8(`%${value.size}\r\n`);
    else dst.writeUtf8(`*${value.size * 2}\r\n`);
    for (const [k, v] of value) {
      encodeValue(k, dst, protocol);
      encodeValue(v, dst, protocol);
    }
    return;
  }
  if (value instanceof Set) return aggregate(dst, protocol === 3 ? "~" : "*", value, value.size, protocol);
  if (value instanceof Push) return aggregate(dst, protocol === 3 ? ">" : "*", value.values, value.values.length, protocol);
  if (value instanceof Verbatim) {
    if (protocol === 2) return writeBulk(dst, value.text);
    const body = utf8.encode(value.text);
    dst.writeUtf8(`=${body.length + 4}\r\n${value.format}:`);
    dst.write(body);
    dst.writeUtf8("\r\n");
    return;
  }
  throw new TypeError(`Cannot encode ${describe(value)} as RESP: expected a RespValue`);
}

function aggregate(dst: WriteBuffer, type: string, items: Iterable<RespValue>, size: number, protocol: 2 | 3): void {
  dst.writeUtf8(`${type}${size}\r\n`);
  for (const item of items) encodeValue(item, dst, protocol);
}

function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}

/** A command as a multibulk of bulk strings. */
export function encodeCommand(command: readonly (string | Uint8Array | number)[], dst: WriteBuffer): void {
  if (!Array.isArray(command) || command.length === 0) {
    throw new TypeError("Cannot encode RESP command: expected a non-empty array of strings, Uint8Arrays or numbers");
  }
  const start = dst.length;
  dst.writeUtf8(`*${command.length}\r\n`);
  for (const arg of command) {
    if (typeof arg === "string" || arg instanceof Uint8Array) writeBulk(dst, arg);
    else if (typeof arg === "number" && Number.isFinite(arg)) writeBulk(dst, String(arg));
    else {
      dst.truncate(start);
      throw new TypeError(`Cannot encode RESP command argument ${describe(arg)}: expected a string, a Uint8Array or a finite number`);
    }
  }
}
