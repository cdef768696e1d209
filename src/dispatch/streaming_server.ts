import type { Service } from "../service/service.ts";
import type { Framed } from "../transport/framed.ts";
import type { DispatchServerOptions, Message, StreamFrame } from "./dispatch.ts";
import { discardMessage, messageFramed, messageHooks, type Msg } from "./_message_framed.ts";
import { multiplexServer } from "./multiplex_server.ts";
import { pipelineServer } from "./pipeline_server.ts";
import { checkFramed, checkService, discard } from "./_private.ts";

/** Options of {@link streamingServer}. */
export interface StreamingServerOptions<ReqHead, ResHead> extends DispatchServerOptions<Message<ReqHead>, Message<ResHead>> {
  /**
   * `"pipeline"`: messages one after the other, responses in request order.
   * `"multiplex"`: every frame carries `id`, bodies interleave, responses in
   * any order, and an `abort` frame for a call cancels it. Default `"pipeline"`.
   */
  mode?: "pipeline" | "multiplex";
}

/**
 * Serves a protocol whose messages have streamed bodies: the codec reads and
 * writes {@link StreamFrame}s (a head, its body's chunks, an end), and the
 * service takes and returns {@link Message}s whose `body` is a
 * `ReadableStream`. It runs {@link pipelineServer} or {@link multiplexServer}
 * underneath, with the same options.
 *
 * A request body is read from the connection only as fast as the service
 * reads it (a body the service leaves unread is read and dropped once its
 * call ends, so the connection stays in sync). A response body leaves as the
 * connection takes it. If a response body fails, it ends with an `abort`
 * frame and the peer's body stream errors; if the peer aborts a request body,
 * the service's body stream errors with a `body-aborted` NetError, and in
 * multiplex mode the call's signal aborts and its response body stops.
 *
 * @example Echo the request body, upper-cased, as the response body
 * ```ts
 * import { framed, memoryPipe, streamingClient, streamingServer, type Codec, type StreamFrame } from "weft";
 *
 * const [a, b] = memoryPipe();
 * const served = streamingServer<string, string>(framed(b, testFrames()), {
 *   async call(req) {
 *     const upper = req.body!.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
 *       transform: (chunk, c) => c.enqueue(new TextEncoder().encode(new TextDecoder().decode(chunk).toUpperCase())),
 *     }));
 *     return { head: `re:${req.head}`, body: upper };
 *   },
 * });
 * const client = streamingClient<string, string>(framed(a, testFrames()));
 * const res = await client.call({ head: "echo", body: new Response("hello body").body! });
 * console.assert(res.head === "re:echo" && await new Response(res.body).text() === "HELLO BODY");
 * await client.close();
 * await served;
 *
 * // JSON frames with the chunks in base64: enough for an example.
 * function testFrames(): Codec<StreamFrame<string>> {
 *   const text = new TextDecoder();
 *   return {
 *     decode(src) {
 *       const at = src.indexOf(10);
 *       if (at < 0) return undefined;
 *       const f = JSON.parse(text.decode(src.take(at + 1)));
 *       if (f.kind === "chunk") f.chunk = Uint8Array.from(atob(f.chunk), (c) => c.charCodeAt(0));
 *       return f;
 *     },
 *     encode(f, dst) {
 *       const json = f.kind === "chunk" ? { ...f, chunk: btoa(Array.from(f.chunk, (c) => String.fromCharCode(c)).join("")) } : f;
 *       dst.write(new TextEncoder().encode(JSON.stringify(json) + "\n"));
 *     },
 *   };
 * }
 * ```
 */
export function streamingServer<ReqHead, ResHead>(
  framed: Framed<StreamFrame<ReqHead>, StreamFrame<ResHead>>,
  service: Service<Message<ReqHead>, Message<ResHead>>,
  options: StreamingServerOptions<ReqHead, ResHead> = {},
): Promise<void> {
  const fn = "streamingServer()";
  checkFramed(fn, framed);
  checkService(fn, service);
  const { mode = "pipeline", ...rest } = options ?? {};
  if (mode !== "pipeline" && mode !== "multiplex") throw new TypeError(`Invalid mode ${JSON.stringify(mode)} for ${fn}: expected "pipeline" or "multiplex"`);
  const onDiscard = rest.onDiscard;
  const dispatchOptions: DispatchServerOptions<Msg<ReqHead>, Msg<ResHead>> = {
    ...(rest as DispatchServerOptions<Msg<ReqHead>, Msg<ResHead>>),
    onDiscard(res) {
      discardMessage(res);
      discard(onDiscard, res);
    },
  };
  const messages = messageFramed(framed, mode === "multiplex", true);
  return mode === "pipeline"
    ? pipelineServer(messages, service, dispatchOptions)
    : multiplexServer(messages, service, messageHooks<ReqHead, ResHead>(), dispatchOptions);
}
