import type { Service } from "./service.ts";

/**
 * Wraps a service in another: what every middleware factory returns. The
 * outer service takes `OReq` and gives `ORes`; it calls the inner with `Req`
 * and gets `Res`. Use {@link stack} to apply several in order.
 *
 * @example A layer that adds a prefix
 * ```ts
 * import { type Layer, serviceFn } from "weft";
 *
 * const prefix: Layer<string, string> = (inner) => ({ call: (req, options) => inner.call(`> ${req}`, options) });
 * const svc = prefix(serviceFn(async (s: string) => s));
 * console.assert(await svc.call("hi") === "> hi");
 * ```
 */
export type Layer<Req, Res, OReq = Req, ORes = Res> = (inner: Service<Req, Res>) => Service<OReq, ORes>;

/**
 * A layer that works with any request and response type and keeps them: what
 * `timeout()`, `retry()`, `concurrencyLimit()` and the other generic
 * middleware return.
 */
export type Middleware = <Req, Res>(inner: Service<Req, Res>) => Service<Req, Res>;
