/**
 * What both proxies (http_proxy.ts behind serveHttp, edge_proxy.ts in a
 * Worker) do to a request on its way to the backend and to the response on
 * its way back. Core imports only, so that a Worker can bundle it.
 */
import { NetError } from "../mod.ts";

/** Fields that describe one connection, not the message: never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];

/** The request as it goes to `backend`: its path under the backend's, forwarding fields added for `client` (an address). */
export function toBackend(request: Request, backend: URL, client: string, signal?: AbortSignal): Request {
  const incoming = new URL(request.url);
  const prefix = backend.pathname.endsWith("/") ? backend.pathname.slice(0, -1) : backend.pathname;
  const target = new URL(prefix + incoming.pathname + incoming.search, backend.origin);
  const headers = withoutHopByHop(request.headers);
  headers.delete("host"); // the backend's, from the URL
  const prior = headers.get("x-forwarded-for");
  headers.set("x-forwarded-for", prior === null ? client : `${prior}, ${client}`);
  headers.set("x-forwarded-host", incoming.host);
  headers.set("x-forwarded-proto", incoming.protocol.slice(0, -1));
  headers.append("via", "1.1 weft");
  const init: RequestInit & { duplex: "half" } = { method: request.method, headers, body: request.body, duplex: "half", redirect: "manual" };
  if (signal !== undefined) init.signal = signal;
  return new Request(target, init);
}

/** The backend's response as the proxy returns it: hop-by-hop fields dropped, `via` added, the body streamed through. */
export function fromBackend(response: Response): Response {
  const out = withoutHopByHop(response.headers);
  out.append("via", "1.1 weft");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers: out });
}

/** The answer when the backend could not be reached (502) or was too slow to answer (504, a timeout()'s TimeoutError). */
export function gatewayError(error: unknown): Response {
  const timedOut = error instanceof DOMException && error.name === "TimeoutError";
  const what = error instanceof NetError ? `${error.code}: ${error.message}` : String(error);
  return new Response(`${timedOut ? "504 Gateway Timeout" : "502 Bad Gateway"}: ${what}\n`, {
    status: timedOut ? 504 : 502,
    headers: { "content-type": "text/plain;charset=utf-8", via: "1.1 weft" },
  });
}

/** A copy of `headers` without the hop-by-hop fields and those its Connection field names. */
function withoutHopByHop(headers: Headers): Headers {
  const out = new Headers(headers);
  for (const name of (headers.get("connection") ?? "").split(",")) if (name.trim() !== "") out.delete(name.trim());
  for (const name of HOP_BY_HOP) out.delete(name);
  return out;
}
