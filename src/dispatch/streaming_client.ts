import type { CallOptions } from "../service/service.ts";
import type { Framed } from "../transport/framed.ts";
import type { DispatchClient, DispatchClientOptions, Message, StreamFrame } from "./dispatch.ts";
import { discardMessage, messageFramed, messageHooks, type Msg } from "./_message_framed.ts";
import { multiplexClient } from "./multiplex_client.ts";
import { pipelineClient } from "./pipeline_client.ts";
import { checkFramed, checkOptions, discard } from "./_private.ts";

/** Options of {@link streamingClient}. */
export interface StreamingClientOptions extends DispatchClientOptions {
  /** `"pipeline"` (responses in order) or `"multiplex"` (frames carry `id`). Default `"pipeline"`. */
  mode?: "pipeline" | "multiplex";
}

/**
 * The client side of a protocol whose messages have streamed bodies (see
 * {@link streamingServer}): a {@link DispatchClient} of {@link Message}s over
 * a Framed of {@link StreamFrame}s, running {@link pipelineClient} or
 * {@link multiplexClient} underneath.
 *
 * A request body leaves as the connection takes it. Aborting a call in the
 * middle of its request body stops the body (its reader is cancelled) and
 * ends it on the wire with an `abort` frame, so the server's body stream
 * errors; in multiplex mode that frame also cancels the call. A response
 * body is read from the connection as fast as its reader reads; a response
 * whose caller gave up has its body read and dropped. When the connection
 * breaks, a response body still open errors.
 *
 * @example A streamed upload, answered with its size
 * ```ts
 * import { framed, memoryPipe, streamingClient, streamingServer, type Codec, type StreamFrame } from "weft";
 *
 * const [a, b] = memoryPipe();
 * streamingServer<string, string>(framed(b, testFrames()), {
 *   async call(req) {
 *     const bytes = await new Response(req.body).arrayBuffer();
 *     return { head: `${req.head}: ${bytes.byteLength} bytes` };
 *   },
 * }, { mode: "multiplex" });
 * const client = streamingClient<string, string>(framed(a, testFrames()), { mode: "multiplex" });
 * const res = await client.call({ head: "upload", body: new Blob([new Uint8Array(100_000)]).stream() });
 * console.assert(res.head === "upload: 100000 bytes" && res.body === undefined);
 * await client.close();
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
export function streamingClient<ReqHead, ResHead>(
  framed: Framed<StreamFrame<ResHead>, StreamFrame<ReqHead>>,
  options?: StreamingClientOptions,
): DispatchClient<Message<ReqHead>, Message<ResHead>> {
  const fn = "streamingClient()";
  checkFramed(fn, framed);
  const { mode = "pipeline", ...rest } = checkOptions(fn, options) as StreamingClientOptions;
  if (mode !== "pipeline" && mode !== "multiplex") throw new TypeError(`Invalid mode ${JSON.stringify(mode)} for ${fn}: expected "pipeline" or "multiplex"`);
  const onDiscard = rest.onDiscard;
  const clientOptions: DispatchClientOptions = {
    ...rest,
    onDiscard(res) {
      discardMessage(res);
      discard(onDiscard, res);
    },
  };
  const messages = messageFramed(framed, mode === "multiplex", false);
  const inner = mode === "pipeline"
    ? pipelineClient<Msg<ReqHead>, Msg<ResHead>>(messages, clientOptions)
    : multiplexClient(messages, messageHooks<ResHead, ReqHead>() as never, clientOptions) as DispatchClient<Msg<ReqHead>, Msg<ResHead>>;
  return new StreamingClient(inner);
}

/** The response as the caller sees it: a head and maybe a body, nothing of the wire. */
function toMessage<Head>(m: Msg<Head>): Message<Head> {
  return m.body === undefined ? { head: m.head } : { head: m.head, body: m.body };
}

class StreamingClient<ReqHead, ResHead> implements DispatchClient<Message<ReqHead>, Message<ResHead>> {
  #inner: DispatchClient<Msg<ReqHead>, Msg<ResHead>>;

  constructor(inner: DispatchClient<Msg<ReqHead>, Msg<ResHead>>) {
    this.#inner = inner;
  }

  get pending(): number {
    return this.#inner.pending;
  }

  get closed(): Promise<void> {
    return this.#inner.closed;
  }

  get capacity(): number | undefined {
    return this.#inner.capacity;
  }

  ready(signal?: AbortSignal): Promise<void> {
    return this.#inner.ready!(signal);
  }

  call(req: Message<ReqHead>, options?: CallOptions): Promise<Message<ResHead>> {
    const signal = options?.signal;
    // The body's pump watches the call's signal: a caller that gives up mid-body stops it.
    const msg: Msg<ReqHead> = signal !== undefined && req.body !== undefined ? { head: req.head, body: req.body, signal } : req;
    return this.#inner.call(msg, options).then(toMessage);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
