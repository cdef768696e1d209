import type { Clock } from "../service/clock.ts";
import type { Middleware } from "../service/layer.ts";
import type { CallOptions, Service } from "../service/service.ts";
import { callSafely, checkClock, checkCount, checkMs, checkOptions, closedError, RESOLVED, Waiters } from "./_private.ts";

/** Options of {@link rateLimit}. */
export interface RateLimitOptions {
  /** Calls allowed per window. Required. */
  requests: number;
  /** The window's length in milliseconds. Required. */
  perMs: number;
  /** Where time comes from. Default: the platform's clock. */
  clock?: Clock;
}

/**
 * Lets at most `requests` calls start per `perMs` milliseconds (a fixed
 * window, as tower's RateLimit). Calls over the rate wait in line for the next
 * window; one whose signal aborts leaves at once, and the window's timer
 * runs only while someone waits. `capacity` is the number of calls the
 * current window has left.
 *
 * @example
 * ```ts
 * import { ManualClock, rateLimit, serviceFn } from "weft";
 *
 * const clock = new ManualClock();
 * const started: number[] = [];
 * const svc = rateLimit({ requests: 2, perMs: 1000, clock })(serviceFn(async (n: number) => {
 *   started.push(n);
 *   return n;
 * }));
 * const all = Promise.all([1, 2, 3].map((n) => svc.call(n)));
 * await clock.advance(0);
 * console.assert(started.join() === "1,2" && svc.capacity === 0);
 * await clock.advance(1000);
 * console.assert((await all).join() === "1,2,3");
 * ```
 */
export function rateLimit(options: RateLimitOptions): Middleware {
  const o = checkOptions("rateLimit()", options, true);
  const requests = checkCount("rateLimit()", "requests", o.requests);
  const perMs = checkMs("rateLimit()", "perMs", o.perMs);
  const clock = checkClock("rateLimit()", o.clock);
  return <Req, Res>(inner: Service<Req, Res>): Service<Req, Res> => new RateLimit(inner, requests, perMs, clock);
}

class RateLimit<Req, Res> implements Service<Req, Res> {
  #inner: Service<Req, Res>;
  #requests: number;
  #perMs: number;
  #clock: Clock;
  #windowEnd = -Infinity;
  #used = 0;
  #line = new Waiters();
  #ready = new Waiters();
  #timer: unknown;
  #armed = false;
  #closing = false;

  constructor(inner: Service<Req, Res>, requests: number, perMs: number, clock: Clock) {
    this.#inner = inner;
    this.#requests = requests;
    this.#perMs = perMs;
    this.#clock = clock;
    this.#line.onLeave = this.#ready.onLeave = () => this.#disarmIfIdle();
  }

  get capacity(): number {
    this.#roll();
    return this.#line.size > 0 ? 0 : this.#requests - this.#used;
  }

  call(req: Req, options?: CallOptions): Promise<Res> {
    if (this.#closing) return Promise.reject(closedError("rateLimit()"));
    if (this.capacity > 0) {
      this.#used++;
      return callSafely(this.#inner, req, options);
    }
    const waiting = this.#line.wait(options?.signal).then(() => callSafely(this.#inner, req, options));
    this.#arm();
    return waiting;
  }

  ready(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.capacity > 0) return RESOLVED;
    const waiting = this.#ready.wait(signal);
    this.#arm();
    return waiting;
  }

  async close(): Promise<void> {
    this.#closing = true;
    while (this.#line.size > 0) await this.ready().catch(() => {});
    await this.#inner.close?.();
  }

  /** Starts a new window when the current one is over. */
  #roll(): void {
    const now = this.#clock.now();
    if (now >= this.#windowEnd) {
      this.#windowEnd = now + this.#perMs;
      this.#used = 0;
    }
  }

  #arm(): void {
    if (this.#armed) return;
    this.#armed = true;
    this.#timer = this.#clock.setTimeout(this.#tick, this.#windowEnd - this.#clock.now());
  }

  #disarmIfIdle(): void {
    if (this.#armed && this.#line.size === 0 && this.#ready.size === 0) {
      this.#clock.clearTimeout(this.#timer);
      this.#armed = false;
    }
  }

  /** A window ended: the next in line take its calls. */
  #tick = (): void => {
    this.#armed = false;
    this.#roll();
    while (this.#used < this.#requests && this.#line.wake()) this.#used++;
    if (this.#used < this.#requests) this.#ready.wakeAll();
    if (this.#line.size > 0 || this.#ready.size > 0) this.#arm();
  };
}
