/**
 * The edge proxy as a Cloudflare Worker: every request goes to the HTTP/1.1
 * backend in the `BACKEND` variable (`http://host:port`), over TCP with
 * weft/cloudflare's `connect`. See examples/edge_proxy.ts.
 */
import { connect } from "../adapters/cloudflare.ts";
import { edgeProxy } from "./edge_proxy.ts";

/** The Worker's variables. */
export interface Env {
  /** Where requests go: `http://host:port`, with an optional path prefix. */
  BACKEND: string;
  /** The longest wait for the backend's response head, in milliseconds (default 30 s). */
  BACKEND_TIMEOUT_MS?: string;
}

export default {
  fetch(request, env, ctx) {
    const backendTimeoutMs = env.BACKEND_TIMEOUT_MS === undefined ? undefined : Number(env.BACKEND_TIMEOUT_MS);
    return edgeProxy({ backend: env.BACKEND, connect, ...(backendTimeoutMs === undefined ? {} : { backendTimeoutMs }) })(request, ctx);
  },
} satisfies ExportedHandler<Env>;
