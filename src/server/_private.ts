/** Helpers shared by serve() and pool(): option checks and quiet closes. */
import type { Conn } from "../bytes/conn.ts";
import { show } from "../middleware/_private.ts";
export { checkClock, checkCount, checkOptions } from "../middleware/_private.ts";

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
