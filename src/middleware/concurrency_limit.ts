import type { Middleware } from "../service/layer.ts";
import type { CallOptions, Service } from "../service/service.ts";
import { callSafely, checkCount, checkOptions, closedError, RESOLVED, Waiters } from "./_private.ts";

/** Options of {@link concurrencyLimit}. */
export interface ConcurrencyLimitOptions {
  /** Calls in flight at once in the inner service. Required. */
  max: number;
}

/**
 * Lets at most `max` calls into the inner service at once; the others wait
 * in line (first come, first served) and leave it at once, rejecting with
 * `signal.reason`, if their signal aborts. A slot is taken by a call when it
 * starts and given back when the inner call settles, however it does, so no
 * permit outlives its call. `capacity` is the number of free slots.
 *
 * The line itself is as long as the callers make it: put `loadShed()` or
 * `buffer()` outside to bound it.
 *
 * @example
 * ```ts
 * import { concurrencyLimit, serviceFn } from "weft";
 *
 * let running = 0;
 * let most = 0;
 * const svc = concurrencyLimit({ max: 2 })(serviceFn(async (n: number) => {
 *   most = Math.max(most, ++running);
 *   await new Promise((r) => setTimeout(r, 1));
 *   running--;
 *   return n;
 * }));
 * const results = await Promise.all([1, 2, 3, 4, 5].map((n) => svc.call(n)));
 * console.assert(results.join() === "1,2,3,4,5" && most === 2);
 * ```
 */
export function concurrencyLimit(options: ConcurrencyLimitOptions): Middleware {
  const o = checkOptions("concurrencyLimit()", options, true);
  const max = checkCount("concurrencyLimit()", "max", o.max);
  return <Req, Res>(inner: Service<Req, Res>): Service<Req, Res> => new ConcurrencyLimit(inner, max);
}

class ConcurrencyLimit<Req, Res> implements Service<Req, Res> {
  #inner: Service<Req, Res>;
  #max: number;
  #inFlight = 0;
  #line = new Waiters(); // calls waiting for a slot
  #ready = new Waiters(); // ready() callers waiting for capacity
  #closing = false;
  #drained: (() => void) | undefined;

  constructor(inner: Service<Req, Res>, max: number) {
    this.#inner = inner;
    this.#max = max;
  }

  get capacity(): number {
    return this.#max - this.#inFlight;
  }

  call(req: Req, options?: CallOptions): Promise<Res> {
    if (this.#closing) return Promise.reject(closedError("concurrencyLimit()"));
    if (this.#inFlight < this.#max) {
      this.#inFlight++;
      return this.#start(req, options);
    }
    // #release hands its slot straight to the first in line (#inFlight stays).
    const signal = options?.signal;
    return this.#line.wait(signal).then(() => {
      if (!signal?.aborted) return this.#start(req, options);
      this.#release(); // aborted as its turn came: pass the slot on
      throw signal.reason;
    });
  }

  ready(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return this.#inFlight < this.#max ? RESOLVED : this.#ready.wait(signal);
  }

  close(): Promise<void> {
    this.#closing = true;
    const drained = this.#inFlight === 0 ? RESOLVED : new Promise<void>((resolve) => (this.#drained = resolve));
    return drained.then(() => this.#inner.close?.());
  }

  #start(req: Req, options: CallOptions | undefined): Promise<Res> {
    const result = callSafely(this.#inner, req, options);
    result.then(this.#release, this.#release);
    return result;
  }

  #release = (): void => {
    if (this.#line.wake()) return; // the slot goes to the next in line
    this.#inFlight--;
    if (this.#inFlight === 0) this.#drained?.();
    this.#ready.wakeAll();
  };
}
