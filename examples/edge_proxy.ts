/**
 * An edge proxy: a Cloudflare Worker that takes HTTP requests and forwards
 * them over TCP with weft, httpClient() on weft/cloudflare's `connect`, to an
 * HTTP/1.1 backend, the response streaming back. The Worker itself is
 * examples/edge_proxy_worker.mts; this file is the handler, with no
 * Workers-only import, so any adapter's `connect` drives it.
 *
 *   npx esbuild examples/edge_proxy_worker.mts --bundle --format=esm \
 *     --external:'cloudflare:*' --outfile=worker.js
 *   npx wrangler dev worker.js --var BACKEND:http://203.0.113.7:8080
 *
 * (tests/examples/edge_proxy.test.ts runs it under workerd with miniflare
 * against a backend on loopback.) Each request goes on with its method, path,
 * query, headers and body; the proxy adds `Via: 1.1 weft`, `X-Forwarded-For`
 * (the client's address from `CF-Connecting-IP`, after any earlier ones),
 * `X-Forwarded-Host` and `X-Forwarded-Proto`, and drops hop-by-hop fields
 * both ways. Redirects go back as they are. A backend that cannot be reached
 * gets the client a 502 naming the NetError code; one that takes longer than
 * `backendTimeoutMs` to send its head, a 504.
 *
 * A Worker's socket belongs to the request that opened it, so each request
 * has its own client (and connection), closed once the response is through.
 */
import { type Conn, type ConnectOptions, stack, timeout } from "../mod.ts";
import { httpClient } from "../src/protocols/http/mod.ts";
import { fromBackend, gatewayError, toBackend } from "./_forward.ts";

/** How long the backend may take to send a response head by default before the client gets 504. */
export const DEFAULT_EDGE_BACKEND_TIMEOUT_MS = 30_000;

/** Options of {@link edgeProxy}. */
export interface EdgeProxyOptions {
  /** Where requests go: `http://host:port`, with an optional path prefix. */
  backend: string | URL;
  /** Opens the TCP connections: `connect` of weft/cloudflare in a Worker (any adapter's elsewhere). */
  connect: (options: ConnectOptions) => Promise<Conn>;
  /** The longest wait for the backend's response head, in milliseconds. Default {@link DEFAULT_EDGE_BACKEND_TIMEOUT_MS}. */
  backendTimeoutMs?: number;
}

/** The `waitUntil` of a Worker's context: keeps work going after the response is returned. */
export interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

/**
 * A Worker's fetch handler that forwards every request to `backend` over
 * `connect`, as the module describes.
 *
 * @example The whole Worker (examples/edge_proxy_worker.mts)
 * ```ts ignore
 * import { connect } from "weft/cloudflare";
 * import { edgeProxy } from "./edge_proxy.ts";
 *
 * export default {
 *   fetch: (request: Request, env: { BACKEND: string }, ctx: ExecutionContext) =>
 *     edgeProxy({ backend: env.BACKEND, connect })(request, ctx),
 * };
 * ```
 */
export function edgeProxy(options: EdgeProxyOptions): (request: Request, ctx?: WaitUntil) => Promise<Response> {
  const backend = new URL(options.backend);
  if (backend.protocol !== "http:") throw new TypeError(`Invalid backend ${JSON.stringify(backend.href)}: expected an http: URL`);
  const ms = options.backendTimeoutMs ?? DEFAULT_EDGE_BACKEND_TIMEOUT_MS;
  return async (request, ctx) => {
    const client = httpClient({ connect: options.connect, poolSize: 1 });
    const upstream = stack(timeout({ ms }))(client);
    let response: Response;
    try {
      response = await upstream.call(toBackend(request, backend, request.headers.get("cf-connecting-ip") ?? "unknown"));
    } catch (error) {
      void client.close();
      return gatewayError(error);
    }
    // close() waits until the body has streamed through, then closes the connection.
    const closing = client.close().catch(() => {});
    ctx?.waitUntil(closing);
    return fromBackend(response);
  };
}
