/**
 * httpClient(): HTTP/1.1 requests as a `Service<Request, Response>`, over a
 * pool of keep-alive connections per origin, with streamed bodies.
 *
 * ```text
 * call(request) ─▶ origin "http://host:port" ─▶ buffer() ─▶ pool() ─▶ connection ─▶ streamingClient() ─▶ framed(conn, httpClientCodec())
 * ```
 *
 * One request at a time per connection (no pipelining: a response that
 * closes its connection would take the requests queued behind it along).
 * A connection takes its next request once the last byte of the previous
 * response has been decoded and the request has left, even if the caller
 * still reads the tail of that body from the bytes already received.
 */
import {
  buffer,
  type CallOptions,
  type Codec,
  type Conn,
  type ConnectOptions,
  type DispatchClient,
  FrameError,
  framed,
  type Framed,
  type Message,
  NetError,
  pool,
  type Pool,
  type Service,
  type StreamFrame,
  streamingClient,
  type TlsClientOptions,
  type TlsConnectOptions,
} from "../../../mod.ts";
import { type HttpClientCodec, httpClientCodec, type HttpFrame } from "./codec.ts";
import { hasToken, type HeaderList, type HttpLimits, type RequestHead, type ResponseHead } from "./head.ts";
import { resolveLimits } from "./_parse.ts";
import { HOP_BY_HOP, soon } from "./_private.ts";

/** Connections per origin at most by default: more than a browser's 6, as a server fans out; bounded, so one origin cannot take every socket. */
export const DEFAULT_HTTP_POOL_SIZE = 16;
/** An idle connection is closed after this long by default: 4 s, under Node's 5 s keep-alive timeout (undici's choice), so the client usually closes first. */
export const DEFAULT_HTTP_IDLE_TIMEOUT_MS = 4_000;
/** Calls that may wait per origin while its connections are all busy; one more is refused with `overloaded`. */
export const DEFAULT_HTTP_MAX_QUEUED = 1024;
/** Origins with a pool at once by default; an idle one makes room for a new one, and past it calls are refused with `overloaded`. */
export const DEFAULT_HTTP_MAX_ORIGINS = 64;

/** Options of {@link httpClient}. */
export interface HttpClientOptions extends HttpLimits {
  /** Opens TCP connections for `http:` URLs: an adapter's `connect` (`import { connect } from "weft/node"`). */
  connect?: (options: ConnectOptions) => Promise<Conn>;
  /** Opens TLS connections for `https:` URLs: an adapter's `connectTls`. Without it `https:` URLs are refused. */
  connectTls?: (options: TlsConnectOptions) => Promise<Conn>;
  /** TLS settings passed to `connectTls` (`caCerts`, `serverName`, a client certificate). */
  tls?: TlsClientOptions;
  /** Connections per origin at most. Default {@link DEFAULT_HTTP_POOL_SIZE}. */
  poolSize?: number;
  /** A connection with no request for this long is closed, in milliseconds. Default {@link DEFAULT_HTTP_IDLE_TIMEOUT_MS}. */
  idleTimeoutMs?: number;
  /** Calls that may wait per origin while its connections are busy. Default {@link DEFAULT_HTTP_MAX_QUEUED}. */
  maxQueued?: number;
  /** Origins (scheme, host and port) with connections at once. Default {@link DEFAULT_HTTP_MAX_ORIGINS}. */
  maxOrigins?: number;
}

/**
 * An HTTP/1.1 client: what {@link httpClient} returns. A `Service`, so
 * middleware wraps it like any other.
 *
 * @example A streamed download, read chunk by chunk
 * ```ts
 * import { memoryListener } from "weft";
 * import { httpClient, serveHttp } from "weft/http";
 *
 * const listener = memoryListener();
 * const server = serveHttp({ listener, fetch: () => new Response(new Blob([new Uint8Array(300_000)]).stream()) });
 * const client = httpClient({ connect: () => listener.connect() });
 * const res = await client.fetch("http://example.test/big");
 * let bytes = 0;
 * for await (const chunk of res.body!) bytes += chunk.length; // the connection is read as fast as this loop reads
 * console.assert(bytes === 300_000);
 * await client.close();
 * await server.shutdown();
 * ```
 */
export interface HttpClient extends Service<Request, Response> {
  /** Sends `request` and resolves with the response once its head has arrived; its body streams from the connection. */
  call(request: Request, options?: CallOptions): Promise<Response>;
  /** The same as `call(new Request(input, init))`, with fetch's arguments. */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** Refuses new calls, waits for the responses still arriving (a body not all received waits for its reader: read or cancel it), then closes every connection. */
  close(): Promise<void>;
}

/**
 * An HTTP/1.1 client as a `Service<Request, Response>`: each call sends a
 * WHATWG `Request` and resolves with a `Response` whose body streams from
 * the connection, over a pool of keep-alive connections per origin.
 *
 * - **Requests**: the method, the URL's path and query as the target, the
 *   request's headers (a `host` header overrides the URL's host), no
 *   hop-by-hop fields (Connection, Keep-Alive, TE, Transfer-Encoding,
 *   Upgrade, and those Connection names; `Connection: close` is kept and
 *   closes the connection after the response). A body goes with its
 *   Content-Length when the headers give one or when it is all there at
 *   once (a string, a buffer), else chunked, and leaves as the connection
 *   takes it. Nothing else is added: no Accept, no User-Agent, no
 *   compression.
 * - **Responses** come back as they are: redirects are not followed (a 3xx
 *   is the response), and 1xx interim responses are skipped. The body reads
 *   at the pace of its reader (backpressure). Read or cancel every body: an
 *   unread body holds its connection. Trailers are dropped.
 * - **Connections**: one request at a time on each; a response with
 *   `Connection: close`, an HTTP/1.0 response without keep-alive, or a body
 *   that runs to the end of the connection, ends its connection. When a
 *   reused connection turns out closed by the server (a keep-alive race)
 *   before any byte of the response arrived, a request with no body and an
 *   idempotent method (GET, HEAD, OPTIONS, TRACE, PUT, DELETE, or an
 *   `Idempotency-Key` header) is sent again on another connection, up to
 *   `poolSize + 1` times; any other request rejects.
 * - **Cancelling**: the call's signal and the request's own `signal` abort
 *   the call; after the head, they error the body. Either way, and when the
 *   body is cancelled before its last byte has arrived, the connection is
 *   closed rather than drained. `timeout()` around the client bounds the time to the head; a
 *   signal on the Request (`AbortSignal.timeout(ms)`) bounds the body too.
 * - **Idle connections** close `idleTimeoutMs` after the end of their last
 *   response; one the server closed meanwhile is dropped when its end
 *   arrives.
 * - **Errors**: the adapter's `NetError`s (`connection-refused`, ...),
 *   `closed` when the server closes before the end of the response, a
 *   `FrameError` (an `HttpError`) for a malformed response, `protocol-error`
 *   for a response HTTP/1.1 does not allow here (a 101, a status past 599),
 *   `body-aborted` when the request body fails (its error as `cause`; a body
 *   that breaks its Content-Length is a `RangeError` there), `overloaded`
 *   when an origin's queue is full; `TypeError` for a URL that is not
 *   `http:` (`https:` with `connectTls`) and for a malformed Content-Length.
 *
 * @example GET and POST against serveHttp(), in memory
 * ```ts
 * import { memoryListener } from "weft";
 * import { httpClient, serveHttp } from "weft/http";
 *
 * const listener = memoryListener();
 * const server = serveHttp({
 *   listener,
 *   fetch: async (req) => new Response(`${req.method} ${new URL(req.url).pathname} ${await req.text()}`),
 * });
 * const client = httpClient({ connect: () => listener.connect() });
 *
 * const res = await client.call(new Request("http://example.test/hello"));
 * console.assert(res.status === 200 && await res.text() === "GET /hello ");
 * const posted = await client.fetch("http://example.test/echo", { method: "POST", body: "hi" });
 * console.assert(await posted.text() === "POST /echo hi");
 *
 * await client.close();
 * await server.shutdown();
 * ```
 *
 * @example A deadline for every call, with timeout()
 * ```ts
 * import { memoryListener, stack, timeout } from "weft";
 * import { httpClient, serveHttp } from "weft/http";
 *
 * const listener = memoryListener();
 * const server = serveHttp({ listener, fetch: () => new Promise<Response>(() => {}) }); // never answers
 * const client = httpClient({ connect: () => listener.connect() });
 * const timed = stack(timeout({ ms: 50 }))(client);
 * const error = await timed.call(new Request("http://example.test/")).catch((e) => e);
 * console.assert(error instanceof DOMException && error.name === "TimeoutError");
 * await client.close();
 * await server.shutdown({ timeoutMs: 10 });
 * ```
 */
export function httpClient(options: HttpClientOptions): HttpClient {
  const fn = "httpClient()";
  if (typeof options !== "object" || options === null) throw new TypeError(`Invalid options for ${fn}: expected { connect } or { connectTls }`);
  const { connect, connectTls, tls } = options;
  if (connect !== undefined && typeof connect !== "function") throw new TypeError(`Invalid connect for ${fn}: expected a function (options) => Promise<Conn>`);
  if (connectTls !== undefined && typeof connectTls !== "function") throw new TypeError(`Invalid connectTls for ${fn}: expected a function (options) => Promise<Conn>`);
  if (connect === undefined && connectTls === undefined) throw new TypeError(`Invalid options for ${fn}: expected connect (for http:) or connectTls (for https:)`);
  if (tls !== undefined && (typeof tls !== "object" || tls === null)) throw new TypeError(`Invalid tls for ${fn}: expected an object of TLS client options`);
  const { line, head, headers, chunkLine } = resolveLimits(fn, options);
  return new Client({
    connect,
    connectTls,
    tls,
    limits: { maxLineBytes: line, maxHeadBytes: head, maxHeaders: headers, maxChunkLineBytes: chunkLine },
    poolSize: count(fn, "poolSize", options.poolSize, DEFAULT_HTTP_POOL_SIZE),
    idleTimeoutMs: ms(fn, "idleTimeoutMs", options.idleTimeoutMs, DEFAULT_HTTP_IDLE_TIMEOUT_MS),
    maxQueued: count(fn, "maxQueued", options.maxQueued, DEFAULT_HTTP_MAX_QUEUED),
    maxOrigins: count(fn, "maxOrigins", options.maxOrigins, DEFAULT_HTTP_MAX_ORIGINS),
  });
}

function count(fn: string, name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) throw new RangeError(`Invalid ${name} ${String(value)} for ${fn}: expected a positive integer`);
  return value;
}

function ms(fn: string, name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0)) throw new RangeError(`Invalid ${name} ${String(value)} for ${fn}: expected a positive number of milliseconds (or Infinity)`);
  return value;
}

interface Config {
  connect: HttpClientOptions["connect"];
  connectTls: HttpClientOptions["connectTls"];
  tls: TlsClientOptions | undefined;
  limits: HttpLimits;
  poolSize: number;
  idleTimeoutMs: number;
  maxQueued: number;
  maxOrigins: number;
}

/** A request ready for the wire. */
interface Outgoing {
  head: RequestHead;
  body: ReadableStream<Uint8Array> | undefined;
  /** May be sent again if a reused connection fails before any byte of the response: no body, an idempotent method. */
  replayable: boolean;
  /** The request asked for `Connection: close`. */
  close: boolean;
  /** Why the body failed, once it has: the call's error says it. */
  failure: { error?: unknown };
}

/** Errors that mean the request can go again on another connection (see {@link Outgoing.replayable}). */
const RETRY = new WeakSet<object>();

function retryable<E>(error: E): E {
  if (typeof error === "object" && error !== null) RETRY.add(error);
  return error;
}

class Client implements HttpClient {
  #c: Config;
  #origins = new Map<string, Origin>(); // in order of use, the least recent first
  #closing: Promise<void> | undefined;

  constructor(config: Config) {
    this.#c = config;
  }

  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    let request: Request;
    try {
      request = new Request(input, init);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.call(request);
  }

  async call(request: Request, options?: CallOptions): Promise<Response> {
    if (!(request instanceof Request)) throw new TypeError(`Invalid request ${String(request)} for httpClient().call(): expected a Request`);
    if (this.#closing) throw new NetError("closed", "Cannot call: httpClient() is closed");
    const url = new URL(request.url);
    const origin = this.#origin(url);
    const signal = options?.signal === undefined ? request.signal : eitherSignal(options.signal, request.signal);
    signal.throwIfAborted();
    if (request.bodyUsed) throw new TypeError("Invalid request for httpClient().call(): its body was already read");
    const out = await outgoing(request, url);
    for (let attempt = 1;; attempt++) {
      try {
        return await origin.send(out, signal);
      } catch (error) {
        if (!RETRY.has(error as object) || attempt > this.#c.poolSize || signal.aborted) throw error;
      }
    }
  }

  close(): Promise<void> {
    this.#closing ??= Promise.all([...this.#origins.values()].map((o) => o.shutdown())).then(() => this.#origins.clear());
    return this.#closing;
  }

  /** The origin's pool: made on first use; the least recently used idle one gives way past maxOrigins. */
  #origin(url: URL): Origin {
    const https = url.protocol === "https:";
    if (url.protocol !== "http:" && !https) throw new TypeError(`Invalid URL ${JSON.stringify(url.href)} for httpClient(): expected an http: or https: URL`);
    const key = `${url.protocol}//${url.host}`;
    let origin = this.#origins.get(key);
    if (origin !== undefined) {
      this.#origins.delete(key);
      this.#origins.set(key, origin);
      return origin;
    }
    const c = this.#c;
    if (https ? c.connectTls === undefined : c.connect === undefined) {
      throw new TypeError(`Cannot call ${JSON.stringify(url.href)}: httpClient() has no ${https ? "connectTls" : "connect"} option`);
    }
    if (this.#origins.size >= c.maxOrigins) {
      for (const [k, o] of this.#origins) {
        if (!o.idle) continue;
        this.#origins.delete(k);
        o.shutdown().catch(() => {});
        break;
      }
      if (this.#origins.size >= c.maxOrigins) throw new NetError("overloaded", `Cannot call ${JSON.stringify(url.href)}: ${c.maxOrigins} origins are busy, the client's maxOrigins`);
    }
    const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port === "" ? (https ? 443 : 80) : Number(url.port);
    const open = https
      ? (signal: AbortSignal) => c.connectTls!({ ...c.tls, hostname, port, signal })
      : (signal: AbortSignal) => c.connect!({ hostname, port, signal });
    origin = new Origin(open, c);
    this.#origins.set(key, origin);
    return origin;
  }
}

/** Hop-by-hop fields (RFC 9110 §7.6.1): the client frames the message itself. */
/** Methods whose request may be repeated (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

/** The request's head and body as they will be sent. */
async function outgoing(request: Request, url: URL): Promise<Outgoing> {
  const connection = request.headers.get("connection");
  const listed = connection === null ? undefined : new Set(connection.toLowerCase().split(",").map((t) => t.trim()));
  const headers: HeaderList = ["host", url.host]; // first, as RFC 9112 §3.2 asks
  let length: string | undefined;
  for (const [name, value] of request.headers) {
    if (name === "host") headers[1] = value;
    else if (name === "content-length") length = value;
    else if (!HOP_BY_HOP.has(name) && listed?.has(name) !== true) headers.push(name, value);
  }
  const close = listed?.has("close") === true;
  if (close) headers.push("connection", "close");
  if (length !== undefined && !/^[0-9]{1,15}$/.test(length)) throw new TypeError(`Invalid request: Content-Length ${JSON.stringify(length)} is not a number`);
  const method = request.method;
  const failure: Outgoing["failure"] = {};
  let body: ReadableStream<Uint8Array> | undefined;
  if (request.body === null) {
    if (length !== undefined && length !== "0") throw new TypeError(`Invalid request: Content-Length ${length} but no body`);
    // fetch sends a length for a POST or PUT with no body; a server may insist on one (411).
    if (length !== undefined || method === "POST" || method === "PUT" || method === "PATCH") headers.push("content-length", "0");
  } else if (length !== undefined) {
    headers.push("content-length", length);
    body = sendable(request.body.getReader(), [], Number(length), failure);
  } else {
    const reader = request.body.getReader();
    const sized = await sizeBody(reader);
    if (sized.length !== undefined) headers.push("content-length", String(sized.length));
    if (sized.length !== 0) body = sendable(reader, sized.reads, sized.length, failure);
  }
  const target = url.pathname + url.search;
  const replayable = body === undefined && (IDEMPOTENT.has(method) || request.headers.has("idempotency-key"));
  return { head: { method, target, minor: 1, headers }, body, replayable, close, failure };
}

/** A read of a body, as the platform's types (DOM or a runtime's) spell it. */
type Read = ReturnType<ReadableStreamDefaultReader<Uint8Array>["read"]>;

/**
 * A body that is all there at once (a string, a buffer) gets a length, so
 * that it leaves with a Content-Length; one still arriving goes chunked.
 */
async function sizeBody(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<{ length: number | undefined; reads: Read[] }> {
  const first = reader.read();
  const a = await soon(first);
  if (a === undefined) return { length: undefined, reads: [first] };
  if (a.value.done) return { length: 0, reads: [] };
  const second = reader.read();
  const b = await soon(second);
  if (b?.value.done) return { length: a.value.value.length, reads: [first] };
  return { length: undefined, reads: [first, second] };
}

/**
 * The request body as it is sent: the reads made already first, then the
 * rest; more or fewer bytes than its Content-Length is a RangeError, and
 * whatever fails it is kept in `failure` for the call's error.
 */
function sendable(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  reads: Read[],
  length: number | undefined,
  failure: Outgoing["failure"],
): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      try {
        const r = await (reads.shift() ?? reader.read());
        if (r.done) {
          if (length !== undefined && sent !== length) throw new RangeError(`Invalid request body: ${sent} bytes but a Content-Length of ${length}`);
          return c.close();
        }
        sent += r.value.length;
        if (length !== undefined && sent > length) throw new RangeError(`Invalid request body: more bytes than its Content-Length ${length}`);
        c.enqueue(r.value);
      } catch (error) {
        failure.error = error;
        reader.cancel(error).catch(() => {});
        throw error;
      }
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}

/**
 * One origin's connections: a pool, and a bounded queue in front of it for
 * the calls that find every connection busy. A connection is busy until its
 * response has arrived, past the moment the pool saw its call settle, so it
 * tells the queue itself when it frees up.
 */
class Origin implements Service<Outgoing, Response> {
  readonly pool: Pool<Outgoing, Response>;
  #queued: Service<Outgoing, Response>;
  #wakers = new Set<() => void>();
  #active = 0;

  constructor(open: (signal: AbortSignal) => Promise<Conn>, c: Config) {
    const onFree = () => {
      for (const wake of [...this.#wakers]) wake();
    };
    this.pool = pool<Outgoing, Response>({
      size: c.poolSize,
      // Each connection times its own idleness from the end of its last response, not from the call's settling at the head.
      idleTimeoutMs: Infinity,
      connect: async (signal) => new HttpConnection(await open(signal), c, onFree),
    });
    this.#queued = buffer({ capacity: c.maxQueued })(this);
  }

  /** No call in flight or waiting. */
  get idle(): boolean {
    return this.#active === 0;
  }

  get capacity(): number | undefined {
    return this.pool.capacity;
  }

  ready(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const capacity = this.pool.capacity;
    if (capacity === undefined || capacity > 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const poolReady = new AbortController();
      const leave = () => {
        this.#wakers.delete(wake);
        signal?.removeEventListener("abort", onAbort);
        poolReady.abort();
      };
      const wake = () => {
        leave();
        resolve();
      };
      const onAbort = () => {
        leave();
        reject(signal!.reason);
      };
      this.#wakers.add(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.pool.ready(poolReady.signal).then(wake, () => {});
    });
  }

  call(out: Outgoing, options?: CallOptions): Promise<Response> {
    return this.pool.call(out, options);
  }

  /** Sends `out` through the queue. */
  send(out: Outgoing, signal: AbortSignal): Promise<Response> {
    this.#active++;
    const result = this.#queued.call(out, { signal });
    const done = () => void this.#active--;
    result.then(done, done);
    return result;
  }

  /** What the queue calls once it is empty. */
  close(): Promise<void> {
    return this.pool.close();
  }

  /** Refuses new calls; those queued are sent, then every connection closes once its exchanges are over. */
  shutdown(): Promise<void> {
    return this.#queued.close!();
  }
}

/** One request and its response on a connection. */
interface Exchange {
  /** A byte of the response arrived. */
  started: boolean;
  /** The request's last byte was written. */
  sent: boolean;
  /** The response's last byte was decoded. */
  received: boolean;
  /** The response was handed to the caller. */
  handed: boolean;
  /** The caller's body stream still takes chunks from the connection. */
  reading: boolean;
  /** Moves the rest of the body (all received) into the caller's stream. */
  drain?: () => void;
  /** The connection may carry another request after this one. */
  keepAlive: boolean;
  done: boolean;
  /** Why the request body failed. */
  failure: Outgoing["failure"];
}

/**
 * One connection as the pool sees it: a DispatchClient that takes one
 * exchange at a time. Its capacity is 1 while it is free and 0 while an
 * exchange has it or once it will take no more.
 *
 * | event | effect |
 * |---|---|
 * | the request's last byte encoded | `sent` |
 * | a response byte decoded | `started` (no retry past it) |
 * | the response's end decoded | `received`; with `sent` and `handed`, the connection is free (or retires) |
 * | the caller's body ends, or is cancelled after `received` | the exchange finishes |
 * | abort, or cancel before `received` | the connection is closed at once |
 */
class HttpConnection implements DispatchClient<Outgoing, Response> {
  readonly closed: Promise<void>;
  #framed: Framed<StreamFrame<ResponseHead>, StreamFrame<RequestHead>>;
  #client: DispatchClient<Message<RequestHead>, Message<ResponseHead>>;
  #x: Exchange | undefined; // the exchange that has the connection
  #unfinished = new Set<Exchange>(); // exchanges whose caller may still read from the connection
  #reusable = true;
  #sent = 0;
  #waiters = new Set<() => void>();
  #onFree: () => void;
  #idleMs: number;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(conn: Conn, c: Config, onFree: () => void) {
    this.#onFree = onFree;
    this.#idleMs = c.idleTimeoutMs;
    this.#framed = framed(conn, this.#watch(httpClientCodec(c.limits)));
    this.#client = streamingClient<RequestHead, ResponseHead>(this.#framed, { maxInFlight: 1 });
    this.closed = this.#client.closed.then(() => {
      this.#reusable = false;
      this.#idle(false);
      this.#wake();
    });
    this.#idle(true); // a connection whose first caller gave up while it opened closes too
  }

  get pending(): number {
    return this.#x === undefined ? 0 : 1;
  }

  get capacity(): number {
    return this.#reusable && this.#x === undefined ? 1 : 0;
  }

  ready(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!this.#reusable) return Promise.reject(retryable(new NetError("closed", "Cannot send: the connection takes no more requests")));
    if (this.#x === undefined) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const wake = () => {
        this.#waiters.delete(wake);
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#waiters.delete(wake);
        reject(signal!.reason);
      };
      this.#waiters.add(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  call(out: Outgoing, options?: CallOptions): Promise<Response> {
    if (this.capacity === 0) return Promise.reject(retryable(new NetError("closed", "Cannot send: the connection is busy or closed")));
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const x: Exchange = { started: false, sent: false, received: false, handed: false, reading: false, keepAlive: !out.close, done: false, failure: out.failure };
    const reused = this.#sent++ > 0;
    this.#idle(false);
    this.#x = x;
    this.#unfinished.add(x);
    const result = this.#client.call(out.body === undefined ? { head: out.head } : { head: out.head, body: out.body }, signal === undefined ? undefined : { signal });
    const onAbort = () => this.#abandon(x, signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    return result.then(
      (res) => {
        signal?.removeEventListener("abort", onAbort);
        return this.#response(x, res, signal);
      },
      (error) => {
        signal?.removeEventListener("abort", onAbort);
        this.#abandon(x, error);
        throw callError(error, x, reused && out.replayable, signal);
      },
    );
  }

  close(): Promise<void> {
    this.#retire();
    return this.closed;
  }

  /** The codec, watched: what the exchange has sent and received. */
  #watch(codec: HttpClientCodec): Codec<StreamFrame<ResponseHead>, StreamFrame<RequestHead>> {
    const saw = (bytes: number, frame: HttpFrame<ResponseHead> | undefined) => {
      const x = this.#x;
      if (x === undefined) return frame as StreamFrame<ResponseHead> | undefined;
      if (bytes > 0) x.started = true;
      if (frame?.kind === "head") {
        if (!keepsAlive(frame.head, frame.body === true)) x.keepAlive = false;
        if (frame.body !== true) this.#received(x);
      } else if (frame?.kind === "end") {
        this.#received(x);
      }
      return frame as StreamFrame<ResponseHead> | undefined;
    };
    return {
      decode: (src) => saw(src.length, codec.decode(src)),
      decodeEof: (src) => saw(src.length, codec.decodeEof!(src)),
      encode: (frame, dst) => {
        const x = this.#x;
        if (frame.kind === "abort") {
          // A request body that failed or was abandoned cannot be ended on the wire: the connection goes.
          const cause = x?.failure.error;
          if (x !== undefined) {
            x.sent = true;
            x.keepAlive = false;
          }
          const why = cause === undefined ? "failed or was abandoned" : `failed (${cause instanceof Error ? cause.message : String(cause)})`;
          throw new NetError("body-aborted", `The request body ${why}: the connection is closed`, cause === undefined ? undefined : { cause });
        }
        codec.encode(frame as HttpFrame<RequestHead>, dst);
        if (x !== undefined && (frame.kind === "end" || (frame.kind === "head" && !frame.body))) {
          x.sent = true;
          this.#settle(x);
        }
      },
    };
  }

  #received(x: Exchange): void {
    x.received = true;
    // Not in the middle of the decoder's turn: settling may close the connection.
    queueMicrotask(() => this.#settle(x));
  }

  /** The response as a WHATWG Response. */
  #response(x: Exchange, res: Message<ResponseHead>, signal: AbortSignal | undefined): Response {
    x.handed = true;
    const head = res.head;
    const status = head.status;
    let body: ReadableStream<Uint8Array> | null = null;
    let response: Response;
    try {
      // 101 (the codec stops after it) and statuses past 599 (which a Response cannot hold): the connection is not HTTP any more.
      if (status < 200 || status > 599) throw new NetError("protocol-error", `Received status ${status} to a request that asked for no upgrade: the connection is closed`);
      const headers = new Headers();
      const list = head.headers;
      for (let i = 0; i < list.length; i += 2) headers.append(list[i]!, list[i + 1]!);
      if (res.body !== undefined) {
        // 205 may come with a (usually empty) body that a Response cannot hold: it is read and dropped.
        if (status === 205) res.body.cancel().catch(() => {});
        else body = this.#body(x, res.body, signal);
      }
      response = new Response(body, { status, statusText: head.statusText, headers });
    } catch (error) {
      this.#reusable = false;
      if (body !== null) body.cancel(error).catch(() => {});
      else res.body?.cancel().catch(() => {});
      this.#abandon(x, error);
      throw error instanceof NetError ? error : new NetError("protocol-error", `Received a response that a Response cannot hold: ${(error as Error).message}`, { cause: error });
    }
    this.#settle(x);
    return response;
  }

  /**
   * The caller's body: the connection's, ended by the call's signal;
   * cancelling it early closes the connection. Once the response's last byte
   * is decoded, what is left of the body is in memory already: it is moved
   * into this stream's queue, so that the connection owes this body nothing
   * and can close (idle, or close()) even while the caller reads slowly.
   */
  #body(x: Exchange, inner: ReadableStream<Uint8Array>, signal: AbortSignal | undefined): ReadableStream<Uint8Array> {
    const reader = inner.getReader();
    x.reading = true;
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let draining = false;
    const stop = () => {
      signal?.removeEventListener("abort", onAbort);
      x.reading = false;
    };
    const onAbort = () => {
      stop();
      this.#abandon(x, signal!.reason);
      reader.cancel(signal!.reason).catch(() => {});
      controller.error(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    /** Moves one chunk over; true at the end (or once the body failed or was given up). */
    const step = async (): Promise<boolean> => {
      let r: Awaited<Read>;
      try {
        r = await reader.read();
      } catch (error) {
        if (!x.reading) return true; // aborted meanwhile: the stream has its error
        stop();
        this.#abandon(x, error);
        controller.error(bodyError(error));
        return true;
      }
      if (!x.reading) return true;
      if (r.done) {
        stop();
        controller.close();
        this.#settle(x);
        return true;
      }
      controller.enqueue(r.value);
      return false;
    };
    x.drain = () => {
      if (draining || !x.reading) return;
      draining = true;
      (async () => {
        while (!(await step()));
      })();
    };
    return new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
      },
      pull: async () => {
        if (!draining) await step();
      },
      cancel: (reason) => {
        stop();
        if (x.received) this.#settle(x); // the rest is read already: the connection stays
        else this.#abandon(x, reason ?? new NetError("closed", "The response body was cancelled: the connection is closed"));
        return reader.cancel(reason);
      },
    }, { highWaterMark: 0 });
  }

  /** Frees the connection once the exchange is over on the wire; finishes the exchange once its caller is done with it. */
  #settle(x: Exchange): void {
    if (x.done || !(x.sent && x.received && x.handed)) return;
    if (this.#x === x) {
      this.#x = undefined;
      if (!x.keepAlive) this.#retire();
      else this.#idle(true);
      this.#wake();
    }
    if (x.reading) return x.drain?.();
    x.done = true;
    this.#unfinished.delete(x);
    if (!this.#reusable && this.#unfinished.size === 0) this.#client.close().catch(() => {});
  }

  /** The exchange ends before its time (an abort, an early cancel, a failure): unless its response is all in, the connection closes now. */
  #abandon(x: Exchange, reason: unknown): void {
    if (x.done) return;
    x.done = true;
    x.reading = false;
    this.#unfinished.delete(x);
    if (this.#x === x) this.#x = undefined;
    if (!x.received || !x.sent) {
      this.#reusable = false;
      this.#framed.close(reason ?? new NetError("closed", "The exchange was abandoned")).catch(() => {});
    } else if (!this.#reusable && this.#unfinished.size === 0) {
      this.#client.close().catch(() => {});
    }
    this.#wake();
  }

  /** Takes no more requests; closes once the exchanges being read are over. */
  #retire(): void {
    this.#reusable = false;
    if (this.#x === undefined && this.#unfinished.size === 0) this.#client.close().catch(() => {});
    this.#wake();
  }

  /** Starts (or stops) the idle timer: a connection with no request for idleTimeoutMs retires. */
  #idle(start: boolean): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    if (!start || !Number.isFinite(this.#idleMs)) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#x === undefined) this.#retire();
    }, this.#idleMs);
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
    this.#onFree();
  }
}

/** Whether a response lets its connection carry another request. */
function keepsAlive(head: ResponseHead, body: boolean): boolean {
  const h = head.headers;
  if (hasToken(h, "connection", "close")) return false;
  if (head.minor === 0 && !hasToken(h, "connection", "keep-alive")) return false;
  if (!body) return true;
  // A body with neither a length nor chunked runs to the end of the connection.
  for (let i = 0; i < h.length; i += 2) if (h[i] === "content-length") return true;
  return hasToken(h, "transfer-encoding", "chunked");
}

/** The error a failed call rejects with: the end of the connection said plainly, and marked for a retry when that is safe. */
function callError(error: unknown, x: Exchange, replayable: boolean, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted && error === signal.reason) return error;
  let e = error;
  if (e instanceof FrameError && e.code === "unexpected-eof") {
    e = new NetError("closed", "The server closed the connection in the middle of the response head", { cause: error });
  } else if (!x.started && e instanceof NetError && e.code === "closed") {
    e = new NetError("closed", "The server closed the connection before it responded", { cause: error });
  }
  if (replayable && !x.started && e instanceof NetError && !(e instanceof FrameError)) retryable(e);
  return e;
}

/** The error a response body fails with: a connection that ends early is `closed`. */
function bodyError(error: unknown): unknown {
  if (error instanceof FrameError && error.code === "unexpected-eof") {
    return new NetError("closed", "The server closed the connection in the middle of the response body", { cause: error });
  }
  return error;
}

/**
 * A signal that aborts when `a` or `b` does: `AbortSignal.any` where the
 * platform has it (it holds its sources weakly); else (edge-runtime 4) a
 * controller that listens to both.
 */
function eitherSignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  if (typeof AbortSignal.any === "function") return AbortSignal.any([a, b]);
  if (a.aborted) return a;
  if (b.aborted) return b;
  const both = new AbortController();
  const onA = () => both.abort(a.reason);
  const onB = () => both.abort(b.reason);
  a.addEventListener("abort", onA, { once: true });
  b.addEventListener("abort", onB, { once: true });
  both.signal.addEventListener("abort", () => {
    a.removeEventListener("abort", onA);
    b.removeEventListener("abort", onB);
  }, { once: true });
  return both.signal;
}
