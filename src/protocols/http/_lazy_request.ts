/**
 * A request that builds its `Request` only when a handler needs one: `url`,
 * `method`, `headers` and `signal` are answered from the parsed head, which
 * is what routing, most middleware and a hello-world handler read. Anything
 * else (the body, `clone()`, the rarely used fields) builds the real
 * `Request` once and answers from it. `instanceof Request` holds.
 *
 * The one thing it cannot do on Node and Deno: be passed as the *first*
 * argument of `fetch()` or `new Request()`, whose internal checks want a
 * platform-made object. `request.clone()` is one; as the second argument
 * (`new Request(url, request)`) it works as it is.
 */
import type { HeaderList } from "./head.ts";
import { delegateMembers } from "./_delegate.ts";

/** What the server gives a lazy request. */
export interface LazySource {
  url: string;
  method: string;
  readonly list: HeaderList;
  /** The request body, or `undefined` for none. */
  body: (() => ReadableStream<Uint8Array>) | undefined;
  readonly signal: AbortSignal;
}

const SOURCE = Symbol("weft.http.source");
const REAL = Symbol("weft.http.request");
const HEADERS = Symbol("weft.http.headers");

interface Lazy {
  [SOURCE]: LazySource;
  [REAL]: Request | undefined;
  [HEADERS]: Headers | undefined;
}

function headersOf(self: Lazy): Headers {
  let headers = self[HEADERS];
  if (headers === undefined) {
    headers = new Headers();
    const list = self[SOURCE].list;
    for (let i = 0; i < list.length; i += 2) headers.append(list[i]!, list[i + 1]!);
    self[HEADERS] = headers;
  }
  return headers;
}

function realOf(self: Lazy): Request {
  let real = self[REAL];
  if (real === undefined) {
    const s = self[SOURCE];
    const init: RequestInit & { duplex?: "half" } = { method: s.method, headers: headersOf(self), signal: s.signal };
    if (s.body !== undefined) {
      init.body = s.body();
      init.duplex = "half";
    }
    real = self[REAL] = new Request(s.url, init);
  }
  return real;
}

const prototype: object = Object.create(Request.prototype, {
  url: { get(this: Lazy) { return this[SOURCE].url; }, configurable: true },
  method: { get(this: Lazy) { return this[SOURCE].method; }, configurable: true },
  headers: { get(this: Lazy) { return headersOf(this); }, configurable: true },
  signal: { get(this: Lazy) { return this[SOURCE].signal; }, configurable: true },
  [Symbol.toStringTag]: { value: "Request", configurable: true },
});
delegateMembers(prototype, Request, realOf);

/** The methods fetch upper-cases (RFC 9110 methods are case-sensitive; fetch normalizes these six). */
const NORMALIZED = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);

/** A request answered from `source`, built as a `Request` only when needed. */
export function lazyRequest(source: LazySource): Request {
  const upper = source.method.toUpperCase();
  if (upper !== source.method && NORMALIZED.has(upper)) source.method = upper;
  const self = Object.create(prototype) as Lazy;
  self[SOURCE] = source;
  self[REAL] = undefined;
  self[HEADERS] = undefined;
  return self as unknown as Request;
}
