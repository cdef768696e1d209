import { NetError } from "../errors.ts";
import type { Clock } from "../service/clock.ts";
import type { CallOptions, Service } from "../service/service.ts";
import { callSafely, checkChoice, closedError, checkClock, checkMs, checkOptions, checkRandom, RESOLVED } from "./_private.ts";

/** How fast peak EWMA forgets a slow response: tower's default decay of 10 s. */
export const DEFAULT_EWMA_DECAY_MS = 10_000;
/** The latency a new backend is assumed to have until it answers: optimistic enough to try it, not to flood it. */
export const DEFAULT_EWMA_INITIAL_MS = 30;

/** Options of {@link balance}. */
export interface BalanceOptions<Req, Res> {
  /** The services to start with. More come and go with `add()` and `remove()`. */
  services?: Iterable<Service<Req, Res>>;
  /**
   * How load is measured: `"pending"` (default), the calls in flight; or
   * `"peak-ewma"`, the latency's moving average (that jumps to any slower
   * response and decays over `decayMs`) times the calls in flight plus one.
   */
  load?: "pending" | "peak-ewma";
  /** Peak EWMA's decay time, in milliseconds. Default 10 000. */
  decayMs?: number;
  /** Peak EWMA's latency for a backend not yet measured, in milliseconds. Default 30. */
  initialMs?: number;
  /** A number in [0, 1): picks the two candidates. Default `Math.random`. */
  random?: () => number;
  /** Where time comes from. Default: the platform's clock. */
  clock?: Clock;
}

/** A service that spreads calls over a set of services that can change while it runs. */
export interface Balanced<Req, Res> extends Service<Req, Res> {
  /** Adds a service to the set. */
  add(service: Service<Req, Res>): void;
  /** Takes a service out of the set; its calls in flight finish. False if it was not in it. */
  remove(service: Service<Req, Res>): boolean;
  /** The services in the set. */
  readonly services: readonly Service<Req, Res>[];
  /** Calls in flight to each service, in the order of `services`. */
  readonly pending: readonly number[];
  /** Refuses new calls and closes every service in the set (each drains its calls in flight). */
  close(): Promise<void>;
}

interface Endpoint<Req, Res> {
  service: Service<Req, Res>;
  pending: number;
  ewmaMs: number;
  stamp: number; // when ewmaMs was last updated
}

/**
 * Power of two choices: each call picks two services of the set at random
 * and goes to the less loaded of them (by calls in flight, or by peak EWMA
 * latency), preferring one with `capacity`. As good as asking every backend
 * for its load, at the cost of asking two, and without the herd that always
 * picking the least loaded one brings. It makes a service of many services,
 * so it is not a layer on one: stack layers on top of it, and a `retry()`
 * there will most likely send the second attempt elsewhere.
 *
 * @example
 * ```ts
 * import { balance, serviceFn } from "weft";
 *
 * const hits = { a: 0, b: 0 };
 * const a = serviceFn(async () => ++hits.a);
 * const b = serviceFn(async () => ++hits.b);
 * const lb = balance({ services: [a, b] });
 * await Promise.all(Array.from({ length: 10 }, () => lb.call(null)));
 * console.assert(hits.a + hits.b === 10);
 * lb.remove(a);
 * await lb.call(null);
 * console.assert(hits.b === 10 - hits.a + 1);
 * ```
 */
export function balance<Req, Res>(options?: BalanceOptions<Req, Res>): Balanced<Req, Res> {
  const o = checkOptions("balance()", options);
  const load = checkChoice("balance()", "load", o.load, ["pending", "peak-ewma"], "pending");
  const decayMs = checkMs("balance()", "decayMs", o.decayMs, DEFAULT_EWMA_DECAY_MS);
  const initialMs = checkMs("balance()", "initialMs", o.initialMs, DEFAULT_EWMA_INITIAL_MS);
  const random = checkRandom("balance()", o.random);
  const clock = checkClock("balance()", o.clock);
  const endpoints: Endpoint<Req, Res>[] = [];
  let closing = false;

  const cost = (e: Endpoint<Req, Res>): number => {
    if (load === "pending") return e.pending;
    const decayed = e.ewmaMs * Math.exp(-(clock.now() - e.stamp) / decayMs);
    return Math.max(decayed, 0) * (e.pending + 1);
  };
  const hasRoom = (e: Endpoint<Req, Res>) => {
    const c = e.service.capacity;
    return c === undefined || c > 0;
  };
  const pick = (): Endpoint<Req, Res> | undefined => {
    const n = endpoints.length;
    if (n <= 1) return endpoints[0];
    const i = Math.floor(random() * n);
    const j = (i + 1 + Math.floor(random() * (n - 1))) % n; // another one
    const a = endpoints[i]!;
    const b = endpoints[j]!;
    const roomA = hasRoom(a);
    if (roomA !== hasRoom(b)) return roomA ? a : b;
    return cost(b) < cost(a) ? b : a;
  };
  const observe = (e: Endpoint<Req, Res>, start: number) => {
    const now = clock.now();
    const rtt = now - start;
    if (rtt > e.ewmaMs) e.ewmaMs = rtt; // peak: a slow response counts at once
    else {
      const w = Math.exp(-(now - e.stamp) / decayMs);
      e.ewmaMs = e.ewmaMs * w + rtt * (1 - w);
    }
    e.stamp = now;
  };
  const add = (service: Service<Req, Res>) => {
    if (typeof service?.call !== "function") throw new TypeError("Invalid service for balance(): expected an object with call()");
    endpoints.push({ service, pending: 0, ewmaMs: initialMs, stamp: clock.now() });
  };
  for (const s of o.services as Iterable<Service<Req, Res>> ?? []) add(s);

  return {
    call(req: Req, options?: CallOptions): Promise<Res> {
      if (closing) return Promise.reject(closedError("balance()"));
      const e = pick();
      if (!e) return Promise.reject(new NetError("unavailable", "Cannot call service: balance() has no services"));
      e.pending++;
      const start = clock.now();
      const result = callSafely(e.service, req, options);
      const done = () => {
        e.pending--;
        if (load === "peak-ewma") observe(e, start);
      };
      result.then(done, done);
      return result;
    },
    get capacity() {
      let total = 0;
      for (const e of endpoints) {
        const c = e.service.capacity;
        if (c === undefined) return undefined;
        total += c;
      }
      return total;
    },
    ready(signal?: AbortSignal): Promise<void> {
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (endpoints.length === 0 || endpoints.some(hasRoom)) return RESOLVED;
      // Ready when any one is: wait on all, and stop the others' waits after.
      const stop = new AbortController();
      const onAbort = () => stop.abort(signal!.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      const waits = endpoints.map((e) => e.service.ready?.(stop.signal) ?? RESOLVED);
      return Promise.any(waits).then(
        () => {
          signal?.removeEventListener("abort", onAbort);
          stop.abort();
        },
        () => {
          signal?.removeEventListener("abort", onAbort);
          throw signal?.reason;
        },
      );
    },
    add,
    remove(service: Service<Req, Res>): boolean {
      const at = endpoints.findIndex((e) => e.service === service);
      if (at < 0) return false;
      endpoints.splice(at, 1);
      return true;
    },
    get services() {
      return endpoints.map((e) => e.service);
    },
    get pending() {
      return endpoints.map((e) => e.pending);
    },
    async close(): Promise<void> {
      closing = true;
      await Promise.all(endpoints.map((e) => e.service.close?.()));
    },
  };
}
