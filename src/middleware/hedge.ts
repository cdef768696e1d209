import type { Clock } from "../service/clock.ts";
import type { Middleware } from "../service/layer.ts";
import type { CallOptions, Service } from "../service/service.ts";
import { callSafely, checkClock, checkCount, checkNumber, checkOptions, Forward } from "./_private.ts";
import { RetryBudget } from "./retry_budget.ts";

/** The latency after which a backup is sent: the 95th percentile, so about one call in twenty is hedged. */
export const DEFAULT_HEDGE_PERCENTILE = 0.95;
/** Latencies observed before any hedging: below that the percentile is a guess. */
export const DEFAULT_HEDGE_MIN_SAMPLES = 20;
/** Latencies remembered (the most recent): enough for a stable 99th percentile, recent enough to follow change. */
export const DEFAULT_HEDGE_SAMPLES = 1000;
/** Backups allowed per 100 calls, on top of a small reserve: hedging must not double the load when all is slow. */
export const DEFAULT_HEDGE_PERCENT = 10;

/** Options of {@link hedge}. */
export interface HedgeOptions {
  /** The observed latency percentile, from 0 to 1, after which a backup call is sent. Default 0.95. */
  percentile?: number;
  /** Successful calls to observe before hedging starts. Default 20. */
  minSamples?: number;
  /** How many of the latest latencies the percentile is taken from. Default 1000. */
  samples?: number;
  /** The budget backups are taken from. Default: 10% of calls plus 1 a second, over 10 s. */
  budget?: RetryBudget;
  /** Where time comes from. Default: the platform's clock. */
  clock?: Clock;
}

/**
 * Sends a backup of a call that is slower than most: once the call has taken
 * longer than the `percentile` of the latencies observed, the same request is
 * sent again (when the inner service has capacity and the budget allows). The
 * first answer wins and the other call's signal aborts. An error from one call
 * waits for the other; if both fail, the first error is given. Only for
 * requests that are safe to send twice (reads, idempotent writes).
 *
 * @example
 * ```ts
 * import { hedge, ManualClock, serviceFn } from "weft";
 *
 * const clock = new ManualClock();
 * const aborted: number[] = [];
 * let n = 0;
 * const svc = hedge({ minSamples: 1, clock })(serviceFn((_req: string, { signal }) => {
 *   const id = ++n;
 *   signal.addEventListener("abort", () => aborted.push(id));
 *   // The first call is quick, the second stuck, its backup quick again.
 *   return new Promise<number>((resolve) => { if (id !== 2) clock.setTimeout(() => resolve(id), 10); });
 * }));
 * const first = svc.call("a");
 * await clock.advance(10);
 * console.assert(await first === 1); // observed: 10 ms
 * const second = svc.call("b");
 * await clock.advance(10); // past the 95th percentile: a backup is sent
 * await clock.advance(10);
 * console.assert(await second === 3 && aborted.join() === "2"); // the backup won; the stuck call was aborted
 * ```
 */
export function hedge(options?: HedgeOptions): Middleware {
  const o = checkOptions("hedge()", options);
  const percentile = checkNumber("hedge()", "percentile", o.percentile, 0, 1, DEFAULT_HEDGE_PERCENTILE);
  const minSamples = checkCount("hedge()", "minSamples", o.minSamples, DEFAULT_HEDGE_MIN_SAMPLES);
  const samples = checkCount("hedge()", "samples", o.samples, DEFAULT_HEDGE_SAMPLES);
  const clock = checkClock("hedge()", o.clock);
  if (o.budget !== undefined && !(o.budget instanceof RetryBudget)) throw new TypeError("Invalid budget for hedge(): expected a RetryBudget");
  return <Req, Res>(inner: Service<Req, Res>): Service<Req, Res> => {
    const latencies = new Latencies(samples, percentile, minSamples);
    const budget = (o.budget as RetryBudget | undefined) ??
      new RetryBudget({ retryPercent: DEFAULT_HEDGE_PERCENT, minRetriesPerSecond: 1, clock });
    return new Forward(inner, (req: Req, options?: CallOptions) => hedged(inner, req, options?.signal, latencies, budget, clock));
  };
}

/** The latest latencies in a ring, and their percentile, sorted again only after every 16 new ones. */
class Latencies {
  #ring: Float64Array;
  #count = 0;
  #percentile: number;
  #min: number;
  #cached: number | undefined;
  #since = 0;

  constructor(size: number, percentile: number, min: number) {
    this.#ring = new Float64Array(size);
    this.#percentile = percentile;
    this.#min = min;
  }

  add(ms: number): void {
    this.#ring[this.#count++ % this.#ring.length] = ms;
    if (++this.#since >= 16) this.#cached = undefined;
  }

  /** The latency after which to hedge, or undefined while there are too few samples. */
  threshold(): number | undefined {
    const n = Math.min(this.#count, this.#ring.length);
    if (n < this.#min) return undefined;
    if (this.#cached === undefined || n < 16) {
      const sorted = this.#ring.slice(0, n).sort();
      this.#cached = sorted[Math.min(n - 1, Math.floor(this.#percentile * n))]!;
      this.#since = 0;
    }
    return this.#cached;
  }
}

function hedged<Req, Res>(
  inner: Service<Req, Res>,
  req: Req,
  signal: AbortSignal | undefined,
  latencies: Latencies,
  budget: RetryBudget,
  clock: Clock,
): Promise<Res> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  budget.deposit();
  const start = clock.now();
  const after = latencies.threshold();
  return new Promise<Res>((resolve, reject) => {
    const controllers: AbortController[] = [];
    let running = 0;
    let firstError: { error: unknown } | undefined; // boxed: an error may be undefined
    let settled = false;
    let timer: unknown;
    let armed = false;
    const finish = () => {
      settled = true;
      if (armed) clock.clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      if (settled) return;
      finish();
      for (const c of controllers) c.abort(signal!.reason);
      reject(signal!.reason);
    };
    const launch = () => {
      const controller = new AbortController();
      controllers.push(controller);
      running++;
      callSafely(inner, req, { signal: controller.signal }).then(
        (res) => {
          running--;
          if (settled) return;
          finish();
          latencies.add(clock.now() - start);
          for (const c of controllers) if (c !== controller) c.abort(new DOMException("Hedged call lost the race", "AbortError"));
          resolve(res);
        },
        (error) => {
          running--;
          if (settled) return;
          firstError ??= { error };
          if (running > 0) return; // the other call may still answer
          finish();
          reject(firstError.error);
        },
      );
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    launch();
    if (after !== undefined) {
      armed = true;
      timer = clock.setTimeout(() => {
        armed = false;
        if (settled) return;
        const capacity = inner.capacity;
        if ((capacity === undefined || capacity > 0) && budget.withdraw()) launch();
      }, after);
    }
  });
}
