import { NetError } from "../errors.ts";
import type { Clock } from "../service/clock.ts";
import type { Middleware } from "../service/layer.ts";
import type { CallOptions, Service } from "../service/service.ts";
import { type Backoff, backoff } from "./backoff.ts";
import { callSafely, checkClock, checkCount, checkFunction, checkMs, checkNumber, checkOptions, Forward, sleep } from "./_private.ts";

/** Failures in a row that open the circuit: Finagle's FailureAccrualFactory default. */
export const DEFAULT_CONSECUTIVE_FAILURES = 5;
/** The first rest of an open circuit, before jitter: 5 s, as in Finagle. */
export const DEFAULT_OPEN_BASE_MS = 5_000;
/** The longest rest: 5 minutes, as in Finagle. */
export const DEFAULT_OPEN_MAX_MS = 300_000;

/** Failure accrual by success rate over a sliding window. */
export interface SuccessRateOptions {
  /** The lowest acceptable share of successes, from 0 to 1 (e.g. 0.8). */
  minRate: number;
  /** The window the rate is measured over, in milliseconds. Default 30 000. */
  windowMs?: number;
  /** Calls the window must hold before the rate counts, so that one early failure does not open it. Default 10. */
  minRequests?: number;
}

/** Options of {@link circuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Opens after this many failures in a row. Default 5. */
  consecutiveFailures?: number;
  /** Also opens when the success rate in a window falls below `minRate`. Default: off. */
  successRate?: SuccessRateOptions;
  /** How long the circuit stays open before a probe, the `n`-th time in a row. Default: 5 s doubling to 5 min, jittered. */
  backoff?: Backoff;
  /** Calls let through at once while half-open. Default 1. */
  probes?: number;
  /** Which errors count as failures. Default: all but those of a call whose signal aborted. */
  isFailure?(error: unknown): boolean;
  /** Where time comes from. Default: the platform's clock. */
  clock?: Clock;
}

type State = "closed" | "open" | "half-open";

/**
 * Stops calling a service that keeps failing. Closed, it counts failures: `n`
 * in a row, or a success rate under a minimum in a window, opens it. Open, it
 * fails every call at once with a `circuit-open` NetError, for a jittered,
 * growing rest. Then it is half-open: it lets `probes` calls through, and one
 * success closes it, one failure opens it again for longer. A call its caller
 * aborted counts neither way. `capacity` is 0 while open, so `balance()`
 * steers around it and `loadShed()` refuses at once.
 *
 * @example
 * ```ts
 * import { circuitBreaker, ManualClock, NetError, serviceFn } from "weft";
 *
 * const clock = new ManualClock();
 * let healthy = false;
 * const svc = circuitBreaker({ consecutiveFailures: 2, backoff: () => 1000, clock })(
 *   serviceFn(async () => {
 *     if (!healthy) throw new Error("down");
 *     return "ok";
 *   }),
 * );
 * await svc.call(1).catch(() => {});
 * await svc.call(2).catch(() => {});
 * const fast = await svc.call(3).catch((e) => e);
 * console.assert(fast instanceof NetError && fast.code === "circuit-open");
 * healthy = true;
 * await clock.advance(1000); // rested: the next call is a probe
 * console.assert(await svc.call(4) === "ok" && svc.capacity === undefined); // closed again
 * ```
 */
export function circuitBreaker(options?: CircuitBreakerOptions): Middleware {
  const o = checkOptions("circuitBreaker()", options);
  const consecutive = checkCount("circuitBreaker()", "consecutiveFailures", o.consecutiveFailures, DEFAULT_CONSECUTIVE_FAILURES);
  const rate = o.successRate === undefined ? undefined : checkOptions("circuitBreaker()", o.successRate, true);
  const config: Config = {
    consecutive,
    minRate: rate ? checkNumber("circuitBreaker()", "successRate.minRate", rate.minRate, 0, 1) : 0,
    windowMs: rate ? checkMs("circuitBreaker()", "successRate.windowMs", rate.windowMs, 30_000) : 30_000,
    minRequests: rate ? checkCount("circuitBreaker()", "successRate.minRequests", rate.minRequests, 10) : 0,
    useRate: rate !== undefined,
    backoff: checkFunction<Backoff>("circuitBreaker()", "backoff", o.backoff, backoff({ baseMs: DEFAULT_OPEN_BASE_MS, maxMs: DEFAULT_OPEN_MAX_MS })),
    probes: checkCount("circuitBreaker()", "probes", o.probes, 1),
    isFailure: checkFunction("circuitBreaker()", "isFailure", o.isFailure, () => true),
    clock: checkClock("circuitBreaker()", o.clock),
  };
  return <Req, Res>(inner: Service<Req, Res>): Service<Req, Res> => new Breaker(inner, config).service;
}

interface Config {
  consecutive: number;
  minRate: number;
  windowMs: number;
  minRequests: number;
  useRate: boolean;
  backoff: Backoff;
  probes: number;
  isFailure: (error: unknown) => boolean;
  clock: Clock;
}

const SLOTS = 10; // the success-rate window moves in tenths

class Breaker<Req, Res> {
  readonly service: Service<Req, Res>;
  #c: Config;
  #state: State = "closed";
  #failures = 0; // in a row
  #opened = 0; // times opened in a row, for the backoff
  #reopenAt = 0;
  #probing = 0;
  #ok = new Float64Array(SLOTS);
  #failed = new Float64Array(SLOTS);
  #slot = -Infinity;

  constructor(inner: Service<Req, Res>, config: Config) {
    this.#c = config;
    const breaker = this;
    this.service = new (class extends Forward<Req, Res, Req, Res> {
      override get capacity(): number | undefined {
        return breaker.#capacity(inner.capacity);
      }
      override ready(signal?: AbortSignal): Promise<void> {
        if (breaker.#state !== "open") return super.ready(signal);
        const wait = breaker.#reopenAt - config.clock.now();
        return wait > 0 ? sleep(config.clock, wait, signal).then(() => super.ready(signal)) : super.ready(signal);
      }
    })(inner, (req, options) => this.#call(inner, req, options));
  }

  #capacity(inner: number | undefined): number | undefined {
    this.#refresh();
    if (this.#state === "open") return 0;
    if (this.#state === "half-open") return Math.min(this.#c.probes - this.#probing, inner ?? Infinity);
    return inner;
  }

  /** Open becomes half-open once its rest is over. */
  #refresh(): void {
    if (this.#state === "open" && this.#c.clock.now() >= this.#reopenAt) this.#state = "half-open";
  }

  #call(inner: Service<Req, Res>, req: Req, options: CallOptions | undefined): Promise<Res> {
    this.#refresh();
    const state = this.#state;
    if (state === "open" || (state === "half-open" && this.#probing >= this.#c.probes)) {
      return Promise.reject(new NetError("circuit-open", `Cannot call service: the circuit is ${state === "open" ? "open" : "half-open and probing"}`));
    }
    const probe = state === "half-open";
    if (probe) this.#probing++;
    return callSafely(inner, req, options).then(
      (res) => {
        this.#record(true, probe);
        return res;
      },
      (error) => {
        if (options?.signal?.aborted || !this.#c.isFailure(error)) {
          if (probe) this.#probing--; // neither way: the next call probes
        } else this.#record(false, probe);
        throw error;
      },
    );
  }

  #record(ok: boolean, probe: boolean): void {
    if (probe) this.#probing--;
    const i = this.#c.useRate ? this.#roll() : 0;
    if (ok) {
      this.#failures = 0;
      if (this.#c.useRate) this.#ok[i]! += 1;
      if (probe) this.#close();
      return;
    }
    this.#failures++;
    if (this.#c.useRate) this.#failed[i]! += 1;
    if (probe || this.#failures >= this.#c.consecutive || this.#rateTooLow()) this.#open();
  }

  #rateTooLow(): boolean {
    if (!this.#c.useRate) return false;
    let ok = 0;
    let failed = 0;
    for (let i = 0; i < SLOTS; i++) {
      ok += this.#ok[i]!;
      failed += this.#failed[i]!;
    }
    return ok + failed >= this.#c.minRequests && ok / (ok + failed) < this.#c.minRate;
  }

  #roll(): number {
    const slot = Math.floor(this.#c.clock.now() / (this.#c.windowMs / SLOTS));
    for (let s = Math.max(this.#slot + 1, slot - SLOTS + 1); s <= slot; s++) {
      this.#ok[s % SLOTS] = 0;
      this.#failed[s % SLOTS] = 0;
    }
    this.#slot = Math.max(this.#slot, slot);
    return slot % SLOTS;
  }

  #open(): void {
    if (this.#state === "open") return;
    this.#state = "open";
    this.#reopenAt = this.#c.clock.now() + this.#c.backoff(++this.#opened);
  }

  #close(): void {
    this.#state = "closed";
    this.#failures = 0;
    this.#opened = 0;
    this.#ok.fill(0);
    this.#failed.fill(0);
  }
}
