/** serve()'s codec form: each connection framed with a fresh codec and handed to a dispatcher. */
import type { Conn } from "../bytes/conn.ts";
import type { Codec } from "../codec/codec.ts";
import type { DispatchServerOptions, MultiplexHooks } from "../dispatch/dispatch.ts";
import { multiplexServer } from "../dispatch/multiplex_server.ts";
import { pipelineServer } from "../dispatch/pipeline_server.ts";
import type { Clock } from "../service/clock.ts";
import type { Service } from "../service/service.ts";
import { framed } from "../transport/framed.ts";
import { checkCount, checkFunction } from "./_private.ts";
import type { ConnInfo } from "./serve.ts";

/**
 * What serve() runs on each connection in its codec form: a codec, a
 * dispatch mode and the service that answers, with the dispatcher's options.
 * (The drain signal, the idle timeout, `onError` and the clock come from
 * serve()'s own options.)
 */
export interface ServeDispatch<Req, Res>
  extends Omit<DispatchServerOptions<Req, Res>, "signal" | "idleTimeoutMs" | "onError" | "clock"> {
  /** Makes the codec of one connection (called once per connection: codecs may keep state). */
  codec: () => Codec<Req, Res>;
  /** `pipeline`: responses in request order; `multiplex`: frames carry ids, responses in any order. */
  mode: "pipeline" | "multiplex";
  /** Answers every request of every connection. serve() does not close it. */
  service: Service<Req, Res>;
  /** Where the request id is (required in `multiplex` mode). */
  hooks?: MultiplexHooks<Req, Res>;
  /** Encoded bytes held while a connection is busy before response writes wait. Default: framed()'s 1 MiB. */
  maxBufferedWriteBytes?: number;
}

/** The per-connection runner of serve(): resolves when the connection is finished. */
export type Runner = (conn: Conn, info: ConnInfo, onError: (error: unknown) => void) => Promise<void>;

/** Checks `spec` once and returns what runs each connection. */
export function dispatchRunner<Req, Res>(spec: ServeDispatch<Req, Res>, idleTimeoutMs: number, clock: Clock): Runner {
  const fn = "serve()";
  const codec = checkFunction<() => Codec<Req, Res>>(fn, "codec", spec.codec, true)!;
  const { mode, service, hooks, maxBufferedWriteBytes } = spec;
  if (mode !== "pipeline" && mode !== "multiplex") {
    throw new TypeError(`Invalid mode ${JSON.stringify(mode)} for serve(): expected "pipeline" or "multiplex"`);
  }
  if (typeof service !== "object" || service === null || typeof service.call !== "function") {
    throw new TypeError("Invalid service for serve(): expected an object with call()");
  }
  if (mode === "multiplex" && (typeof hooks !== "object" || hooks === null)) {
    throw new TypeError("Invalid hooks for serve(): multiplex mode needs the MultiplexHooks of the protocol");
  }
  const maxInFlight = spec.maxInFlight === undefined ? undefined : checkCount(fn, "maxInFlight", spec.maxInFlight);
  const errorResponse = checkFunction<DispatchServerOptions<Req, Res>["errorResponse"]>(fn, "errorResponse", spec.errorResponse);
  const framedOptions = maxBufferedWriteBytes === undefined ? {} : { maxBufferedWriteBytes: checkCount(fn, "maxBufferedWriteBytes", maxBufferedWriteBytes) };
  return (conn, info, onError) => {
    const frames = framed(conn, codec(), framedOptions);
    const options: DispatchServerOptions<Req, Res> = { signal: info.signal, onError, clock };
    if (maxInFlight !== undefined) options.maxInFlight = maxInFlight;
    if (errorResponse !== undefined) options.errorResponse = errorResponse;
    if (Number.isFinite(idleTimeoutMs)) options.idleTimeoutMs = idleTimeoutMs;
    return mode === "pipeline" ? pipelineServer(frames, service, options) : multiplexServer(frames, service, hooks!, options);
  };
}
