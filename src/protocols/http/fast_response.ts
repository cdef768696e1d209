/**
 * FastResponse: a `Response` that keeps what it was made from (a status, a
 * few fields, a string or bytes) and builds the platform's `Response` only
 * when something asks for more than its status. serveHttp() writes it
 * straight from what it keeps, with no body stream at all.
 */
import type { HeaderList } from "./head.ts";
import { delegateMembers } from "./_delegate.ts";

/** What a FastResponse keeps: enough to write it. Names are lower case. */
export interface ResponseParts {
  status: number;
  statusText: string;
  headers: HeaderList;
  body: string | Uint8Array | null;
}

const Platform: typeof Response = globalThis.Response;
const PARTS = Symbol("weft.http.parts");
const REAL = Symbol("weft.http.response");

interface Fast {
  [PARTS]: ResponseParts | undefined;
  [REAL]: Response | undefined;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REASON = /^[\t\x20-\x7e\x80-\xff]*$/;
const BAD_VALUE = /[\0\r\n]/;
const EDGE_SPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/** One field into `out`, as `Headers` would take it; false for what it would refuse. */
function addField(out: HeaderList, name: unknown, value: unknown): boolean {
  if (typeof name !== "string" || typeof value !== "string" || !TOKEN.test(name)) return false;
  const v = value.replace(EDGE_SPACE, "");
  if (BAD_VALUE.test(v)) return false;
  out.push(name.toLowerCase(), v);
  return true;
}

/** The fields of a `HeadersInit`, or `undefined` for a shape left to the platform. */
function fieldsOf(init: unknown): HeaderList | undefined {
  const out: HeaderList = [];
  if (init instanceof Headers) {
    for (const [name, value] of init) out.push(name, value);
    return out;
  }
  if (Array.isArray(init)) {
    for (const pair of init) if (!Array.isArray(pair) || pair.length !== 2 || !addField(out, pair[0], pair[1])) return undefined;
    return out;
  }
  if (typeof init !== "object" || init === null || Object.getPrototypeOf(init) !== Object.prototype) return undefined;
  for (const name in init) if (!addField(out, name, (init as Record<string, unknown>)[name])) return undefined;
  return out;
}

/**
 * The parts of a response made from `body` and `init`, or `undefined` when
 * they are anything but the common shapes (a string, bytes or nothing; a
 * plain init): those go to the platform's constructor, which also throws
 * the errors it throws.
 */
function partsOf(body: unknown, init: unknown): ResponseParts | undefined {
  let bytes: string | Uint8Array | null;
  if (body === undefined || body === null) bytes = null;
  else if (typeof body === "string") bytes = body;
  // A copy, as the platform makes: the caller may reuse its buffer.
  else if (body instanceof Uint8Array) bytes = Uint8Array.prototype.slice.call(body);
  else if (body instanceof ArrayBuffer) bytes = new Uint8Array(body.slice(0));
  else return undefined;
  let status = 200;
  let statusText = "";
  let headers: HeaderList = [];
  if (init !== undefined && init !== null) {
    if (typeof init !== "object") return undefined;
    const proto: unknown = Object.getPrototypeOf(init);
    if (proto !== Object.prototype && proto !== null) return undefined;
    const o = init as ResponseInit;
    if (o.status !== undefined) {
      if (typeof o.status !== "number" || !Number.isInteger(o.status) || o.status < 200 || o.status > 599) return undefined;
      status = o.status;
    }
    if (o.statusText !== undefined) {
      if (typeof o.statusText !== "string" || !REASON.test(o.statusText)) return undefined;
      statusText = o.statusText;
    }
    if (o.headers !== undefined) {
      const fields = fieldsOf(o.headers);
      if (fields === undefined) return undefined;
      headers = fields;
    }
  }
  if (bytes !== null && (status === 204 || status === 205 || status === 304)) return undefined;
  if (typeof bytes === "string" && !hasField(headers, "content-type")) headers.push("content-type", "text/plain;charset=UTF-8");
  return { status, statusText, headers, body: bytes };
}

function hasField(list: HeaderList, name: string): boolean {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return true;
  return false;
}

function realOf(self: Fast): Response {
  let real = self[REAL];
  if (real === undefined) {
    const p = self[PARTS]!;
    const headers: [string, string][] = [];
    for (let i = 0; i < p.headers.length; i += 2) headers.push([p.headers[i]!, p.headers[i + 1]!]);
    real = self[REAL] = new Platform(p.body as BodyInit | null, { status: p.status, statusText: p.statusText, headers });
    // From now on the platform's response is the truth: its fields may change.
    self[PARTS] = undefined;
  }
  return real;
}

/**
 * A `Response` for handlers that want the fastest path through serveHttp():
 * made from a string, bytes or nothing with a plain `init`, it keeps those
 * and builds the platform's `Response` only when something reads more than
 * `status`, `ok` or `statusText` (its headers, its body, `clone()`).
 * serveHttp() writes an untouched one without a body stream, which saves
 * most of what a response costs where the platform's Response is heavy. Other bodies (streams,
 * Blobs, FormData) and other inits go to the platform's constructor at once.
 *
 * `instanceof Response` holds. Platform functions that check a real
 * `Response` (the runtimes' own HTTP servers, a Worker's `fetch` event, the
 * Cache API) do not take one: use it with weft's server. To have every `new
 * Response()` in the process made this way (a Hono app, say), see
 * {@link installFastResponse}.
 *
 * @example
 * ```ts
 * import { memoryListener } from "weft";
 * import { FastResponse, serveHttp } from "weft/http";
 *
 * const listener = memoryListener();
 * const server = serveHttp({ listener, fetch: () => new FastResponse("hello", { headers: { "x-served-by": "weft" } }) });
 * const conn = await listener.connect();
 * const writer = conn.writable.getWriter();
 * await writer.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
 * const reply = await new Response(conn.readable).text();
 * console.assert(reply.includes("x-served-by: weft\r\n") && reply.endsWith("\r\n\r\nhello"));
 * console.assert(new FastResponse("x") instanceof Response);
 * await server.shutdown();
 * ```
 */
export const FastResponse: typeof Response = function FastResponse(this: Fast, body?: BodyInit | null, init?: ResponseInit): void {
  if (new.target === undefined) throw new TypeError("Failed to construct 'Response': Please use the 'new' operator");
  const parts = partsOf(body, init);
  this[PARTS] = parts;
  this[REAL] = parts === undefined ? new Platform(body, init) : undefined;
} as unknown as typeof Response;

Object.setPrototypeOf(FastResponse, Platform); // Response.json(), .redirect(), .error()
const prototype = Object.create(Platform.prototype, {
  constructor: { value: FastResponse, writable: true, configurable: true },
  status: { get(this: Fast) { return this[PARTS]?.status ?? realOf(this).status; }, configurable: true },
  ok: { get(this: Fast) { const s = this[PARTS]?.status ?? realOf(this).status; return s >= 200 && s <= 299; }, configurable: true },
  statusText: { get(this: Fast) { return this[PARTS]?.statusText ?? realOf(this).statusText; }, configurable: true },
  [Symbol.toStringTag]: { value: "Response", configurable: true },
});
delegateMembers(prototype, Platform, realOf);
FastResponse.prototype = prototype;
// A platform-made response (from fetch(), Response.json()) is a FastResponse too, for instanceof.
Object.defineProperty(FastResponse, Symbol.hasInstance, {
  value: (value: unknown) => typeof value === "object" && value !== null && Object.prototype.isPrototypeOf.call(Platform.prototype, value),
  configurable: true,
});

/** The parts of an untouched FastResponse, for the server to write; `undefined` for any other response. */
export function responseParts(response: Response): ResponseParts | undefined {
  return (response as unknown as Partial<Fast>)[PARTS];
}

/**
 * Makes `globalThis.Response` {@link FastResponse}, so that every `new
 * Response()` in the process (a Hono app's, a library's) takes the fast path
 * through serveHttp(); `instanceof Response` still holds for platform-made
 * responses. Returns a function that puts the platform's class back.
 *
 * Install it only in a process whose HTTP is served by weft: the runtime's
 * own HTTP server (or a Worker's `fetch` event) does not
 * take a FastResponse.
 *
 * @example
 * ```ts
 * import { installFastResponse } from "weft/http";
 *
 * const uninstall = installFastResponse();
 * console.assert(new Response("hi") instanceof Response && (await new Response("hi").text()) === "hi");
 * uninstall();
 * ```
 */
export function installFastResponse(): () => void {
  const before = globalThis.Response;
  globalThis.Response = FastResponse;
  return () => {
    if (globalThis.Response === FastResponse) globalThis.Response = before;
  };
}
