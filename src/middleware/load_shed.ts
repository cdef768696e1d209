import { NetError } from "../errors.ts";
import type { Middleware } from "../service/layer.ts";
import type { CallOptions, Service } from "../service/service.ts";
import { callSafely, Forward } from "./_private.ts";

/**
 * Refuses a call at once, with an `overloaded` NetError, when the inner
 * service has no capacity (`capacity === 0`) instead of letting it wait. Put
 * it outside a `concurrencyLimit()` or `rateLimit()`: callers then learn at
 * once that the service is busy, and nothing queues. It reserves nothing: the
 * call it lets through takes its slot in the same turn.
 *
 * @example
 * ```ts
 * import { concurrencyLimit, loadShed, NetError, serviceFn, stack } from "weft";
 *
 * let finish = () => {};
 * const svc = stack(loadShed(), concurrencyLimit({ max: 1 }))(serviceFn(() => new Promise<string>((r) => (finish = () => r("done")))));
 * const first = svc.call("a");
 * const second = await svc.call("b").catch((e) => e);
 * console.assert(second instanceof NetError && second.code === "overloaded");
 * finish();
 * console.assert(await first === "done" && svc.capacity === 1);
 * ```
 */
export function loadShed(): Middleware {
  return <Req, Res>(inner: Service<Req, Res>): Service<Req, Res> =>
    new Forward(inner, (req: Req, options?: CallOptions): Promise<Res> => {
      const capacity = inner.capacity;
      if (capacity !== undefined && capacity <= 0) {
        return Promise.reject(new NetError("overloaded", "Cannot call service: it has no capacity now (load shed)"));
      }
      return callSafely(inner, req, options);
    });
}
