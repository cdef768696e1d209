import { FrameError } from "../errors.ts";

const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const loose = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Decodes a text frame; invalid UTF-8 is a FrameError `invalid-utf8`.
 *
 * The replacing decoder runs first: on some runtimes it is 2-6 times faster
 * than the fatal one. Only text that holds U+FFFD (an invalid sequence
 * replaced, or a real U+FFFD) is decoded again with the fatal decoder, which
 * decides.
 */
export function decodeUtf8(bytes: Uint8Array, codec: string): string {
  const text = loose.decode(bytes);
  if (text.indexOf("\uFFFD") === -1) return text;
  try {
    return fatal.decode(bytes);
  } catch (error) {
    throw new FrameError("invalid-utf8", `Cannot decode ${codec} frame: it is not valid UTF-8`, { cause: error });
  }
}

/** Checks a `maxFrameBytes` option: a positive integer of bytes. */
export function checkMaxFrameBytes(value: unknown, fallback: number): number {
  return checkInteger("maxFrameBytes", value, "positive", fallback);
}

/** Checks an option that takes one of `choices`. */
export function checkChoice<T extends string>(name: string, value: unknown, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!choices.includes(value as T)) {
    throw new TypeError(`Invalid ${name} ${JSON.stringify(value)}: expected ${choices.map((c) => `"${c}"`).join(" or ")}`);
  }
  return value as T;
}

const INTEGER_RANGES = {
  any: "an integer",
  "non-negative": "a non-negative integer",
  positive: "a positive integer",
} as const;

/**
 * Checks an option that counts bytes: a safe integer in `range` (else a
 * RangeError; not a number, a TypeError). Without a `fallback` the option is
 * required.
 */
export function checkInteger(name: string, value: unknown, range: keyof typeof INTEGER_RANGES, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "number") throw new TypeError(`Invalid ${name} ${show(value)}: expected ${INTEGER_RANGES[range]} of bytes`);
  if (
    !Number.isSafeInteger(value) ||
    (range === "non-negative" && value < 0) || (range === "positive" && value < 1)
  ) {
    throw new RangeError(`Invalid ${name} ${show(value)}: expected ${INTEGER_RANGES[range]} of bytes`);
  }
  return value;
}

/** An option's value for a message: strings quoted, so that "4" and 4 differ. */
export function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
