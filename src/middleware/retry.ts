import { NetError } from "../errors.ts";
import type { Clock } from "../service/clock.ts";
import type { Middleware } from "../service/layer.ts";
import type { CallOptions, Service } from "../service/service.ts";
import { type Backoff, backoff as exponentialBackoff } from "./backoff.ts";
import { callSafely, checkClock, checkCount, checkFunction, checkOptions, Forward, sleep } from "./_private.ts";
import { RetryBudget } from "./retry_budget.ts";

/** Attempts in all, the first included: tower's and Finagle's usual 2 retries. */
export const DEFAULT_MAX_ATTEMPTS = 3;

/**
 * Errors that say the request never reached the service, so sending it again
 * cannot do anything twice: nothing listened, a layer refused it for load, or
 * a circuit breaker failed it fast. Timeouts and resets are not here: the
 * request may have been processed.
 */
const SAFE_CODES = new Set(["connection-refused", "overloaded", "circuit-open"]);

/**
 * The default retry policy: true for a NetError whose code says the request
 * was never processed (`connection-refused`, `overloaded`, `circuit-open`).
 *
 * @example
 * ```ts
 * import { NetError, retrySafe } from "weft";
 *
 * console.assert(retrySafe(new NetError("overloaded", "busy")));
 * console.assert(!retrySafe(new NetError("connection-reset", "reset")) && !retrySafe(new Error("boom")));
 * ```
 */
export function retrySafe(error: unknown): boolean {
  return error instanceof NetError && SAFE_CODES.has(error.code);
}

/** Options of {@link retry}. */
export interface RetryOptions {
  /**
   * Whether a failed attempt may be sent again: only when doing the request
   * twice is harmless (it never reached the service, or it is idempotent).
   * Default {@link retrySafe}.
   */
  shouldRetry?(error: unknown, request: unknown, attempt: number): boolean;
  /** Attempts in all, the first included. Default 3. */
  maxAttempts?: number;
  /** The delay before retry `n` (1 for the first), in milliseconds. Default `backoff()`: 50 ms doubling to 10 s, jittered. */
  backoff?: Backoff;
  /** The retry budget; share one among layers that call the same backend. Default: a `new RetryBudget()` per layer (10 s, 10/s, 20%). */
  budget?: RetryBudget;
  /** Where time comes from. Default: the platform's clock. */
  clock?: Clock;
}

/**
 * Sends a failed request again, when the policy calls it safe, after an
 * exponential, jittered backoff, while the retry budget allows. A call whose
 * signal aborted is never retried, and aborting during the backoff ends the
 * wait at once. Past the budget, the call rejects with a
 * `retry-budget-exhausted` NetError whose `cause` is the last error; after the
 * last attempt, with the last error itself.
 *
 * @example A refused connection, retried
 * ```ts
 * import { ManualClock, NetError, retry, serviceFn } from "weft";
 *
 * const clock = new ManualClock();
 * let attempts = 0;
 * const svc = retry({ clock })(serviceFn(async (req: string) => {
 *   if (++attempts < 3) throw new NetError("connection-refused", "Cannot connect");
 *   return req;
 * }));
 * const result = svc.call("hello");
 * await clock.advance(50); // the first backoff: 25-50 ms
 * await clock.advance(100); // the second: 50-100 ms
 * console.assert(await result === "hello" && attempts === 3);
 * ```
 */
export function retry(options?: RetryOptions): Middleware {
  const o = checkOptions("retry()", options);
  const shouldRetry = checkFunction<NonNullable<RetryOptions["shouldRetry"]>>("retry()", "shouldRetry", o.shouldRetry, retrySafe);
  const maxAttempts = checkCount("retry()", "maxAttempts", o.maxAttempts, DEFAULT_MAX_ATTEMPTS);
  const delay = checkFunction<Backoff>("retry()", "backoff", o.backoff, exponentialBackoff());
  const clock = checkClock("retry()", o.clock);
  if (o.budget !== undefined && !(o.budget instanceof RetryBudget)) throw new TypeError("Invalid budget for retry(): expected a RetryBudget");
  return <Req, Res>(inner: Service<Req, Res>): Service<Req, Res> => {
    const budget = (o.budget as RetryBudget | undefined) ?? new RetryBudget({ clock });
    const again = async (req: Req, options: CallOptions | undefined, error: unknown): Promise<Res> => {
      for (let attempt = 1;; attempt++) {
        const signal = options?.signal;
        if (signal?.aborted) throw signal.reason; // the caller gave up: never retry that
        if (attempt >= maxAttempts || !shouldRetry(error, req, attempt)) throw error;
        if (!budget.withdraw()) {
          throw new NetError("retry-budget-exhausted", `Cannot retry: the retry budget is exhausted after ${attempt} attempts`, { cause: error });
        }
        await sleep(clock, delay(attempt), signal);
        try {
          return await callSafely(inner, req, options);
        } catch (e) {
          error = e;
        }
      }
    };
    return new Forward(inner, (req: Req, options?: CallOptions): Promise<Res> => {
      budget.deposit();
      return callSafely(inner, req, options).catch((error) => again(req, options, error));
    });
  };
}
