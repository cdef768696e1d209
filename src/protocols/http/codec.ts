/**
 * The HTTP/1.1 codecs (RFC 9112): messages as a head frame, then the body's
 * chunk frames, then an end frame.
 *
 * ```text
 * POST /upload HTTP/1.1\r\n              → { kind: "head", head: { method: "POST", target: "/upload", ... }, body: true }
 * Host: example.com\r\n
 * Transfer-Encoding: chunked\r\n
 * \r\n
 * 5\r\nhello\r\n                          → { kind: "chunk", chunk: "hello" }
 * 0\r\nx-sum: 42\r\n\r\n                  → { kind: "end", trailers: ["x-sum", "42"] }
 * ```
 *
 * The server codec decodes requests and encodes responses; the client codec
 * encodes requests and decodes responses. Each keeps, per connection, what
 * the other direction needs: a response to HEAD has no body, a response to
 * an HTTP/1.0 request is not chunked, a 2xx to CONNECT and a 101 hand the
 * connection over. Make one codec per connection.
 */
import type { Codec, ReadBuffer } from "../../../mod.ts";
import { FrameError, WriteBuffer } from "../../../mod.ts";
import { type HeaderList, hasToken, headerValue, HttpError, type HttpLimits, type RequestHead, type ResponseHead, STATUS_TEXT } from "./head.ts";
import {
  findHeadEnd,
  type HeadScan,
  type Limits,
  parseChunkSize,
  parseFields,
  parseRequestLine,
  parseStatusLine,
  resolveLimits,
  skipLeadingCrlf,
  takeChunkEnd,
} from "./_parse.ts";

/** A frame of an HTTP/1.1 message. */
export type HttpFrame<Head> =
  | HttpHeadFrame<Head>
  | { kind: "chunk"; chunk: Uint8Array }
  | { kind: "end"; trailers?: HeaderList };

/** The head of a message. */
export interface HttpHeadFrame<Head> {
  kind: "head";
  head: Head;
  /**
   * Decoded: whether body frames follow. Encoded: `false` for no body,
   * `true` for body frames that follow (framed by the head's Content-Length,
   * or chunked), or the whole body as bytes (sent with a Content-Length).
   */
  body: boolean | Uint8Array;
  /**
   * Decoded only: the message hands the connection over (an `Upgrade`
   * request, a CONNECT, a 101 response or a 2xx answer to CONNECT). The
   * decoder decodes nothing more until `resume()` (the upgrade was declined);
   * the bytes after the head are the new protocol's (`Framed.parts()`).
   */
  upgrade?: boolean;
}

/** What a request frame's decoder reports, for the response's encoder. */
interface Exchange {
  method: string;
  minor: 0 | 1;
}

/** The server side of HTTP/1.1: requests in, responses out. */
export interface HttpServerCodec extends Codec<HttpFrame<RequestHead>, HttpFrame<ResponseHead>> {
  /** Decoding stopped after a head that hands the connection over: go on with HTTP (the upgrade was declined). */
  resume(): void;
  /** Whether a head is partly received: a server's head timeout runs while it is. */
  readonly inHead: boolean;
}

/** The client side of HTTP/1.1: requests out, responses in. */
export interface HttpClientCodec extends Codec<HttpFrame<ResponseHead>, HttpFrame<RequestHead>> {
  /** Decoding stopped after a head that hands the connection over: go on with HTTP. */
  resume(): void;
}

const CRLF = new Uint8Array([13, 10]);
const LAST_CHUNK = new Uint8Array([0x30, 13, 10, 13, 10]);

/** Decoding states. */
const HEAD = 0;
const LENGTH = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_END = 4;
const TRAILERS = 5;
const UNTIL_CLOSE = 6;
const PAUSED = 7;
const END = 8; // the body is done: an end frame is due

/**
 * The body-reading half both decoders share: after a head, the body's frames
 * as the framing says, then `end`.
 */
abstract class BodyDecoder<Head> {
  protected state = HEAD;
  protected remaining = 0; // bytes left of a Content-Length body or of the current chunk
  protected scan: HeadScan = { scanned: 0, line: 0 };
  protected trailers: HeaderList | undefined;
  protected readonly limits: Limits;
  #pausedAfter = HEAD;

  constructor(limits: Limits) {
    this.limits = limits;
  }

  protected abstract decodeHead(src: ReadBuffer): HttpFrame<Head> | undefined;

  decode(src: ReadBuffer): HttpFrame<Head> | undefined {
    for (;;) {
      switch (this.state) {
        case HEAD:
          return this.decodeHead(src);
        case LENGTH: {
          if (src.length === 0) return undefined;
          const chunk = this.#take(src);
          if (this.remaining === 0) this.state = END;
          return { kind: "chunk", chunk };
        }
        case CHUNK_SIZE: {
          const size = parseChunkSize(src, this.limits);
          if (size < 0) return undefined;
          if (size === 0) {
            this.state = TRAILERS;
            continue;
          }
          this.remaining = size;
          this.state = CHUNK_DATA;
          continue;
        }
        case CHUNK_DATA: {
          if (src.length === 0) return undefined;
          const chunk = this.#take(src);
          if (this.remaining === 0) this.state = CHUNK_END;
          return { kind: "chunk", chunk };
        }
        case CHUNK_END:
          if (!takeChunkEnd(src)) return undefined;
          this.state = CHUNK_SIZE;
          continue;
        case TRAILERS: {
          if (!this.#trailers(src)) return undefined;
          this.state = HEAD;
          const trailers = this.trailers;
          this.trailers = undefined;
          return trailers === undefined ? { kind: "end" } : { kind: "end", trailers };
        }
        case UNTIL_CLOSE: {
          if (src.length === 0) return undefined;
          return { kind: "chunk", chunk: src.takeChunk()! };
        }
        case END:
          this.state = HEAD;
          return { kind: "end" };
        case PAUSED:
          return undefined;
        default:
          throw new FrameError("invalid-frame", "The HTTP decoder failed before: the stream is corrupt");
      }
    }
  }

  decodeEof(src: ReadBuffer): HttpFrame<Head> | undefined {
    if (this.state === UNTIL_CLOSE) {
      if (src.length > 0) return { kind: "chunk", chunk: src.takeChunk()! };
      this.state = HEAD;
      return { kind: "end" };
    }
    if (this.state === END) return this.decode(src);
    if (this.state === HEAD && src.length === 0) return undefined;
    if (this.state === PAUSED) return undefined;
    throw new FrameError("unexpected-eof", this.state === HEAD ? "The connection closed in the middle of a head" : "The connection closed in the middle of a body");
  }

  resume(): void {
    if (this.state === PAUSED) this.state = this.#pausedAfter;
  }

  /** Starts the body `framing` after a head (or pauses for a hand-over). */
  protected begin(body: "none" | "chunked" | "close" | number, upgrade: boolean): boolean {
    if (body === "none" || body === 0) {
      this.state = upgrade ? PAUSED : HEAD;
      this.#pausedAfter = HEAD;
      return false;
    }
    if (body === "chunked") this.state = CHUNK_SIZE;
    else if (body === "close") this.state = UNTIL_CLOSE;
    else {
      this.state = LENGTH;
      this.remaining = body;
    }
    return true;
  }

  /** The head's bytes (its end is at `end`), taken from `src`: a view when they sit in one chunk. */
  protected takeHead(src: ReadBuffer, end: number): Uint8Array {
    return src.take(end);
  }

  #take(src: ReadBuffer): Uint8Array {
    const first = src.peekChunk()!;
    const n = first.length <= this.remaining ? first.length : this.remaining;
    this.remaining -= n;
    return src.take(n);
  }

  /** Reads the trailer section; false when it is not all there. */
  #trailers(src: ReadBuffer): boolean {
    if (src.length < 2) return false;
    if (this.scan.scanned === 0 && src.byteAt(0) === 13 && src.byteAt(1) === 10) {
      src.skip(2);
      return true;
    }
    this.scan.line = 1; // no start line: the line limit does not apply
    const end = findHeadEnd(src, this.scan, this.limits, "trailer" as "request");
    if (end < 0) return false;
    const bytes = src.take(end);
    const trailers: HeaderList = [];
    parseFields(bytes, 0, trailers, this.limits, "trailer");
    this.trailers = trailers;
    return true;
  }
}

/** Content-Length's value: one number, or a list of equal ones (RFC 9110 §8.6); anything else is an error. */
function contentLength(headers: HeaderList, what: string): number | undefined {
  let length: number | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== "content-length") continue;
    for (const part of headers[i + 1]!.split(",")) {
      const text = part.trim();
      if (!/^[0-9]{1,15}$/.test(text)) throw new HttpError(400, "invalid-frame", `Malformed ${what}: Content-Length ${JSON.stringify(headers[i + 1])} is not a number`);
      const n = Number(text);
      if (length !== undefined && n !== length) throw new HttpError(400, "invalid-frame", `Malformed ${what}: two different Content-Lengths`);
      length = n;
    }
  }
  return length;
}

/** Whether Transfer-Encoding is there, and chunked last (the only coding weft decodes). */
function transferEncoding(headers: HeaderList, what: string, request: boolean): "chunked" | "other" | undefined {
  let codings: string[] | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== "transfer-encoding") continue;
    codings ??= [];
    for (const part of headers[i + 1]!.split(",")) codings.push(part.trim().toLowerCase());
  }
  if (codings === undefined) return undefined;
  const chunked = codings.filter((c) => c === "chunked").length;
  if (chunked === 1 && codings[codings.length - 1] === "chunked") {
    if (request && codings.length > 1) throw new HttpError(501, "invalid-frame", `Unsupported ${what}: Transfer-Encoding ${codings.join(", ")} (only chunked is decoded)`);
    return "chunked";
  }
  if (request || chunked > 0) throw new HttpError(request && chunked === 0 ? 501 : 400, "invalid-frame", `Malformed ${what}: Transfer-Encoding ${codings.join(", ")} does not end with one chunked`);
  return "other";
}

class ServerCodec extends BodyDecoder<RequestHead> implements HttpServerCodec {
  #exchanges: Exchange[] = [];
  #out = new BodyEncoder();

  get inHead(): boolean {
    return this.state === HEAD && this.scan.scanned > 0;
  }

  protected decodeHead(src: ReadBuffer): HttpFrame<RequestHead> | undefined {
    if (src.length === 0 || !skipLeadingCrlf(src)) return undefined;
    const end = findHeadEnd(src, this.scan, this.limits, "request");
    if (end < 0) {
      if (this.scan.scanned === 0) this.scan.scanned = 1; // a byte of a head arrived: inHead
      return undefined;
    }
    const bytes = this.takeHead(src, end);
    const line = parseRequestLine(bytes);
    const headers: HeaderList = [];
    parseFields(bytes, line.fieldsAt, headers, this.limits, "request");
    const head: RequestHead = { method: line.a, target: line.b, minor: line.minor, headers };
    const what = "request";
    let hosts = 0;
    for (let i = 0; i < headers.length; i += 2) if (headers[i] === "host") hosts++;
    if (hosts > 1 || (hosts === 0 && line.minor === 1)) throw new HttpError(400, "invalid-frame", `Malformed request: ${hosts} Host fields (HTTP/1.1 needs exactly one)`);
    const te = transferEncoding(headers, what, true);
    const length = contentLength(headers, what);
    if (te !== undefined && length !== undefined) throw new HttpError(400, "invalid-frame", "Malformed request: both Content-Length and Transfer-Encoding (a request smuggling shape)");
    if (te !== undefined && line.minor === 0) throw new HttpError(400, "invalid-frame", "Malformed request: Transfer-Encoding in an HTTP/1.0 request");
    const connect = line.a === "CONNECT";
    const upgrade = connect || (line.minor === 1 && hasToken(headers, "connection", "upgrade") && headerValue(headers, "upgrade") !== undefined);
    this.#exchanges.push({ method: line.a, minor: line.minor });
    const body = this.begin(te === "chunked" ? "chunked" : length ?? "none", upgrade);
    if (upgrade && body) throw new HttpError(400, "invalid-frame", "Malformed request: an upgrade or CONNECT with a body is not supported");
    return upgrade ? { kind: "head", head, body, upgrade } : { kind: "head", head, body };
  }

  encode(frame: HttpFrame<ResponseHead>, dst: WriteBuffer): void {
    if (frame.kind !== "head") return this.#out.encodeBody(frame, dst);
    const head = frame.head;
    const interim = head.status < 200;
    // A final response answers the oldest request; 1xx ones (100 Continue) precede it.
    const exchange = interim ? this.#exchanges[0] : this.#exchanges.shift();
    // A 2xx to CONNECT has no body and no framing fields (RFC 9110 §9.3.6): the tunnel's bytes follow.
    const noBody = interim || head.status === 204 || head.status === 304 || exchange?.method === "HEAD" || (exchange?.method === "CONNECT" && head.status < 300);
    writeStatusLine(head, dst);
    this.#out.headLength = exchange?.method === "HEAD" && head.status !== 204 && head.status !== 304;
    this.#out.encodeHead(head.headers, frame.body, noBody, exchange?.minor === 0, interim, false, dst);
  }
}

class ClientCodec extends BodyDecoder<ResponseHead> implements HttpClientCodec {
  #exchanges: Exchange[] = [];
  #out = new BodyEncoder();

  protected decodeHead(src: ReadBuffer): HttpFrame<ResponseHead> | undefined {
    for (;;) {
      if (src.length === 0) return undefined;
      const end = findHeadEnd(src, this.scan, this.limits, "response");
      if (end < 0) return undefined;
      const bytes = this.takeHead(src, end);
      const line = parseStatusLine(bytes);
      const headers: HeaderList = [];
      parseFields(bytes, line.fieldsAt, headers, this.limits, "response");
      const status = Number(line.a);
      const head: ResponseHead = { status, statusText: line.b, minor: line.minor, headers };
      if (status < 200 && status !== 101) continue; // interim (100 Continue, 103 Early Hints): the final one follows
      const exchange = this.#exchanges.shift();
      if (exchange === undefined) throw new FrameError("invalid-frame", `Received a response (status ${status}) with no request waiting for it`);
      const upgrade = status === 101 || (exchange.method === "CONNECT" && status < 300);
      if (upgrade || status === 204 || status === 304 || exchange.method === "HEAD") {
        this.begin("none", upgrade);
        return upgrade ? { kind: "head", head, body: false, upgrade } : { kind: "head", head, body: false };
      }
      const te = transferEncoding(headers, "response", false);
      const length = te === undefined ? contentLength(headers, "response") : undefined;
      const body = this.begin(te === "chunked" ? "chunked" : te === "other" ? "close" : length ?? "close", false);
      return { kind: "head", head, body };
    }
  }

  encode(frame: HttpFrame<RequestHead>, dst: WriteBuffer): void {
    if (frame.kind !== "head") return this.#out.encodeBody(frame, dst);
    const head = frame.head;
    this.#exchanges.push({ method: head.method, minor: head.minor });
    dst.writeLatin1(`${head.method} ${head.target} HTTP/1.${head.minor}\r\n`);
    this.#out.encodeHead(head.headers, frame.body, false, head.minor === 0, false, true, dst);
  }
}

/** Status line. */
function writeStatusLine(head: ResponseHead, dst: WriteBuffer): void {
  const status = head.status;
  if (!Number.isInteger(status) || status < 100 || status > 999) throw new RangeError(`Invalid status ${status}: expected an integer from 100 to 999`);
  if (head.statusText === "" || head.statusText === STATUS_TEXT[status]) {
    // The usual line: encoded once per status, then copied.
    let line = STATUS_LINES[status];
    if (line === undefined) STATUS_LINES[status] = line = latin1(`HTTP/1.1 ${status} ${STATUS_TEXT[status] || ""}\r\n`);
    dst.write(line);
    return;
  }
  dst.writeLatin1(`HTTP/1.1 ${status} ${head.statusText}\r\n`);
}

/** Status lines with their standard reason phrase, by status, encoded at first use. */
const STATUS_LINES: (Uint8Array | undefined)[] = [];

/** `text` as Latin-1 bytes, one per UTF-16 unit (WriteBuffer's encoding of field values). */
function latin1(text: string): Uint8Array {
  const out = new WriteBuffer(Math.max(1, text.length));
  out.writeLatin1(text);
  return out.bytes();
}

/**
 * A message's field lines, with the last block it encoded kept as bytes: a
 * server answers most requests with the same fields (the Date changes once a
 * second), so comparing the strings and copying the bytes replaces encoding
 * them character by character. Blocks over FIELD_CACHE_BYTES are not kept.
 */
class FieldBlock {
  #list: string[] = [];
  #bytes: Uint8Array | undefined;
  #declared = -1;

  /** Writes the field lines of `headers`; returns its Content-Length, -1 when it has none. */
  encode(headers: HeaderList, dst: WriteBuffer): number {
    const last = this.#list;
    if (this.#bytes !== undefined && last.length === headers.length) {
      let i = 0;
      while (i < headers.length && headers[i] === last[i]) i++;
      if (i === headers.length) {
        dst.write(this.#bytes);
        return this.#declared;
      }
    }
    const start = dst.length;
    let declared = -1;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      const value = headers[i + 1]!;
      if (name === "content-length") declared = Number(value);
      dst.writeLatin1(name);
      dst.writeByte(58);
      dst.writeByte(32);
      dst.writeLatin1(value);
      dst.write(CRLF);
    }
    const length = dst.length - start;
    if (length <= FIELD_CACHE_BYTES) {
      this.#list = headers.slice();
      this.#bytes = dst.bytes().slice(start);
      this.#declared = declared;
    } else {
      this.#bytes = undefined;
    }
    return declared;
  }
}

/** The largest block of field lines FieldBlock keeps, in bytes. */
const FIELD_CACHE_BYTES = 1024;

/** The writing half both encoders share: fields, framing, and the body frames as the framing says. */
class BodyEncoder {
  /** The message answers a HEAD: a whole body given for it is counted in a Content-Length, not sent. */
  headLength = false;
  #chunked = false;
  #discard = false; // HEAD, 204, 304: body frames are dropped
  #remaining = -1; // bytes a Content-Length body still owes, -1 when not counted
  #fields = new FieldBlock();
  #lengthAt = -1; // the body length #lengthBytes ends a head with
  #lengthBytes: Uint8Array = CRLF;

  /** `content-length: n` and the blank line, as bytes; the last one is kept, as bodies often repeat their length. */
  #lengthEnd(n: number): Uint8Array {
    if (n !== this.#lengthAt) {
      this.#lengthBytes = latin1(`content-length: ${n}\r\n\r\n`);
      this.#lengthAt = n;
    }
    return this.#lengthBytes;
  }

  encodeHead(headers: HeaderList, body: boolean | Uint8Array, noBody: boolean, http10: boolean, interim: boolean, request: boolean, dst: WriteBuffer): void {
    const declared = this.#fields.encode(headers, dst);
    this.#chunked = false;
    this.#discard = noBody;
    this.#remaining = -1;
    if (interim || noBody) {
      // A HEAD response says the length its GET would have, when it is known.
      if (noBody && !interim && body instanceof Uint8Array && declared < 0 && this.headLength) dst.writeLatin1(`content-length: ${body.length}\r\n`);
      dst.write(CRLF);
      return;
    }
    if (body instanceof Uint8Array) {
      if (declared < 0) {
        dst.write(this.#lengthEnd(body.length));
      } else if (declared !== body.length) {
        throw new RangeError(`Invalid message: Content-Length ${declared} but a body of ${body.length} bytes`);
      } else {
        dst.write(CRLF);
      }
      dst.write(body);
      return;
    }
    if (body === false) {
      if (declared < 0 && !request) dst.writeLatin1("content-length: 0\r\n");
      else if (declared > 0) throw new RangeError(`Invalid message: Content-Length ${declared} but no body`);
    } else if (declared >= 0) {
      this.#remaining = declared;
    } else if (!http10) {
      dst.writeLatin1("transfer-encoding: chunked\r\n");
      this.#chunked = true;
    }
    // An HTTP/1.0 peer and no length: the body runs to the end of the connection.
    dst.write(CRLF);
  }

  encodeBody(frame: HttpFrame<unknown>, dst: WriteBuffer): void {
    if (this.#discard) return;
    if (frame.kind === "chunk") {
      const chunk = frame.chunk;
      if (chunk.length === 0) return; // an empty chunk would end a chunked body
      if (this.#chunked) {
        dst.writeLatin1(`${chunk.length.toString(16)}\r\n`);
        dst.write(chunk);
        dst.write(CRLF);
        return;
      }
      if (this.#remaining >= 0) {
        if (chunk.length > this.#remaining) throw new RangeError(`Invalid body: more bytes than its Content-Length`);
        this.#remaining -= chunk.length;
      }
      dst.write(chunk);
      return;
    }
    if (frame.kind === "end") {
      if (this.#chunked) {
        const trailers = frame.trailers;
        if (trailers === undefined || trailers.length === 0) return dst.write(LAST_CHUNK);
        dst.writeLatin1("0\r\n");
        for (let i = 0; i < trailers.length; i += 2) dst.writeLatin1(`${trailers[i]}: ${trailers[i + 1]}\r\n`);
        dst.write(CRLF);
      } else if (this.#remaining > 0) {
        throw new RangeError(`Invalid body: ${this.#remaining} bytes short of its Content-Length`);
      }
      return;
    }
    throw new TypeError(`Invalid HTTP frame kind ${JSON.stringify((frame as { kind: unknown }).kind)}`);
  }
}

/**
 * The server side of HTTP/1.1 as a {@link Codec}: request frames in,
 * response frames out. serveHttp() runs on it; use it directly for a server
 * that is not a fetch handler.
 *
 * A response head is encoded with the framing its request allows: no body
 * bytes for HEAD, 1xx, 204 and 304; its Content-Length when it has one;
 * chunked when it has none and the client speaks HTTP/1.1; else until the
 * connection closes. Decoding throws an {@link HttpError} with the status to
 * answer for a malformed request.
 *
 * @example Decoding a request
 * ```ts
 * import { ReadBuffer } from "weft";
 * import { httpServerCodec } from "weft/http";
 *
 * const codec = httpServerCodec();
 * const src = new ReadBuffer();
 * src.push(new TextEncoder().encode("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"));
 * const head = codec.decode(src);
 * console.assert(head?.kind === "head" && head.head.method === "POST" && head.body === true);
 * const chunk = codec.decode(src);
 * console.assert(chunk?.kind === "chunk" && new TextDecoder().decode(chunk.chunk) === "hi");
 * console.assert(codec.decode(src)?.kind === "end");
 * ```
 */
export function httpServerCodec(limits?: HttpLimits): HttpServerCodec {
  return new ServerCodec(resolveLimits("httpServerCodec()", limits));
}

/**
 * The client side of HTTP/1.1 as a {@link Codec}: request frames out,
 * response frames in. httpClient() runs on it.
 *
 * Interim responses (100 Continue, 103) are skipped; a response with neither
 * Content-Length nor chunked runs to the end of the connection.
 *
 * @example Encoding a request, decoding its response
 * ```ts
 * import { ReadBuffer, WriteBuffer } from "weft";
 * import { httpClientCodec } from "weft/http";
 *
 * const codec = httpClientCodec();
 * const out = new WriteBuffer();
 * codec.encode({ kind: "head", head: { method: "GET", target: "/", minor: 1, headers: ["host", "example.com"] }, body: false }, out);
 * console.assert(new TextDecoder().decode(out.bytes()).startsWith("GET / HTTP/1.1\r\nhost: example.com\r\n"));
 * const src = new ReadBuffer();
 * src.push(new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
 * const head = codec.decode(src);
 * console.assert(head?.kind === "head" && head.head.status === 200);
 * ```
 */
export function httpClientCodec(limits?: HttpLimits): HttpClientCodec {
  return new ClientCodec(resolveLimits("httpClientCodec()", limits));
}

