import type { Layer, Middleware } from "./layer.ts";
import type { Service } from "./service.ts";

/**
 * Composes layers into one: `stack(a, b, c)(svc)` is `a(b(c(svc)))`, so the
 * first layer sees the request first (and the response last). Order matters,
 * as in tower: a timeout outside a retry bounds all the attempts together;
 * inside it, each attempt.
 *
 * @example The same two layers, in both orders
 * ```ts
 * import { ManualClock, retry, serviceFn, stack, timeout } from "weft";
 *
 * const clock = new ManualClock();
 * let calls = 0;
 * // Fails fast the first time, then hangs until its signal aborts.
 * const flaky = serviceFn((_req: string, { signal }) => {
 *   if (++calls === 1) return Promise.reject(new Error("flake"));
 *   return new Promise<string>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
 * });
 * const retryAnything = retry({ shouldRetry: () => true, backoff: () => 0, clock });
 *
 * // Timeout outside: one 100 ms deadline for every attempt together.
 * const outside = stack(timeout({ ms: 100, clock }), retryAnything)(flaky);
 * const a = outside.call("x").catch((e) => e.name);
 * await clock.advance(100);
 * console.assert(await a === "TimeoutError" && calls === 2);
 *
 * // Timeout inside: each attempt gets its own 100 ms, and a timed-out attempt is retried.
 * calls = 0;
 * const inside = stack(retry({ shouldRetry: () => true, backoff: () => 0, maxAttempts: 3, clock }), timeout({ ms: 100, clock }))(flaky);
 * const b = inside.call("x").catch((e) => e.name);
 * await clock.advance(100);
 * await clock.advance(100);
 * console.assert(await b === "TimeoutError" && calls === 3);
 * ```
 */
export function stack(...layers: Middleware[]): Middleware;
export function stack<A, B, C, D>(l1: Layer<C, D, A, B>): Layer<C, D, A, B>;
export function stack<A, B, C, D, E, F>(l1: Layer<C, D, A, B>, l2: Layer<E, F, C, D>): Layer<E, F, A, B>;
export function stack<A, B, C, D, E, F, G, H>(l1: Layer<C, D, A, B>, l2: Layer<E, F, C, D>, l3: Layer<G, H, E, F>): Layer<G, H, A, B>;
export function stack<A, B, C, D, E, F, G, H, I, J>(
  l1: Layer<C, D, A, B>,
  l2: Layer<E, F, C, D>,
  l3: Layer<G, H, E, F>,
  l4: Layer<I, J, G, H>,
): Layer<I, J, A, B>;
export function stack<Req, Res>(...layers: Layer<Req, Res>[]): Layer<Req, Res>;
export function stack(...layers: Layer<unknown, unknown>[]): Layer<unknown, unknown> {
  layers.forEach((layer, i) => {
    if (typeof layer !== "function") throw new TypeError(`Invalid layer ${i} of stack(): expected a function, got ${typeof layer}`);
  });
  return (inner: Service<unknown, unknown>) => layers.reduceRight((svc, layer) => layer(svc), inner);
}
