import { NetError } from "../errors.ts";
import type { CallOptions, Service } from "../service/service.ts";
import { callSafely, checkFunction, Forward } from "./_private.ts";

/**
 * Lets through only the requests `predicate` accepts (it may be async: an
 * authorization check). A refused request never reaches the inner service
 * and rejects with `reject(req)`, by default a `rejected` NetError.
 *
 * @example
 * ```ts
 * import { filter, NetError, serviceFn } from "weft";
 *
 * const svc = filter((cmd: string) => cmd !== "FLUSHALL")(serviceFn(async (cmd: string) => `ran ${cmd}`));
 * console.assert(await svc.call("GET") === "ran GET");
 * const err = await svc.call("FLUSHALL").catch((e) => e);
 * console.assert(err instanceof NetError && err.code === "rejected");
 * ```
 */
export function filter<Req>(
  predicate: (req: Req) => boolean | Promise<boolean>,
  reject: (req: Req) => unknown = () => new NetError("rejected", "Cannot call service: filter() refused the request"),
): <R extends Req, Res>(inner: Service<R, Res>) => Service<R, Res> {
  checkFunction("filter()", "predicate", predicate);
  checkFunction("filter()", "reject", reject);
  return <R extends Req, Res>(inner: Service<R, Res>) =>
    new Forward(inner, async (req: R, options?: CallOptions): Promise<Res> => {
      if (!(await predicate(req))) throw reject(req);
      return callSafely(inner, req, options);
    });
}
