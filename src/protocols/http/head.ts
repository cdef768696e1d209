/**
 * The heads of HTTP/1.1 messages as the codecs carry them, their limits, and
 * the error a malformed message raises.
 */
import { FrameError, type FrameErrorCode } from "../../../mod.ts";

/** The longest request line or status line, in bytes without CRLF: 8 KiB, as nginx's large_client_header_buffers and most servers. Over it: 414 URI Too Long. */
export const DEFAULT_MAX_LINE_BYTES = 8 * 1024;
/** The largest whole head (start line, fields, the empty line), in bytes: 16 KiB, Node's --max-http-header-size. Over it: 431. */
export const DEFAULT_MAX_HEAD_BYTES = 16 * 1024;
/** The most header fields in one head (and in a trailer section): 100, as Go, hyper and Node. Past it: 431. */
export const DEFAULT_MAX_HEADERS = 100;
/** The longest chunk-size line of a chunked body, extensions included, in bytes: 4 KiB. */
export const DEFAULT_MAX_CHUNK_LINE_BYTES = 4 * 1024;

/** The limits of the HTTP/1.1 decoders. */
export interface HttpLimits {
  /** The longest start line, in bytes without CRLF. Default {@link DEFAULT_MAX_LINE_BYTES} (8 KiB). */
  maxLineBytes?: number;
  /** The largest head, and the largest trailer section, in bytes. Default {@link DEFAULT_MAX_HEAD_BYTES} (16 KiB). */
  maxHeadBytes?: number;
  /** The most fields in a head or a trailer section. Default {@link DEFAULT_MAX_HEADERS} (100). */
  maxHeaders?: number;
  /** The longest chunk-size line, extensions included, in bytes. Default {@link DEFAULT_MAX_CHUNK_LINE_BYTES} (4 KiB). */
  maxChunkLineBytes?: number;
}

/**
 * Header fields in wire order, flat: `[name0, value0, name1, value1, ...]`.
 * Names are lower-cased by the decoders; values are the field's bytes as
 * Latin-1 text (a ByteString, as `Headers` holds them), trimmed of spaces.
 */
export type HeaderList = string[];

/** A request head: what precedes a request's body. */
export interface RequestHead {
  /** The method, as sent (methods are case-sensitive): `"GET"`. */
  method: string;
  /** The request target as sent: `"/path?q"`, `"http://host/x"` (a proxy request), `"host:443"` (CONNECT) or `"*"`. */
  target: string;
  /** 1 for HTTP/1.1, 0 for HTTP/1.0. */
  minor: 0 | 1;
  headers: HeaderList;
}

/** A response head. */
export interface ResponseHead {
  status: number;
  /** The reason phrase; when encoding, empty means the standard one for `status`. */
  statusText: string;
  /** 1 for HTTP/1.1, 0 for HTTP/1.0. */
  minor: 0 | 1;
  headers: HeaderList;
}

/**
 * A message that breaks HTTP/1.1 (or the decoder's limits): a
 * {@link FrameError} with the status a server answers it with (400, 413,
 * 414, 417, 431, 501, 505). The connection is closed after that answer.
 *
 * @example
 * ```ts
 * import { FrameError } from "weft";
 * import { HttpError } from "weft/http";
 *
 * const err = new HttpError(431, "frame-too-large", "The request head exceeds maxHeadBytes 16384");
 * console.assert(err instanceof FrameError && err.status === 431);
 * ```
 */
export class HttpError extends FrameError {
  /** The status code that answers it. */
  readonly status: number;

  constructor(status: number, code: FrameErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "HttpError";
    this.status = status;
  }
}

/** The standard reason phrases (RFC 9110 §15), for heads that give none. */
export const STATUS_TEXT: Readonly<Record<number, string>> = {
  100: "Continue", 101: "Switching Protocols", 102: "Processing", 103: "Early Hints",
  200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information", 204: "No Content",
  205: "Reset Content", 206: "Partial Content", 207: "Multi-Status",
  300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
  307: "Temporary Redirect", 308: "Permanent Redirect",
  400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
  405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required", 408: "Request Timeout",
  409: "Conflict", 410: "Gone", 411: "Length Required", 412: "Precondition Failed", 413: "Content Too Large",
  414: "URI Too Long", 415: "Unsupported Media Type", 416: "Range Not Satisfiable", 417: "Expectation Failed",
  418: "I'm a Teapot", 421: "Misdirected Request", 422: "Unprocessable Content", 425: "Too Early", 426: "Upgrade Required",
  428: "Precondition Required", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
  451: "Unavailable For Legal Reasons",
  500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
  504: "Gateway Timeout", 505: "HTTP Version Not Supported", 511: "Network Authentication Required",
};

/** The value of field `name` (lower-case), or `undefined`; several fields are joined with ", ". */
export function headerValue(headers: HeaderList, name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === name) value = value === undefined ? headers[i + 1]! : `${value}, ${headers[i + 1]}`;
  }
  return value;
}

/** Whether the comma-separated field `name` holds `token` (compared without case): `Connection: keep-alive, Upgrade`. */
export function hasToken(headers: HeaderList, name: string, token: string): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== name) continue;
    const value = headers[i + 1]!;
    if (value.length === token.length ? value.toLowerCase() === token : value.toLowerCase().split(",").some((t) => t.trim() === token)) return true;
  }
  return false;
}
