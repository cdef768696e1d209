import { checkMs, checkNumber, checkOptions, checkRandom } from "./_private.ts";

/** The first delay before jitter: short enough that a retry still fits an interactive deadline. */
export const DEFAULT_BACKOFF_BASE_MS = 50;
/** The longest delay: beyond 10 s a caller is better told of the failure. */
export const DEFAULT_BACKOFF_MAX_MS = 10_000;
/** Each delay doubles the one before, as in tower's and Finagle's exponential backoffs. */
export const DEFAULT_BACKOFF_FACTOR = 2;

/** Options of {@link backoff}. */
export interface BackoffOptions {
  /** The delay before the first retry, before jitter, in milliseconds. Default 50. */
  baseMs?: number;
  /** The longest delay, in milliseconds. Default 10 000. */
  maxMs?: number;
  /** How much each delay grows. Default 2. */
  factor?: number;
  /** A number in [0, 1): the jitter's source. Default `Math.random`. */
  random?: () => number;
}

/** A delay in milliseconds before attempt `n` (1 for the first retry or reopening). */
export type Backoff = (n: number) => number;

/**
 * Exponential backoff with jitter: the `n`-th delay is `baseMs * factor^(n-1)`,
 * capped at `maxMs`, then spread at random over its upper half ("equal
 * jitter"). Jitter keeps clients that failed together from retrying together;
 * keeping half the delay keeps it from collapsing to zero.
 *
 * @example
 * ```ts
 * import { backoff } from "weft";
 *
 * const delay = backoff({ baseMs: 100, maxMs: 1000, random: () => 0.5 });
 * console.assert(delay(1) === 75 && delay(2) === 150 && delay(10) === 750);
 * ```
 */
export function backoff(options?: BackoffOptions): Backoff {
  const o = checkOptions("backoff()", options);
  const baseMs = checkMs("backoff()", "baseMs", o.baseMs, DEFAULT_BACKOFF_BASE_MS, true);
  const maxMs = checkMs("backoff()", "maxMs", o.maxMs, DEFAULT_BACKOFF_MAX_MS, true);
  const factor = checkNumber("backoff()", "factor", o.factor, 1, 1000, DEFAULT_BACKOFF_FACTOR);
  const random = checkRandom("backoff()", o.random);
  if (maxMs < baseMs) throw new RangeError(`Invalid maxMs ${maxMs} for backoff(): less than baseMs ${baseMs}`);
  return (n) => {
    const cap = Math.min(maxMs, baseMs * factor ** Math.max(0, n - 1));
    return cap / 2 + (cap / 2) * random();
  };
}
