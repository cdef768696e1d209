/**
 * Time as the middleware sees it: a monotonic `now()` in milliseconds and
 * one-shot timers. Every middleware that waits takes a `clock` option, so
 * that tests drive time with a {@link ManualClock} instead of sleeping.
 *
 * @example
 * ```ts
 * import { systemClock } from "weft";
 *
 * const start = systemClock.now();
 * await new Promise<void>((done) => systemClock.setTimeout(done, 1));
 * console.assert(systemClock.now() >= start);
 * ```
 */
export interface Clock {
  /** Milliseconds since an arbitrary origin; never goes back. */
  now(): number;
  /** Calls `callback` once after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a timer that has not fired yet; does nothing for one that has. */
  clearTimeout(handle: unknown): void;
}

/** The platform's clock: `performance.now()` and the global timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
