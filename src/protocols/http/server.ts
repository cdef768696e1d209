/**
 * serveHttp(): HTTP/1.1 for fetch handlers, on serve().
 */
import type { Clock, Conn, ConnHandler, ConnInfo, Framed, Listener, Server, ServeOptions, Swept } from "../../../mod.ts";
import { FrameError, framed, NetError, serve, Sweeper } from "../../../mod.ts";
import { type HttpFrame, type HttpHeadFrame, type HttpServerCodec, httpServerCodec } from "./codec.ts";
import { type HeaderList, hasToken, headerValue, HttpError, type HttpLimits, type RequestHead, type ResponseHead, STATUS_TEXT } from "./head.ts";
import { type LazySource, lazyRequest } from "./_lazy_request.ts";
import { resolveLimits } from "./_parse.ts";
import { HOP_BY_HOP, soon } from "./_private.ts";
import { responseParts } from "./fast_response.ts";
import { writeAhead } from "../_write_ahead.ts";

/** How long a client may take to send a request head, from its first byte, before it gets 408: 30 seconds. */
export const DEFAULT_HEAD_TIMEOUT_MS = 30_000;
/** The most bytes of a request body the handler left unread that are read and dropped to keep the connection; past it the connection closes: 256 KiB. */
export const DEFAULT_MAX_DRAIN_BYTES = 256 * 1024;

/** A connection handed over after `101 Switching Protocols` or a 2xx answer to CONNECT. */
export interface HttpUpgrade {
  /** The connection, now the caller's: close it when done (the server counts it until then). */
  conn: Conn;
  /** Bytes the client sent after its request head, already read: the new protocol's first bytes. */
  leftover: Uint8Array;
}

/** What serveHttp() tells a handler about a request beyond the Request itself. */
export interface HttpInfo {
  /** The client's address. */
  readonly remoteAddr: ConnInfo["remoteAddr"];
  /** The server's address. */
  readonly localAddr: ConnInfo["localAddr"];
  /** Aborts when the server starts a graceful shutdown. */
  readonly shutdown: AbortSignal;
  /**
   * Accepts an `Upgrade` request (or a CONNECT): return `response` from the
   * handler, and `conn` resolves with the connection once the `101` (for
   * CONNECT: a 2xx, default 200) has been written. Throws a TypeError for a
   * request that asks for no upgrade.
   */
  upgrade(init?: { status?: number; headers?: HeadersInit }): { response: Response; conn: Promise<HttpUpgrade> };
}

/** A fetch handler, as Deno, Bun, Workers and Hono take it. */
export type FetchHandler = (request: Request, info: HttpInfo) => Response | Promise<Response>;

/** A CONNECT request: fetch's `Request` cannot hold one, so it has its own handler. */
export interface ConnectRequest {
  /** The target, `host:port`. */
  readonly authority: string;
  readonly headers: Headers;
  /** Aborts when the client goes away. */
  readonly signal: AbortSignal;
}

/** Options of {@link httpHandler}. */
export interface HttpHandlerOptions extends HttpLimits {
  /** How long a request head may take to arrive, from its first byte, in milliseconds; then 408 and close. Default {@link DEFAULT_HEAD_TIMEOUT_MS}. */
  headTimeoutMs?: number;
  /**
   * Build each `Request` only when the handler needs more than its `url`,
   * `method`, `headers` and `signal`, which saves most of a request's cost
   * for handlers that route and answer (several microseconds on Node and
   * Deno). The price: such a request cannot be the first argument of
   * `fetch()` or `new Request()` on Node and Deno; pass `request.clone()`
   * there, or the request as the second argument. Default `false`.
   */
  lazyRequests?: boolean;
  /** The scheme of request URLs: `"https"` behind a TLS listener. Default `"http"`. */
  scheme?: "http" | "https";
  /** Unread request body bytes read and dropped after a response, to keep the connection; past it the connection closes. Default {@link DEFAULT_MAX_DRAIN_BYTES}. */
  maxDrainBytes?: number;
  /** Handles CONNECT (a proxy's tunnel); without it CONNECT gets 405. Accept with `info.upgrade()`. */
  connect?(request: ConnectRequest, info: HttpInfo): Response | Promise<Response>;
  /** Told about handlers that throw or return something other than a Response (the client gets 500), and broken connections. Default `console.error`. */
  onError?(error: unknown, request: Request | undefined): void;
  /** Time source for the head and idle timeouts. Default the system clock. */
  clock?: Clock;
}

/** Options of {@link serveHttp}: serve()'s and the handler's. */
export interface ServeHttpOptions extends Omit<ServeOptions, "onError">, HttpHandlerOptions {
  /** Where connections come from: `listen()` of an adapter. */
  listener: Listener;
  /** Answers every request. */
  fetch: FetchHandler;
}

/**
 * Serves HTTP/1.1 on `listener` with a fetch handler: `fetch(request, info)`
 * gets a WHATWG `Request` and returns a `Response` (or a promise of one), so
 * the apps written for Deno, Bun, Workers and Hono run unchanged.
 *
 * - Request and response bodies stream, with backpressure both ways: a
 *   handler that reads slowly slows the client down; a client that reads
 *   slowly slows the response body's source down.
 * - Keep-alive and pipelining; `Expect: 100-continue` is answered when the
 *   handler first reads the body; HEAD, 204 and 304 go without a body.
 * - `request.signal` aborts when the client goes away (a reset, or its end
 *   of the connection while the request is in flight).
 * - Malformed requests (request smuggling shapes among them) get 400, an
 *   oversized head 431, a head that trickles in past `headTimeoutMs` 408;
 *   the connection closes after, and no other connection notices.
 * - `Upgrade` and CONNECT hand the connection over through `info.upgrade()`.
 * - Graceful shutdown is serve()'s: `server.shutdown()` stops accepting,
 *   lets requests in flight finish (their responses say `connection:
 *   close`), closes idle connections, then aborts what is left.
 *
 * @example A handler, and a request to it over a memory listener
 * ```ts
 * import { memoryListener } from "weft";
 * import { serveHttp } from "weft/http";
 *
 * const listener = memoryListener();
 * const server = serveHttp({
 *   listener,
 *   fetch: (request) => new Response(`hello ${new URL(request.url).pathname}`),
 * });
 * const conn = await listener.connect();
 * const writer = conn.writable.getWriter();
 * await writer.write(new TextEncoder().encode("GET /there HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
 * const reply = await new Response(conn.readable).text();
 * console.assert(reply.startsWith("HTTP/1.1 200 OK\r\n") && reply.endsWith("\r\n\r\nhello /there"));
 * await server.shutdown();
 * ```
 */
export function serveHttp(options: ServeHttpOptions): Server {
  if (typeof options !== "object" || options === null) throw new TypeError("Invalid options for serveHttp(): expected { listener, fetch }");
  const { listener, fetch, headTimeoutMs, lazyRequests, scheme, maxDrainBytes, connect, onError, clock, maxLineBytes, maxHeadBytes, maxHeaders, maxChunkLineBytes, ...serveOptions } =
    options;
  const handler = httpHandler(fetch, { headTimeoutMs, lazyRequests, scheme, maxDrainBytes, connect, onError, clock, maxLineBytes, maxHeadBytes, maxHeaders, maxChunkLineBytes });
  return serve(listener, handler, { clock, ...serveOptions, onError: (error) => reportError(onError, error, undefined) });
}

/** The limit options, checked once here (each connection's codec takes them again). */
function limitsOf(fn: string, o: HttpLimits): HttpLimits {
  const { line, head, headers, chunkLine } = resolveLimits(fn, o);
  return { maxLineBytes: line, maxHeadBytes: head, maxHeaders: headers, maxChunkLineBytes: chunkLine };
}

function reportError(onError: HttpHandlerOptions["onError"], error: unknown, request: Request | undefined): void {
  if (onError === undefined) console.error("serveHttp():", error);
  else {
    try {
      onError(error, request);
    } catch {
      // a failing reporter has nothing better to tell
    }
  }
}

/** The handler options, checked. */
interface Config {
  fetch: FetchHandler;
  connect: HttpHandlerOptions["connect"];
  limits: HttpLimits;
  headTimeoutMs: number;
  lazyRequests: boolean;
  scheme: string;
  maxDrainBytes: number;
  onError: (error: unknown, request: Request | undefined) => void;
  clock: Clock | undefined;
}

/**
 * The connection handler behind {@link serveHttp}, for serve() itself (to
 * pass serve()'s own options, or to share a listener's accept loop).
 *
 * @example
 * ```ts
 * import { memoryListener, serve } from "weft";
 * import { httpHandler } from "weft/http";
 *
 * const server = serve(memoryListener(), httpHandler(() => new Response("ok")), { maxConnections: 10 });
 * await server.shutdown();
 * ```
 */
export function httpHandler(fetch: FetchHandler, options: HttpHandlerOptions = {}): ConnHandler {
  const fn = "httpHandler()";
  if (typeof fetch !== "function") throw new TypeError(`Invalid fetch for ${fn}: expected a function (request, info) => Response`);
  if (typeof options !== "object" || options === null) throw new TypeError(`Invalid options for ${fn}: expected an object`);
  const headTimeoutMs = options.headTimeoutMs ?? DEFAULT_HEAD_TIMEOUT_MS;
  if (typeof headTimeoutMs !== "number" || !(headTimeoutMs > 0)) throw new RangeError(`Invalid headTimeoutMs ${String(headTimeoutMs)} for ${fn}: expected a positive number of milliseconds`);
  const scheme = options.scheme ?? "http";
  if (scheme !== "http" && scheme !== "https") throw new TypeError(`Invalid scheme ${JSON.stringify(scheme)} for ${fn}: expected "http" or "https"`);
  const maxDrainBytes = options.maxDrainBytes ?? DEFAULT_MAX_DRAIN_BYTES;
  if (typeof maxDrainBytes !== "number" || !(maxDrainBytes >= 0)) throw new RangeError(`Invalid maxDrainBytes ${String(maxDrainBytes)} for ${fn}: expected a non-negative number`);
  if (options.connect !== undefined && typeof options.connect !== "function") throw new TypeError(`Invalid connect for ${fn}: expected a function`);
  if (options.onError !== undefined && typeof options.onError !== "function") throw new TypeError(`Invalid onError for ${fn}: expected a function`);
  const onError = options.onError;
  const config: Config = {
    fetch,
    connect: options.connect,
    limits: limitsOf(fn, options),
    headTimeoutMs,
    lazyRequests: options.lazyRequests === true,
    scheme,
    maxDrainBytes,
    onError: (error, request) => reportError(onError, error, request),
    clock: options.clock,
  };
  // One timer for every connection's head and idle timeouts.
  const watch = new Sweeper(config.clock);
  return (conn, info) => new HttpConnection(conn, info, config, watch).run();
}

type Frame = HttpFrame<RequestHead>;
type HeadFrame = HttpHeadFrame<RequestHead>;


let dateText = "";
let dateSecond = 0;

/** The Date field's value, made once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

/** Per request: what the connection knows about the exchange in flight. Also the source of a lazy request. */
class Exchange implements LazySource {
  readonly head: RequestHead;
  url = "";
  method: string;
  readonly list: HeaderList;
  body: (() => ReadableStream<Uint8Array>) | undefined = undefined;
  request: Request | undefined = undefined;
  /** A body is still to be read from the connection. */
  bodyOpen: boolean;
  /** The handler's body stream was cancelled: its rest is dropped. */
  bodyCancelled = false;
  expectContinue = false;
  /** Something (100 Continue or the response) was written. */
  answered = false;
  upgrade: { status: number; headers: HeadersInit | undefined; response: Response; resolve(u: HttpUpgrade): void; reject(e: unknown): void } | undefined = undefined;
  /** Made when someone asks for the signal: most handlers never do. */
  #controller: AbortController | undefined = undefined;
  /** Set when the client went away, or the connection broke, while the request was in flight. */
  gone = false;
  reason: unknown = undefined;

  constructor(head: RequestHead, bodyOpen: boolean) {
    this.head = head;
    this.method = head.method;
    this.list = head.headers;
    this.bodyOpen = bodyOpen;
  }

  /** The request's signal: aborts when the client goes away or the connection breaks. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.gone) this.#controller.abort(this.reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.gone) return;
    this.gone = true;
    this.reason = reason;
    this.#controller?.abort(reason);
  }
}

const EXCHANGE = Symbol("weft.http.exchange");

/**
 * The Request a handler gets: a platform Request whose `signal` is the
 * exchange's own. Not passed to the constructor, since a Request made to
 * follow a signal costs many times a plain one on Node (a listener, a weak
 * reference, a finalizer each); and a getter of a subclass rather than a
 * property set on each request, which costs about as much again.
 */
class ServerRequest extends Request {
  declare [EXCHANGE]: Exchange;

  override get signal(): AbortSignal {
    return this[EXCHANGE].signal;
  }
}

/** One connection: requests one after the other (pipelined ones wait their turn), answered in order. */
class HttpConnection implements HttpInfo, Swept {
  readonly remoteAddr: ConnInfo["remoteAddr"];
  readonly localAddr: ConnInfo["localAddr"];
  readonly shutdown: AbortSignal;
  #config: Config;
  #watch: Sweeper;
  #codec: HttpServerCodec;
  #framed: Framed<Frame, HttpFrame<ResponseHead>>;
  #reader: ReadableStreamDefaultReader<Frame[]>;
  #writer: WritableStreamDefaultWriter<HttpFrame<ResponseHead>>;
  #frames: Frame[] = [];
  #at = 0;
  /** The read in flight: frames, or the end (undefined), or the error to throw. */
  #reading: Promise<void> | undefined;
  #ended = false;
  #readError: unknown;
  #x: Exchange | undefined;
  #closing = false; // no more requests after the current one
  #headSince = -1; // when the head timeout saw a partial head, -1 when it did not
  #timedOut = false;
  #idleTimeoutMs: number;
  #idleSince = -1; // when the watch saw the connection idle, -1 when it did not
  #served = 0; // exchanges started: the watch sees activity between its looks
  #seen = -1;
  #host: string | undefined;
  #origin: string | undefined;
  #writeFailed: unknown;
  #write: (frame: HttpFrame<ResponseHead>) => void; // writes a frame not waited for; a failure goes to #onWriteFailed
  #onWriteFailed = (error: unknown) => {
    this.#writeFailed ??= error;
    this.#x?.abort(error);
  };

  constructor(conn: Conn, info: ConnInfo, config: Config, watch: Sweeper) {
    this.remoteAddr = info.remoteAddr;
    this.localAddr = info.localAddr;
    this.shutdown = info.signal;
    this.#idleTimeoutMs = info.idleTimeoutMs;
    this.#config = config;
    this.#watch = watch;
    this.#codec = httpServerCodec(config.limits);
    this.#framed = framed(conn, this.#codec);
    this.#reader = this.#framed.batches.getReader();
    this.#writer = this.#framed.writable.getWriter();
    this.#write = writeAhead(this.#writer, this.#onWriteFailed);
  }

  async run(): Promise<void> {
    this.#watch.add(this, Math.min(this.#config.headTimeoutMs, this.#idleTimeoutMs));
    const onShutdown = () => this.#drain();
    this.shutdown.addEventListener("abort", onShutdown);
    let upgraded: Conn | undefined;
    try {
      while (!this.#closing) {
        // A frame at hand (pipelined requests) is taken without a promise.
        const frame = this.#at < this.#frames.length ? this.#take() : await this.#next(true);
        if (frame === undefined) break;
        if (frame.kind !== "head") throw new FrameError("invalid-frame", "A body frame outside a request");
        // A handler that answers at once with a body at hand is served with no promise at all.
        const pending = this.#exchange(frame);
        const result = pending === undefined ? undefined : await pending;
        if (result !== undefined) {
          upgraded = result;
          break;
        }
      }
    } catch (error) {
      await this.#fail(error);
    } finally {
      this.#watch.delete(this);
      this.shutdown.removeEventListener("abort", onShutdown);
    }
    if (upgraded !== undefined) {
      // The connection is the handler's now: serve() counts it until it closes.
      await upgraded.closed.catch(() => {});
      return;
    }
    await this.#close();
  }

  /** Graceful shutdown: an idle connection closes now, a busy one after its response. */
  #drain(): void {
    this.#closing = true;
    if (this.#x === undefined && !this.#codec.inHead) this.#reader.cancel().catch(() => {});
  }

  /** Called by the sweeper: a head that has been arriving for headTimeoutMs gets 408; a connection idle for the idle timeout closes. */
  sweep(now: number): void {
    const timeoutMs = this.#config.headTimeoutMs;
    const busy = this.#x !== undefined || this.#served !== this.#seen;
    this.#seen = this.#served;
    if (busy || this.#codec.inHead) this.#idleSince = -1;
    else if (this.#idleSince < 0) this.#idleSince = now;
    else if (now - this.#idleSince >= this.#idleTimeoutMs && !this.#closing) {
      // Keep-alive is over: a quiet close, as every server does.
      this.#closing = true;
      this.#reader.cancel().catch(() => {});
    }
    if (!this.#codec.inHead || busy) {
      this.#headSince = -1;
      return;
    }
    if (this.#headSince < 0) this.#headSince = now;
    else if (now - this.#headSince >= timeoutMs && !this.#timedOut) {
      this.#timedOut = true;
      this.#reader.cancel(new HttpError(408, "invalid-frame", `The request head took longer than headTimeoutMs ${timeoutMs}`)).catch(() => {});
    }
  }

  /** The next frame: from the batch at hand, else a read. `undefined` at the end of the requests. */
  async #next(waitingForHead: boolean): Promise<Frame | undefined> {
    for (;;) {
      if (this.#at < this.#frames.length) return this.#take();
      if (this.#readError !== undefined) throw this.#readError;
      if (this.#ended) return undefined;
      if (waitingForHead && this.#closing) return undefined;
      await (this.#reading ?? this.#read());
    }
  }

  /** The next frame of the batch at hand (there is one). */
  #take(): Frame {
    const frame = this.#frames[this.#at]!;
    this.#frames[this.#at++] = undefined as unknown as Frame;
    return frame;
  }

  /** Starts a read of the next batch of frames (once at a time). */
  #read(): Promise<void> {
    this.#reading = this.#reader.read().then(
      (r) => {
        this.#reading = undefined;
        if (r.done) {
          this.#ended = true;
          if (this.#timedOut) this.#readError = new HttpError(408, "invalid-frame", `The request head took longer than headTimeoutMs ${this.#config.headTimeoutMs}`);
          // The client's end while a request is in flight: it went away.
          this.#x?.abort(new NetError("closed", "The client closed the connection"));
        } else {
          this.#frames = r.value;
          this.#at = 0;
        }
      },
      (error) => {
        this.#reading = undefined;
        this.#ended = true;
        this.#readError = error;
        // A malformed request is answered; a connection that broke or ended mid-message means the client left.
        if (!(error instanceof HttpError)) this.#x?.abort(error);
      },
    );
    return this.#reading;
  }

  /**
   * One request and its response; resolves with the connection when it was
   * handed over. `undefined` when it is all done already: a handler that
   * answered at once with a body at hand costs no promise here.
   */
  #exchange(frame: HeadFrame): Promise<Conn | undefined> | undefined {
    const head = frame.head;
    const x = new Exchange(head, frame.body === true);
    this.#x = x;
    this.#served++;
    if ((head.minor === 0 && !hasToken(head.headers, "connection", "keep-alive")) || hasToken(head.headers, "connection", "close")) this.#closing = true;
    let response: Response | PromiseLike<Response>;
    try {
      response = this.#respond(x, frame.upgrade === true);
    } catch (error) {
      response = this.#failed(x, error);
    }
    if (!(response instanceof Response)) {
      return Promise.resolve(response).then(
        (r) => this.#answer(x, frame, r),
        (error: unknown) => this.#answer(x, frame, this.#failed(x, error)),
      );
    }
    return this.#answer(x, frame, response);
  }

  /** The response for a handler that threw or rejected. */
  #failed(x: Exchange, error: unknown): Response {
    const bad = this.#readError;
    // The request's body was malformed: the handler saw its body fail.
    if (bad instanceof HttpError) return plain(bad.status, { connection: "close" });
    // A handler that failed because its client left (its body broke off) is not news.
    if (!x.gone) this.#config.onError(error, x.request);
    return plain(500);
  }

  /** Writes the handler's response, and what follows it; `undefined` when nothing is left to wait for. */
  #answer(x: Exchange, frame: HeadFrame, response: Response): Promise<Conn | undefined> | undefined {
    // The body the handler left unread: dropped up to a bound, else the connection closes after the response.
    if (x.bodyOpen && !x.bodyCancelled && x.expectContinue && !x.answered) this.#closing = true;
    if (x.upgrade !== undefined && response === x.upgrade.response) return this.#handOver(x);
    if (frame.upgrade) this.#codec.resume();
    x.upgrade?.reject(new TypeError("The handler returned a response other than the one of info.upgrade(): the connection was not handed over"));
    const sending = this.#send(x, response);
    if (sending === undefined && !x.bodyOpen) return this.#done();
    return (async () => {
      await sending;
      if (x.bodyOpen) await this.#dropBody(x);
      return this.#done();
    })();
  }

  /** The exchange is over: the next request may start, once the client has taken what was written. */
  #done(): Promise<undefined> | undefined {
    this.#x = undefined;
    if (this.#writeFailed !== undefined) throw this.#writeFailed;
    // The client reads slower than we answer: wait before reading more requests.
    if ((this.#writer.desiredSize ?? 1) <= 0) return this.#writer.ready.then(() => undefined);
    return undefined;
  }

  /** Runs the handler (or answers for it): its response, or the promise of one. */
  #respond(x: Exchange, upgrade: boolean): Response | PromiseLike<Response> {
    const head = x.head;
    const method = head.method;
    if (method === "CONNECT") {
      if (this.#config.connect === undefined) return plain(405, { allow: "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS" });
      const request: ConnectRequest = { authority: head.target, headers: toHeaders(head.headers), signal: x.signal };
      return Promise.resolve(this.#config.connect(request, this.#infoFor(x, upgrade))).then(checkResponse);
    }
    if (method === "TRACE" || method === "TRACK") return plain(405, { allow: "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS" });
    let url: string;
    try {
      url = this.#url(head);
    } catch {
      return plain(400, { connection: "close" });
    }
    const expect = head.minor === 1 ? headerValue(head.headers, "expect") : undefined;
    if (expect !== undefined) {
      if (expect.toLowerCase() !== "100-continue") return plain(417, { connection: "close" });
      x.expectContinue = true;
    }
    const hasBody = x.bodyOpen && method !== "GET" && method !== "HEAD";
    if (x.bodyOpen && !hasBody) x.bodyCancelled = true; // fetch's Request cannot carry a GET's body: it is dropped
    let request: Request;
    if (this.#config.lazyRequests) {
      x.url = url;
      if (hasBody) x.body = () => this.#body(x);
      request = x.request = lazyRequest(x);
    } else {
      request = x.request = this.#request(x, url, hasBody);
    }
    if (!x.bodyOpen && !upgrade && this.#reading === undefined && !this.#ended && this.#at >= this.#frames.length) {
      // Read ahead while the handler runs: the next pipelined request, or the client's going away.
      this.#read();
    }
    const response = this.#config.fetch(request, this.#infoFor(x, upgrade));
    return response instanceof Response ? response : Promise.resolve(response).then(checkResponse);
  }

  #request(x: Exchange, url: string, hasBody: boolean): Request {
    const init: RequestInit & { duplex?: "half" } = { method: x.head.method, headers: pairs(x.head.headers) };
    if (hasBody) {
      init.body = this.#body(x);
      init.duplex = "half";
    }
    const request = new ServerRequest(url, init);
    request[EXCHANGE] = x;
    return request;
  }

  #url(head: RequestHead): string {
    const target = head.target;
    if (target.charCodeAt(0) === 47) {
      // origin-form: "/path?query"
      const host = hostOf(head.headers) ?? localHost(this.localAddr);
      if (host !== this.#host) {
        const origin = `${this.#config.scheme}://${host}`;
        // The Host must be a host (and port), nothing that would change the URL's path.
        if (!URL.canParse(origin) || new URL(origin).host === "" || /[/?#@\\]/.test(host)) throw new TypeError("Invalid Host");
        this.#host = host;
        this.#origin = origin;
      }
      return this.#origin! + target;
    }
    if (target === "*") return `${this.#config.scheme}://${hostOf(head.headers) ?? localHost(this.localAddr)}/*`;
    if (/^https?:\/\//i.test(target)) return target; // absolute-form: a proxy request
    throw new TypeError("Invalid request target");
  }

  /** The info a handler sees: the connection's, with upgrade() bound to this exchange. */
  #infoFor(x: Exchange, upgrade: boolean): HttpInfo {
    if (!upgrade) return this;
    return {
      remoteAddr: this.remoteAddr,
      localAddr: this.localAddr,
      shutdown: this.shutdown,
      upgrade: (init) => {
        if (x.upgrade !== undefined) throw new TypeError("info.upgrade() was called already for this request");
        const status = init?.status ?? (x.head.method === "CONNECT" ? 200 : 101);
        if (x.head.method === "CONNECT" ? status < 200 || status > 299 : status !== 101) {
          throw new RangeError(`Invalid upgrade status ${status}: expected ${x.head.method === "CONNECT" ? "a 2xx for CONNECT" : "101"}`);
        }
        let resolve!: (u: HttpUpgrade) => void;
        let reject!: (e: unknown) => void;
        const conn = new Promise<HttpUpgrade>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        conn.catch(() => {});
        x.upgrade = { status, headers: init?.headers, response: new Response(null, { status: 200 }), resolve, reject };
        return { response: x.upgrade.response, conn };
      },
    };
  }

  upgrade(): never {
    throw new TypeError("info.upgrade(): this request asks for no upgrade (no Upgrade field with Connection: upgrade, and not a CONNECT)");
  }

  /** The request body: the connection's body frames, read as the handler reads. */
  #body(x: Exchange): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        pull: async (c) => {
          if (x.expectContinue && !x.answered) {
            x.answered = true;
            this.#write({ kind: "head", head: { status: 100, statusText: "", minor: 1, headers: [] }, body: false });
          }
          for (;;) {
            const frame = await this.#next(false);
            if (frame === undefined) throw new NetError("closed", "The client closed the connection in the middle of the request body");
            if (frame.kind === "chunk") {
              if (frame.chunk.length === 0) continue;
              return c.enqueue(frame.chunk);
            }
            if (frame.kind === "end") {
              x.bodyOpen = false;
              return c.close();
            }
            throw new FrameError("invalid-frame", "A request head in the middle of a body");
          }
        },
        cancel: () => {
          x.bodyCancelled = true;
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** Drops the rest of a body the handler did not read, up to maxDrainBytes; past it the connection closes. */
  async #dropBody(x: Exchange): Promise<void> {
    if (this.#closing) return;
    let dropped = 0;
    while (x.bodyOpen) {
      const frame = await this.#next(false).catch(() => undefined);
      if (frame === undefined || frame.kind === "head") {
        this.#closing = true;
        return;
      }
      if (frame.kind === "end") x.bodyOpen = false;
      else if ((dropped += frame.chunk.length) > this.#config.maxDrainBytes) {
        this.#closing = true;
        return;
      }
    }
  }

  /** Writes the response: head, then its body as the connection takes it; `undefined` when it is all written at once. */
  #send(x: Exchange, response: Response): Promise<void> | undefined {
    x.answered = true;
    const parts = responseParts(response);
    const out: Outgoing = { headers: [], close: this.#closing, hasDate: false, length: -1 };
    if (parts !== undefined) {
      const list = parts.headers;
      for (let i = 0; i < list.length; i += 2) addOutgoing(out, list[i]!, list[i + 1]!);
    } else {
      for (const [name, value] of response.headers) addOutgoing(out, name, value);
    }
    const headers = out.headers;
    if (!out.hasDate) headers.push("date", httpDate());
    const close = out.close;
    const length = out.length;
    const status = parts?.status ?? response.status;
    const head: ResponseHead = { status, statusText: parts?.statusText ?? response.statusText, minor: 1, headers };
    const noBody = status === 204 || status === 304;
    const isHead = x.head.method === "HEAD";
    if (parts !== undefined) {
      // A FastResponse: its body is all here, no stream to read.
      const b = parts.body;
      const bytes = b === null || noBody ? null : typeof b === "string" ? encodeBody(b) : b;
      if (bytes !== null && length >= 0 && length !== bytes.length) {
        throw new NetError("body-aborted", "The response body failed", { cause: new TypeError(`The response's Content-Length is ${length} but its body has ${bytes.length} bytes`) });
      }
      this.#finishHead(head, close, x);
      this.#write({ kind: "head", head, body: bytes ?? false });
      return;
    }
    const body = response.body;
    if (body === null || noBody) {
      if (body !== null) body.cancel().catch(() => {});
      this.#finishHead(head, close, x);
      this.#write({ kind: "head", head, body: false });
      return;
    }
    return this.#sendStream(x, body, head, close, length, isHead);
  }

  /** A body from its stream: whole in the head's write when it is all there, else chunk by chunk. */
  async #sendStream(x: Exchange, body: ReadableStream<Uint8Array>, head: ResponseHead, close: boolean, length: number, isHead: boolean): Promise<void> {
    const reader = body.getReader();
    try {
      const first = await reader.read();
      if (first.done) {
        this.#finishHead(head, close, x);
        this.#write({ kind: "head", head, body: length > 0 ? true : false });
        if (length > 0) throw new TypeError(`The response's Content-Length is ${length} but its body is empty`);
        return;
      }
      const bytes = checkChunk(first.value);
      // A body that is all there (a string, a buffer) leaves with a Content-Length, in the head's write.
      const next = reader.read();
      const second = (await soon(next))?.value;
      if (second?.done) {
        if (length >= 0 && length !== bytes.length) throw new TypeError(`The response's Content-Length is ${length} but its body has ${bytes.length} bytes`);
        this.#finishHead(head, close, x);
        this.#write({ kind: "head", head, body: bytes });
        return;
      }
      if (isHead) {
        // A HEAD response stops at its head: the stream is not pumped only to be dropped.
        this.#finishHead(head, close, x);
        this.#write({ kind: "head", head, body: true });
        reader.cancel().catch(() => {});
        return;
      }
      // A stream: chunked (or by its Content-Length), or to the end of the connection for an HTTP/1.0 client.
      if (length < 0 && x.head.minor === 0) close = true;
      this.#finishHead(head, close, x);
      this.#write({ kind: "head", head, body: true });
      this.#write({ kind: "chunk", chunk: bytes });
      let r = second ?? (await next);
      while (!r.done) {
        if (x.gone) throw x.reason;
        this.#write({ kind: "chunk", chunk: checkChunk(r.value) });
        if ((this.#writer.desiredSize ?? 1) <= 0) await this.#writer.ready;
        r = await reader.read();
      }
      this.#write({ kind: "end" });
    } catch (error) {
      reader.cancel(error).catch(() => {});
      // Half a response cannot be taken back: the connection ends here.
      throw x.gone && error === x.reason ? error : new NetError("body-aborted", "The response body failed", { cause: error });
    }
  }

  #finishHead(head: ResponseHead, close: boolean, x: Exchange): void {
    if (close || this.#closing) {
      this.#closing = true;
      head.headers.push("connection", "close");
    } else if (x.head.minor === 0) {
      head.headers.push("connection", "keep-alive");
    }
  }

  /** Hands the connection to the handler of an upgrade. */
  async #handOver(x: Exchange): Promise<Conn | undefined> {
    const u = x.upgrade!;
    try {
      const headers = toHeaderList(new Headers(u.headers));
      if (x.head.method !== "CONNECT" && !headers.includes("connection")) headers.push("connection", "upgrade");
      const head: ResponseHead = { status: u.status, statusText: STATUS_TEXT[u.status] ?? "", minor: 1, headers };
      // 101 and a 2xx to CONNECT have no body: the next bytes are the new protocol's.
      await this.#writer.write({ kind: "head", head, body: true });
      this.#reader.releaseLock();
      this.#writer.releaseLock();
      const { conn, leftover } = await this.#framed.parts();
      this.#x = undefined;
      u.resolve({ conn, leftover });
      return conn;
    } catch (error) {
      u.reject(error);
      throw error;
    }
  }

  /** A malformed request, a broken connection or a failed response: answer what can be answered, then close. */
  async #fail(error: unknown): Promise<void> {
    const x = this.#x;
    x?.abort(error);
    if (error instanceof HttpError && (x === undefined || !x.answered) && this.#writeFailed === undefined) {
      const head: ResponseHead = { status: error.status, statusText: "", minor: 1, headers: ["date", httpDate(), "connection", "close", "content-type", "text/plain;charset=UTF-8"] };
      this.#write({ kind: "head", head, body: new TextEncoder().encode(`${error.status} ${STATUS_TEXT[error.status] ?? ""}: ${error.message}\n`) });
      await this.#close();
      return;
    }
    if (!(error instanceof FrameError) && !isQuiet(error)) this.#config.onError(error, x?.request);
    await this.#close(error instanceof FrameError ? undefined : error);
  }

  async #close(reason?: unknown): Promise<void> {
    this.#reader.cancel().catch(() => {});
    if (reason === undefined && this.#writeFailed === undefined) {
      try {
        await this.#writer.close();
      } catch {
        // the peer is gone: nothing more to say
      }
    } else {
      this.#writer.abort(reason).catch(() => {});
    }
    await this.#framed.close(reason).catch(() => {});
  }
}

const encoder = new TextEncoder();
let lastText = "";
let lastBytes = new Uint8Array(0);

/** A string body as UTF-8; the last short one is kept, as a handler often answers the same text (the bytes are only read). */
function encodeBody(text: string): Uint8Array {
  if (text.length > 1024) return encoder.encode(text);
  if (text !== lastText) {
    lastBytes = encoder.encode(text);
    lastText = text;
  }
  return lastBytes;
}

/** A response's fields as they go out, and what they say about the connection and the body. */
interface Outgoing {
  headers: HeaderList;
  close: boolean;
  hasDate: boolean;
  length: number;
}

/** One of the response's fields: hop-by-hop ones stay here (`connection: close` is heeded). */
function addOutgoing(out: Outgoing, name: string, value: string): void {
  if (HOP_BY_HOP.has(name)) {
    if (name === "connection" && /(^|,)\s*close\s*(,|$)/i.test(value)) out.close = true;
    return;
  }
  if (name === "date") out.hasDate = true;
  else if (name === "content-length") out.length = Number(value);
  out.headers.push(name, value);
}

/** Errors that only say the client left. */
function isQuiet(error: unknown): boolean {
  return error instanceof NetError && (error.code === "connection-reset" || error.code === "closed" || error.code === "broken-pipe" || error.code === "body-aborted");
}

function checkResponse(response: unknown): Response {
  if (response instanceof Response) return response;
  throw new TypeError(`The handler returned ${response === null ? "null" : typeof response} instead of a Response`);
}

function checkChunk(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  throw new TypeError(`A response body gave a ${Object.prototype.toString.call(chunk)} instead of a Uint8Array`);
}

function plain(status: number, extra: Record<string, string> = {}): Response {
  return new Response(`${status} ${STATUS_TEXT[status] ?? ""}\n`, { status, headers: { "content-type": "text/plain;charset=UTF-8", ...extra } });
}

/** Field pairs, not a Headers: a Request builds its own Headers from them, once. */
function pairs(list: HeaderList): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < list.length; i += 2) out.push([list[i]!, list[i + 1]!]);
  return out;
}

function toHeaders(list: HeaderList): Headers {
  const headers = new Headers();
  for (let i = 0; i < list.length; i += 2) headers.append(list[i]!, list[i + 1]!);
  return headers;
}

function toHeaderList(headers: Headers): HeaderList {
  const list: HeaderList = [];
  for (const [name, value] of headers) list.push(name, value);
  return list;
}

function hostOf(headers: HeaderList): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === "host") return headers[i + 1];
  return undefined;
}

function localHost(addr: ConnInfo["localAddr"]): string {
  if (addr.hostname === undefined) return "localhost";
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return addr.port === undefined ? host : `${host}:${addr.port}`;
}
