/** The limits of the RESP decoders, resolved once from their options. */
import { FrameError } from "../../../mod.ts";

/**
 * The longest bulk string accepted, in bytes: 64 MiB. Redis's own
 * `proto-max-bulk-len` is 512 MiB, but a server holds a bulk whole before it
 * acts on it, and a thousand connections each allowed 512 MiB is half a
 * terabyte: 64 MiB is past any value a cache should hold and keeps a flood
 * bounded. Raise it with `maxBulkBytes` to accept what Redis accepts.
 */
export const DEFAULT_MAX_BULK_BYTES = 64 * 1024 * 1024;

/** The most items in one array, set, push or map (pairs count twice): 1,048,576, the multibulk limit of Redis before 7.0. */
export const DEFAULT_MAX_AGGREGATE_LENGTH = 1024 * 1024;

/** How deep aggregates may nest: 128. Redis's deepest reply (COMMAND DOCS) nests 6 deep; the limit bounds the decoder's stack. */
export const DEFAULT_MAX_NESTING_DEPTH = 128;

/**
 * The longest line, in bytes without its CRLF: an inline command, a simple
 * string, an error, a number or a length header. 64 KiB, Redis's
 * PROTO_INLINE_MAX_SIZE.
 */
export const DEFAULT_MAX_INLINE_BYTES = 64 * 1024;

/**
 * The most bytes one whole value may take on the wire: 512 MiB, half of
 * Redis's `client-query-buffer-limit`. It bounds what a decoder holds for an
 * array of many large bulks, which the per-bulk limit alone does not.
 */
export const DEFAULT_MAX_VALUE_BYTES = 512 * 1024 * 1024;

/** The limits every RESP decoder takes. */
export interface RespLimits {
  /** The longest bulk string, in bytes. Default {@link DEFAULT_MAX_BULK_BYTES} (64 MiB). */
  maxBulkBytes?: number;
  /** The most items in one aggregate (map pairs count twice). Default {@link DEFAULT_MAX_AGGREGATE_LENGTH}. */
  maxAggregateLength?: number;
  /** How deep aggregates may nest (a flat array is depth 1). Default {@link DEFAULT_MAX_NESTING_DEPTH}. */
  maxNestingDepth?: number;
  /** The longest line, in bytes without CRLF. Default {@link DEFAULT_MAX_INLINE_BYTES} (64 KiB). */
  maxInlineBytes?: number;
  /** The most wire bytes of one whole value. Default {@link DEFAULT_MAX_VALUE_BYTES} (512 MiB). */
  maxValueBytes?: number;
}

/** Limits resolved to numbers. */
export interface Limits {
  bulk: number;
  aggregate: number;
  depth: number;
  inline: number;
  value: number;
}

/** Checks the limit options of `fn`. */
export function resolveLimits(fn: string, o: RespLimits): Limits {
  return {
    bulk: count(fn, "maxBulkBytes", o.maxBulkBytes, DEFAULT_MAX_BULK_BYTES),
    aggregate: count(fn, "maxAggregateLength", o.maxAggregateLength, DEFAULT_MAX_AGGREGATE_LENGTH),
    depth: count(fn, "maxNestingDepth", o.maxNestingDepth, DEFAULT_MAX_NESTING_DEPTH),
    inline: count(fn, "maxInlineBytes", o.maxInlineBytes, DEFAULT_MAX_INLINE_BYTES),
    value: count(fn, "maxValueBytes", o.maxValueBytes, DEFAULT_MAX_VALUE_BYTES),
  };
}

function count(fn: string, name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") throw new TypeError(`Invalid ${name} ${String(value)} for ${fn}: expected a positive integer`);
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`Invalid ${name} ${value} for ${fn}: expected a positive integer`);
  return value;
}

/** Checks an options argument. */
export function checkOptions<T extends object>(fn: string, options: T | undefined): T {
  if (options === undefined) return {} as T;
  if (typeof options !== "object" || options === null) throw new TypeError(`Invalid options for ${fn}: expected an object`);
  return options;
}

/** A `frame-too-large` FrameError. */
export function tooLarge(message: string): FrameError {
  return new FrameError("frame-too-large", message);
}

/** An `invalid-frame` FrameError. */
export function invalid(message: string): FrameError {
  return new FrameError("invalid-frame", message);
}

const LF = 0x0a;
const CR = 0x0d;
const MINUS = 0x2d;
const ZERO = 0x30;

/** The line terminator bytes. */
export { CR, LF };

/**
 * The integer in `bytes[from..to)`: an optional `-` and 1 to 15 digits, so
 * that the value is exact. NaN when it is anything else. Used for lengths,
 * where the limits are far below 10^15.
 */
export function parseSmallInt(bytes: Uint8Array, from: number, to: number): number {
  let sign = 1;
  if (from < to && bytes[from] === MINUS) {
    sign = -1;
    from++;
  }
  const digits = to - from;
  if (digits < 1 || digits > 15) return NaN;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = bytes[i]! - ZERO;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return sign * n;
}

const loose = new TextDecoder("utf-8", { ignoreBOM: true });
const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The bytes as text, or `undefined` when they are not valid UTF-8 (the replacing decoder first: it is faster). */
export function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  const text = loose.decode(bytes);
  if (text.indexOf("\uFFFD") === -1) return text;
  try {
    return fatal.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The bytes as text, invalid sequences replaced (simple strings and errors, which are text by definition). */
export function utf8Loose(bytes: Uint8Array): string {
  return loose.decode(bytes);
}

/** The bytes as a Latin-1 string: one character per byte, for messages. */
export function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}
