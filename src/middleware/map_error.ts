import type { Middleware } from "../service/layer.ts";
import type { CallOptions, Service } from "../service/service.ts";
import { callSafely, checkFunction, Forward } from "./_private.ts";

/**
 * Changes each error on its way out: wrap it, translate a code, add context.
 * `fn` gets the error and the request and returns the error to reject with.
 *
 * @example
 * ```ts
 * import { mapError, NetError, serviceFn } from "weft";
 *
 * const svc = mapError((e, req) => new NetError("unavailable", `Cannot get ${req}`, { cause: e }))(
 *   serviceFn(async (_key: string) => {
 *     throw new Error("socket gone");
 *   }),
 * );
 * const err = await svc.call("user:1").catch((e) => e);
 * console.assert(err.code === "unavailable" && err.message === "Cannot get user:1" && err.cause.message === "socket gone");
 * ```
 */
export function mapError(fn: (error: unknown, req: unknown) => unknown): Middleware {
  checkFunction("mapError()", "fn", fn);
  return <Req, Res>(inner: Service<Req, Res>): Service<Req, Res> =>
    new Forward(inner, (req: Req, options?: CallOptions): Promise<Res> =>
      callSafely(inner, req, options).catch((error) => {
        throw fn(error, req);
      }));
}
