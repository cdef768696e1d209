import type { Clock } from "../service/clock.ts";
import type { CallOptions, Service } from "../service/service.ts";
import { callSafely, checkClock, checkFunction, checkOptions, Forward } from "./_private.ts";

/** What `onResponse` and `onError` learn about the call. */
export interface Observation<Req, C> {
  /** The request. */
  req: Req;
  /** Milliseconds from the call to its end. */
  durationMs: number;
  /** What `onRequest` returned (a span, a start label). */
  context: C;
}

/** Options of {@link observe}: the hooks, all optional. */
export interface ObserveOptions<Req, Res, C> {
  /** Called as the call starts; what it returns is handed to the other hooks as `context`. */
  onRequest?(req: Req): C;
  /** Called with the response and the call's duration. */
  onResponse?(res: Res, observation: Observation<Req, C>): void;
  /** Called with the error, the call's duration, and whether the caller aborted it. */
  onError?(error: unknown, observation: Observation<Req, C> & { aborted: boolean }): void;
  /** Where time comes from. Default: the platform's clock. */
  clock?: Clock;
}

/**
 * Hooks on every call, with its duration: enough to count requests and
 * errors, record latencies and open and close trace spans. Hooks run
 * synchronously; one that throws makes the call reject with its error, so
 * keep them from throwing.
 *
 * @example Counting and timing
 * ```ts
 * import { observe, serviceFn } from "weft";
 *
 * const seen: string[] = [];
 * const svc = observe({
 *   onRequest: (req: string) => `span:${req}`,
 *   onResponse: (res: number, { durationMs, context }) => seen.push(`${context} ok ${res} in ${durationMs >= 0}`),
 *   onError: (_e, { context, aborted }) => seen.push(`${context} failed, aborted: ${aborted}`),
 * })(serviceFn(async (s: string) => {
 *   if (s === "bad") throw new Error("no");
 *   return s.length;
 * }));
 * await svc.call("abc");
 * await svc.call("bad").catch(() => {});
 * console.assert(seen.join("|") === "span:abc ok 3 in true|span:bad failed, aborted: false");
 * ```
 */
export function observe<Req = any, Res = any, C = undefined>(
  options: ObserveOptions<Req, Res, C>,
): <R extends Req, S extends Res>(inner: Service<R, S>) => Service<R, S> {
  const o = checkOptions("observe()", options, true);
  const noop = () => undefined;
  const onRequest = checkFunction<(req: Req) => C>("observe()", "onRequest", o.onRequest, noop as () => C);
  const onResponse = checkFunction<NonNullable<ObserveOptions<Req, Res, C>["onResponse"]>>("observe()", "onResponse", o.onResponse, noop);
  const onError = checkFunction<NonNullable<ObserveOptions<Req, Res, C>["onError"]>>("observe()", "onError", o.onError, noop);
  const clock = checkClock("observe()", o.clock);
  return <R extends Req, S extends Res>(inner: Service<R, S>) =>
    new Forward(inner, (req: R, options?: CallOptions): Promise<S> => {
      const start = clock.now();
      const context = onRequest(req);
      return callSafely(inner, req, options).then(
        (res) => {
          onResponse(res, { req, durationMs: clock.now() - start, context });
          return res;
        },
        (error) => {
          onError(error, { req, durationMs: clock.now() - start, context, aborted: options?.signal?.aborted === true });
          throw error;
        },
      );
    });
}
