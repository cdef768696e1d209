/**
 * weft/http: HTTP/1.1 on weft's layers.
 *
 * - {@link serveHttp}: a server for fetch handlers (`(request, info) =>
 *   Response`), so the apps written for Deno, Bun, Workers and Hono run on
 *   any runtime weft runs on; {@link httpHandler} is the same as a serve()
 *   connection handler;
 * - {@link httpClient}: a client as a `Service<Request, Response>`, over
 *   pools of keep-alive connections, with streamed bodies both ways;
 * - {@link httpServerCodec} and {@link httpClientCodec}: the HTTP/1.1 wire
 *   format as codecs of head, chunk and end frames, bounded by default;
 * - {@link FastResponse}: a `Response` that serveHttp() writes without a
 *   body stream, and {@link installFastResponse} to make it the global one.
 *
 * @example A server and a request to it
 * ```ts
 * import { memoryListener } from "weft";
 * import { serveHttp } from "weft/http";
 *
 * const listener = memoryListener();
 * const server = serveHttp({ listener, fetch: () => Response.json({ ok: true }) });
 * const conn = await listener.connect();
 * const writer = conn.writable.getWriter();
 * await writer.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
 * const reply = await new Response(conn.readable).text();
 * console.assert(reply.endsWith('{"ok":true}'));
 * await server.shutdown();
 * ```
 *
 * @module
 */

export {
  DEFAULT_MAX_CHUNK_LINE_BYTES,
  DEFAULT_MAX_HEAD_BYTES,
  DEFAULT_MAX_HEADERS,
  DEFAULT_MAX_LINE_BYTES,
  headerValue,
  HttpError,
  STATUS_TEXT,
} from "./head.ts";
export type { HeaderList, HttpLimits, RequestHead, ResponseHead } from "./head.ts";
export { httpClientCodec, httpServerCodec } from "./codec.ts";
export type { HttpClientCodec, HttpFrame, HttpHeadFrame, HttpServerCodec } from "./codec.ts";
export { DEFAULT_HEAD_TIMEOUT_MS, DEFAULT_MAX_DRAIN_BYTES, httpHandler, serveHttp } from "./server.ts";
export { FastResponse, installFastResponse } from "./fast_response.ts";
export type { ConnectRequest, FetchHandler, HttpHandlerOptions, HttpInfo, HttpUpgrade, ServeHttpOptions } from "./server.ts";
export { DEFAULT_HTTP_IDLE_TIMEOUT_MS, DEFAULT_HTTP_MAX_ORIGINS, DEFAULT_HTTP_MAX_QUEUED, DEFAULT_HTTP_POOL_SIZE, httpClient } from "./client.ts";
export type { HttpClient, HttpClientOptions } from "./client.ts";
