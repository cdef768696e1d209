import type { CallOptions, Service } from "../service/service.ts";
import { checkFunction, Forward } from "./_private.ts";

/**
 * Changes each request on its way in: parse, enrich, adapt one service's
 * request type to another's. A throw or rejection of `fn` is the call's error.
 *
 * @example
 * ```ts
 * import { mapRequest, serviceFn } from "weft";
 *
 * const length = serviceFn(async (s: string) => s.length);
 * const svc = mapRequest((n: number) => "x".repeat(n))(length);
 * console.assert(await svc.call(3) === 3);
 * ```
 */
export function mapRequest<OReq, Req>(fn: (req: OReq) => Req | Promise<Req>): <Res>(inner: Service<Req, Res>) => Service<OReq, Res> {
  checkFunction("mapRequest()", "fn", fn);
  return <Res>(inner: Service<Req, Res>) =>
    new Forward(inner, async (req: OReq, options?: CallOptions): Promise<Res> => inner.call(await fn(req), options));
}

