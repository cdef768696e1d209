/**
 * Parsing HTTP/1.1 heads (RFC 9112 §2–5) from a ReadBuffer, strictly: a head
 * ends at CRLF CRLF, every line ends with CRLF (a bare LF or CR is an error),
 * field names are tokens with the colon right after them, an obs-fold (a line
 * starting with a space) is refused, and values hold no control characters.
 * Strictness is what keeps a server and a proxy in front of it from reading
 * two different messages out of the same bytes (request smuggling).
 */
import type { ReadBuffer } from "../../../mod.ts";
import { DEFAULT_MAX_CHUNK_LINE_BYTES, DEFAULT_MAX_HEAD_BYTES, DEFAULT_MAX_HEADERS, DEFAULT_MAX_LINE_BYTES, type HeaderList, HttpError, type HttpLimits } from "./head.ts";

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;
const COLON = 58;

/** Limits resolved to numbers. */
export interface Limits {
  line: number;
  head: number;
  headers: number;
  chunkLine: number;
}

/** Checks and resolves the limit options of `fn`. */
export function resolveLimits(fn: string, o: HttpLimits | undefined): Limits {
  return {
    line: positive(fn, "maxLineBytes", o?.maxLineBytes, DEFAULT_MAX_LINE_BYTES),
    head: positive(fn, "maxHeadBytes", o?.maxHeadBytes, DEFAULT_MAX_HEAD_BYTES),
    headers: positive(fn, "maxHeaders", o?.maxHeaders, DEFAULT_MAX_HEADERS),
    chunkLine: positive(fn, "maxChunkLineBytes", o?.maxChunkLineBytes, DEFAULT_MAX_CHUNK_LINE_BYTES),
  };
}

function positive(fn: string, name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`Invalid ${name} for ${fn}: expected a positive integer, got ${String(value)}`);
  }
  return value;
}

/** tchar (RFC 9110 §5.6.2) by byte. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** Bytes a field value may hold: VCHAR, obs-text, SP and HTAB (no other control character). */
const VALUE = new Uint8Array(256);
for (let c = 0x20; c < 256; c++) VALUE[c] = c === 0x7f ? 0 : 1;
VALUE[HT] = 1;

/** Bytes a request target may hold: visible ASCII (and obs-text, which browsers send unescaped). */
const TARGET = new Uint8Array(256);
for (let c = 0x21; c < 256; c++) TARGET[c] = c === 0x7f ? 0 : 1;

/** The bytes [start, end) of `b` as Latin-1 text. */
export function latin1(b: Uint8Array, start: number, end: number): string {
  if (end - start > 64) return String.fromCharCode.apply(null, b.subarray(start, end) as unknown as number[]);
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** Where a search for the end of a head stopped: the next byte to scan, and where the line being scanned starts. */
export interface HeadScan {
  scanned: number;
  line: number;
}

/**
 * Finds the end of a head in `src` (the index just past CRLF CRLF), or -1
 * when it is not all there yet. `scan` keeps where the previous search
 * stopped, so a head that trickles in is not rescanned; it is reset when the
 * end is found. Throws 400 for a bare LF, 431 past `maxHeadBytes`, and 414
 * (400 for a status line) when the start line is past `maxLineBytes`.
 */
export function findHeadEnd(src: ReadBuffer, scan: HeadScan, limits: Limits, what: "request" | "response"): number {
  for (;;) {
    const lf = src.indexOf(LF, scan.scanned);
    const end = lf < 0 ? src.length : lf + 1;
    if (end > limits.head) throw new HttpError(431, "frame-too-large", `The ${what} head exceeds maxHeadBytes ${limits.head}`);
    if (scan.line === 0 && end - 2 > limits.line) {
      throw new HttpError(what === "request" ? 414 : 400, "frame-too-large", `The ${what} line exceeds maxLineBytes ${limits.line}`);
    }
    if (lf < 0) {
      scan.scanned = src.length;
      return -1;
    }
    if (lf === 0 || src.byteAt(lf - 1) !== CR) throw badRequest(what, "a line ends with a bare LF");
    if (lf >= 3 && src.byteAt(lf - 2) === LF && src.byteAt(lf - 3) === CR) {
      scan.scanned = scan.line = 0;
      return end;
    }
    scan.scanned = scan.line = end;
  }
}

/** Skips the empty lines a client may send before a request (RFC 9112 §2.2); false when more bytes are needed. */
export function skipLeadingCrlf(src: ReadBuffer): boolean {
  while (src.length > 0 && src.byteAt(0) === CR) {
    if (src.length < 2) return false;
    if (src.byteAt(1) !== LF) throw badRequest("request", "a line ends with a bare CR");
    src.skip(2);
  }
  return true;
}

function badRequest(what: string, why: string): HttpError {
  return new HttpError(400, "invalid-frame", `Malformed ${what} head: ${why}`);
}

/** A parsed start line's parts and where the fields begin. */
interface StartLine {
  a: string;
  b: string;
  c: string;
  minor: 0 | 1;
  fieldsAt: number;
}

/** Parses the request line at the start of `head`: method SP target SP HTTP/1.x CRLF. */
export function parseRequestLine(head: Uint8Array): StartLine {
  let i = 0;
  while (TCHAR[head[i]!] === 1) i++;
  if (i === 0 || head[i] !== SP) throw badRequest("request", "the method is not a token followed by one space");
  const method = known(METHODS, head, 0, i) ?? latin1(head, 0, i);
  const t = ++i;
  while (TARGET[head[i]!] === 1) i++;
  if (i === t || head[i] !== SP) throw badRequest("request", "the request target is empty or holds a space or a control character");
  let target = lastTarget;
  if (!sameText(head, t, i, target)) {
    target = latin1(head, t, i);
    if (target.length <= 64 && !target.includes("?")) lastTarget = target; // a query may hold a token
  }
  const minor = version(head, i + 1, "request");
  if (head[i + 9] !== CR) throw badRequest("request", "unexpected bytes after the HTTP version");
  return { a: method, b: target, c: "", minor, fieldsAt: i + 11 };
}

/** Parses the status line at the start of `head`: HTTP/1.x SP 3DIGIT SP reason CRLF. */
export function parseStatusLine(head: Uint8Array): StartLine {
  const minor = version(head, 0, "response");
  if (head[8] !== SP) throw badRequest("response", "no space after the HTTP version");
  let status = 0;
  for (let i = 9; i < 12; i++) {
    const d = head[i]! - 0x30;
    if (d < 0 || d > 9) throw badRequest("response", "the status code is not three digits");
    status = status * 10 + d;
  }
  if (status < 100) throw badRequest("response", `status ${status} is below 100`);
  let i = 12;
  let reason = "";
  if (head[i] === SP) {
    const start = ++i;
    while (head[i] !== CR) {
      if (VALUE[head[i]!] !== 1) throw badRequest("response", "the reason phrase holds a control character");
      i++;
    }
    reason = latin1(head, start, i);
  }
  if (head[i] !== CR) throw badRequest("response", "unexpected bytes after the status code");
  return { a: String(status), b: reason, c: "", minor, fieldsAt: i + 2 };
}

function version(head: Uint8Array, at: number, what: "request" | "response"): 0 | 1 {
  // "HTTP/1.1" or "HTTP/1.0"
  if (head[at] !== 0x48 || head[at + 1] !== 0x54 || head[at + 2] !== 0x54 || head[at + 3] !== 0x50 || head[at + 4] !== 0x2f) {
    throw badRequest(what, "no HTTP version");
  }
  const major = head[at + 5]! - 0x30;
  const dot = head[at + 6];
  const minor = head[at + 7]! - 0x30;
  if (major < 0 || major > 9 || dot !== 0x2e || minor < 0 || minor > 9) throw badRequest(what, "a malformed HTTP version");
  if (major !== 1) throw new HttpError(505, "invalid-frame", `HTTP/${major}.${minor} is not supported: this is an HTTP/1.1 ${what === "request" ? "server" : "client"}`);
  return minor === 0 ? 0 : 1;
}

/**
 * Parses the field lines of `head` from `at` up to its final CRLF into
 * `out` (lower-case names). Used for heads and for trailer sections.
 */
export function parseFields(head: Uint8Array, at: number, out: HeaderList, limits: Limits, what: string): void {
  const end = head.length - 2; // the final empty line
  let count = 0;
  while (at < end) {
    const c = head[at]!;
    if (c === SP || c === HT) throw badRequest(what, "a field line is folded (obs-fold)");
    let i = at;
    while (TCHAR[head[i]!] === 1) i++;
    if (i === at || head[i] !== COLON) throw badRequest(what, "a field name is not a token followed by a colon");
    if (++count > limits.headers) throw new HttpError(431, "frame-too-large", `The ${what} head has more than maxHeaders ${limits.headers} fields`);
    const name = lowerName(head, at, i);
    i++;
    while (head[i] === SP || head[i] === HT) i++;
    const start = i;
    let last = i; // just past the last byte that is not a space
    for (;;) {
      const b = head[i]!;
      if (b === CR) break;
      if (VALUE[b] !== 1) throw badRequest(what, `the value of field "${name}" holds a control character`);
      i++;
      if (b !== SP && b !== HT) last = i;
    }
    if (head[i + 1] !== LF) throw badRequest(what, "a line ends with a bare CR");
    // A value is often the one this field had in the last head (Host, User-Agent, Accept on a keep-alive connection).
    let value = lastValues.get(name);
    if (value === undefined || !sameText(head, start, last, value)) {
      value = latin1(head, start, last);
      if (value.length <= 256 && REPEATED.has(name)) lastValues.set(name, value);
    }
    out.push(name, value);
    at = i + 2;
  }
}

/** Whether the bytes [start, end) of `b` are the text `s` (Latin-1). */
function sameText(b: Uint8Array, start: number, end: number, s: string): boolean {
  if (end - start !== s.length) return false;
  for (let i = 0; i < s.length; i++) if (b[start + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** One of `names` (exactly, case-sensitive) spelled by the bytes [start, end) of `b`, or `undefined`. */
function known(names: readonly string[], b: Uint8Array, start: number, end: number): string | undefined {
  for (const name of names) if (sameText(b, start, end, name)) return name;
  return undefined;
}

const METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"] as const;
// The last request target and the last value of some common fields, which the next head most often repeats:
// comparing bytes to them costs less than building the strings again. Values of at most 256 characters; never
// credentials, whose comparison time should tell nobody whether another client sent the same.
let lastTarget = "/";
const lastValues = new Map<string, string>();
const REPEATED = new Set([
  "host", "accept", "accept-encoding", "accept-language", "user-agent", "connection", "content-type",
  "origin", "referer", "cache-control", "keep-alive", "te", "server", "vary", "date",
]);

/** The common field names, by length, so that their names cost no string building. */
const COMMON = new Map<number, string[]>();
for (const name of [
  "host", "accept", "accept-encoding", "accept-language", "user-agent", "connection", "content-length", "content-type",
  "transfer-encoding", "cookie", "referer", "origin", "cache-control", "upgrade", "expect", "authorization", "date",
  "server", "keep-alive", "te", "trailer", "location", "set-cookie", "etag", "last-modified", "vary",
]) {
  const list = COMMON.get(name.length) ?? [];
  list.push(name);
  COMMON.set(name.length, list);
}

function lowerName(head: Uint8Array, start: number, end: number): string {
  const candidates = COMMON.get(end - start);
  if (candidates !== undefined) {
    outer: for (const name of candidates) {
      for (let i = 0; i < name.length; i++) {
        if ((head[start + i]! | 0x20) !== name.charCodeAt(i)) continue outer;
      }
      return name;
    }
  }
  return latin1(head, start, end).toLowerCase();
}

/**
 * Reads a chunk-size line (`1a;ext=1\r\n`) at the start of `src`: the size,
 * or -1 when the line is not all there. The line is consumed.
 */
export function parseChunkSize(src: ReadBuffer, limits: Limits): number {
  const lf = src.indexOf(LF);
  if (lf < 0) {
    if (src.length > limits.chunkLine) throw chunkError(`the chunk-size line exceeds maxChunkLineBytes ${limits.chunkLine}`);
    return -1;
  }
  if (lf > limits.chunkLine) throw chunkError(`the chunk-size line exceeds maxChunkLineBytes ${limits.chunkLine}`);
  if (lf === 0 || src.byteAt(lf - 1) !== CR) throw chunkError("the chunk-size line ends with a bare LF");
  let size = 0;
  let i = 0;
  for (; i < lf - 1; i++) {
    const c = src.byteAt(i);
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 ? (c | 0x20) - 0x57 : -1;
    if (d < 0) break;
    if (i >= 13) throw chunkError("the chunk size is too large");
    size = size * 16 + d;
  }
  if (i === 0) throw chunkError("the chunk size is not a hexadecimal number");
  const next = src.byteAt(i);
  if (i < lf - 1) {
    // Only extensions may follow: BWS ";" name[=value], in the line's bounds; their bytes must be visible or spaces.
    let j = i;
    while (src.byteAt(j) === SP || src.byteAt(j) === HT) j++;
    if (src.byteAt(j) !== 0x3b) throw chunkError(`unexpected byte 0x${next.toString(16)} after the chunk size`);
    for (; j < lf - 1; j++) if (VALUE[src.byteAt(j)] !== 1) throw chunkError("a chunk extension holds a control character");
  }
  src.skip(lf + 1);
  return size;
}

function chunkError(why: string): HttpError {
  return new HttpError(400, "invalid-frame", `Malformed chunked body: ${why}`);
}

/** Consumes the CRLF after a chunk's data; false when it has not arrived. */
export function takeChunkEnd(src: ReadBuffer): boolean {
  if (src.length < 2) {
    if (src.length === 1 && src.byteAt(0) !== CR) throw chunkError("a chunk's data is not followed by CRLF");
    return false;
  }
  if (src.byteAt(0) !== CR || src.byteAt(1) !== LF) throw chunkError("a chunk's data is not followed by CRLF");
  src.skip(2);
  return true;
}
