import type { CallOptions, Service } from "../service/service.ts";
import { callSafely, checkFunction, Forward } from "./_private.ts";

/**
 * Changes each response on its way out; `fn` also gets the request. A throw
 * or rejection of `fn` is the call's error.
 *
 * @example
 * ```ts
 * import { mapResponse, serviceFn } from "weft";
 *
 * const svc = mapResponse((res: string, req: string) => `${req} -> ${res}`)(serviceFn(async (s: string) => s.toUpperCase()));
 * console.assert(await svc.call("hi") === "hi -> HI");
 * ```
 */
export function mapResponse<Res, ORes, Req = unknown>(fn: (res: Res, req: Req) => ORes | Promise<ORes>): <R extends Req>(inner: Service<R, Res>) => Service<R, ORes> {
  checkFunction("mapResponse()", "fn", fn);
  return <R extends Req>(inner: Service<R, Res>) =>
    new Forward(inner, (req: R, options?: CallOptions): Promise<ORes> => callSafely(inner, req, options).then((res) => fn(res, req)));
}
