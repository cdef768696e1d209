/** Helpers shared by serve() and pool(): option checks and quiet closes. */
import type { Conn } from "../bytes/conn.ts";
export { checkClock } from "../middleware/_private.ts";

/** An option's value for a message: strings quoted, so that "4" and 4 differ. */
function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : typeof value === "function" ? "function" : String(value);
}

/** Checks that `options` is an object (or absent, when `required` is false). */
export function checkOptions(fn: string, options: unknown, required = false): Record<string, unknown> {
  if (options === undefined && !required) return {};
  if (typeof options !== "object" || options === null) throw new TypeError(`Invalid ${fn} options ${show(options)}: expected an object`);
  return options as Record<string, unknown>;
}

/** A count option: a positive integer. */
export function checkCount(fn: string, name: string, value: unknown, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "number") throw new TypeError(`Invalid ${name} ${show(value)} for ${fn}: expected a positive integer`);
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`Invalid ${name} ${show(value)} for ${fn}: expected a positive integer`);
  return value;
}

/** A duration in milliseconds: positive (or 0 with `allowZero`); `Infinity` means never. */
export function checkMs(fn: string, name: string, value: unknown, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  const expected = `a ${allowZero ? "non-negative" : "positive"} number of milliseconds or Infinity`;
  if (typeof value !== "number") throw new TypeError(`Invalid ${name} ${show(value)} for ${fn}: expected ${expected}`);
  if (Number.isNaN(value) || value < 0 || (value === 0 && !allowZero)) throw new RangeError(`Invalid ${name} ${show(value)} for ${fn}: expected ${expected}`);
  return value;
}

/** A function option (or undefined when absent and not required). */
export function checkFunction<F>(fn: string, name: string, value: unknown, required = false): F | undefined {
  if (value === undefined && !required) return undefined;
  if (typeof value !== "function") throw new TypeError(`Invalid ${name} ${show(value)} for ${fn}: expected a function`);
  return value as F;
}


/** The `signal` option. */
export function checkSignal(fn: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw new TypeError(`Invalid signal ${show(value)} for ${fn}: expected an AbortSignal`);
  return value;
}

/** Closes `conn` (abortively with a `reason`), ignoring a conn that throws or rejects. */
export function closeQuietly(conn: Conn, reason?: unknown): void {
  try {
    (reason === undefined ? conn.close() : conn.close(reason)).catch(() => {});
  } catch {
    // a conn whose close() throws is as closed as it will get
  }
}
