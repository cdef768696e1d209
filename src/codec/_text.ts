import { FrameError } from "../errors.ts";

const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decodes a text frame; invalid UTF-8 is a FrameError `invalid-utf8`. */
export function decodeUtf8(bytes: Uint8Array, codec: string): string {
  try {
    return fatal.decode(bytes);
  } catch (error) {
    throw new FrameError("invalid-utf8", `Cannot decode ${codec} frame: it is not valid UTF-8`, { cause: error });
  }
}

/** Checks a `maxFrameBytes` option: a positive integer of bytes. */
export function checkMaxFrameBytes(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`Invalid maxFrameBytes ${String(value)}: expected a positive integer of bytes`);
  }
  return value;
}

/** Checks an option that takes one of `choices`. */
export function checkChoice<T extends string>(name: string, value: unknown, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!choices.includes(value as T)) {
    throw new TypeError(`Invalid ${name} ${JSON.stringify(value)}: expected ${choices.map((c) => `"${c}"`).join(" or ")}`);
  }
  return value as T;
}
