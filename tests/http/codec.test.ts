/**
 * weft/http codecs: request and response heads, the limits (414, 431),
 * bodies by Content-Length, chunked (with extensions and trailers) and until
 * the end of the connection, both directions byte for byte; the same
 * messages for every way of splitting the bytes into chunks (fast-check);
 * HEAD, 204 and 304 without a body and 1xx skipped on the client side;
 * Upgrade and CONNECT pausing the decoder until resume().
 */
import fc from "fast-check";
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { FrameError, ReadBuffer, WriteBuffer } from "../../mod.ts";
import {
  DEFAULT_MAX_HEADERS,
  DEFAULT_MAX_LINE_BYTES,
  headerValue,
  type HeaderList,
  HttpError,
  type HttpFrame,
  httpClientCodec,
  httpServerCodec,
  type RequestHead,
  type ResponseHead,
} from "../../src/protocols/http/mod.ts";
import { RUNS, split } from "../codec/_properties.ts";

const test = suite("http: codec");

type Frame = HttpFrame<RequestHead> | HttpFrame<ResponseHead>;
type AnyCodec = { decode(src: ReadBuffer): Frame | undefined; decodeEof?(src: ReadBuffer): Frame | undefined };

/** Text as Latin-1 bytes: one byte per character, as HTTP heads are. */
function bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (const c of b) s += String.fromCharCode(c);
  return s;
}

/** Decodes `chunks` as a stream would: every frame each chunk completes, then (with `eof`) the end. */
function decodeAll(codec: AnyCodec, chunks: Uint8Array[], eof = true): { frames: Frame[]; src: ReadBuffer } {
  const src = new ReadBuffer();
  const frames: Frame[] = [];
  const guard = () => {
    if (frames.length > 100_000) throw new Error("the decoder loops");
  };
  for (const chunk of chunks) {
    src.push(chunk);
    for (let f = codec.decode(src); f !== undefined; f = codec.decode(src)) {
      frames.push(f);
      guard();
    }
  }
  if (eof && codec.decodeEof) {
    for (let f = codec.decodeEof(src); f !== undefined; f = codec.decodeEof(src)) {
      frames.push(f);
      guard();
    }
  }
  return { frames, src };
}

/** Decodes one string in one chunk. */
function decodeText(codec: AnyCodec, text: string, eof = true): Frame[] {
  return decodeAll(codec, [bytes(text)], eof).frames;
}

/** A message as the frames say it, with its chunk frames joined: what must not depend on how the bytes were split. */
interface Message {
  head: unknown;
  body: boolean;
  upgrade?: boolean;
  data?: string;
  end?: boolean;
  trailers?: HeaderList;
}

function messages(frames: Frame[]): Message[] {
  const out: Message[] = [];
  for (const f of frames) {
    if (f.kind === "head") {
      const m: Message = { head: f.head, body: f.body === true };
      if (f.upgrade) m.upgrade = true;
      out.push(m);
      continue;
    }
    const m = out[out.length - 1];
    if (m === undefined) throw new Error(`a ${f.kind} frame before any head`);
    if (m.end) throw new Error(`a ${f.kind} frame after the end frame`);
    if (f.kind === "chunk") {
      if (f.chunk.length === 0) throw new Error("an empty chunk frame");
      m.data = (m.data ?? "") + latin1(f.chunk);
    } else {
      m.end = true;
      if (f.trailers !== undefined) m.trailers = f.trailers;
    }
  }
  return out;
}

/** Runs `fn`, which must throw an HttpError (a FrameError) with `status`. */
function throwsStatus(fn: () => unknown, status: number, what: string): HttpError {
  try {
    fn();
  } catch (error) {
    assert.instance(error, HttpError, `${what}: ${String(error)}`);
    assert.instance(error, FrameError, what);
    assert.is((error as HttpError).status, status, `${what}: ${(error as Error).message}`);
    return error as HttpError;
  }
  assert.unreachable(`${what}: no error`);
  throw new Error("unreachable");
}

function serverDecodes(text: string, limits?: Parameters<typeof httpServerCodec>[0]): Frame[] {
  return decodeText(httpServerCodec(limits), text);
}

function encodeResponses(codec: ReturnType<typeof httpServerCodec>, frames: HttpFrame<ResponseHead>[]): string {
  const out = new WriteBuffer();
  for (const f of frames) codec.encode(f, out);
  return latin1(out.bytes());
}

function encodeRequests(codec: ReturnType<typeof httpClientCodec>, frames: HttpFrame<RequestHead>[]): string {
  const out = new WriteBuffer();
  for (const f of frames) codec.encode(f, out);
  return latin1(out.bytes());
}

/** A server codec that has decoded `requests` (so it knows what its responses answer). */
function serverAfter(requests: string): ReturnType<typeof httpServerCodec> {
  const codec = httpServerCodec();
  decodeText(codec, requests, false);
  return codec;
}

/** A client codec that has sent requests with these methods. */
function clientAfter(...methods: string[]): ReturnType<typeof httpClientCodec> {
  const codec = httpClientCodec();
  for (const method of methods) {
    const target = method === "CONNECT" ? "example.com:443" : "/";
    codec.encode({ kind: "head", head: { method, target, minor: 1, headers: ["host", "x"] }, body: false }, new WriteBuffer());
  }
  return codec;
}

const enc = new TextEncoder();

// ── Request heads ───────────────────────────────────────────────────────────

test("request heads: method, target, version, fields lower-cased and trimmed, repeated fields kept in order", () => {
  const frames = serverDecodes(
    "\r\n\r\nGET /path/x?q=1&r=%20 HTTP/1.1\r\nHost: example.com\r\nX-Mixed-Case:  spaced  value \t\r\nAccept: a\r\naccept: b\r\nEmpty:\r\nLatin: caf\xe9\r\n\r\n",
  );
  assert.is(frames.length, 1);
  const f = frames[0]!;
  assert.is(f.kind, "head");
  if (f.kind !== "head") return;
  assert.equal(f.head, {
    method: "GET",
    target: "/path/x?q=1&r=%20",
    minor: 1,
    headers: ["host", "example.com", "x-mixed-case", "spaced  value", "accept", "a", "accept", "b", "empty", "", "latin", "caf\xe9"],
  });
  assert.is(f.body, false);
  assert.is(f.upgrade, undefined);
  assert.is(headerValue((f.head as RequestHead).headers, "accept"), "a, b");
  assert.is(headerValue((f.head as RequestHead).headers, "nope"), undefined);
});

test("request heads: the request target forms, methods as sent, HTTP/1.0 without Host", () => {
  const cases: [string, Partial<RequestHead>][] = [
    ["OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", { method: "OPTIONS", target: "*", minor: 1 }],
    ["GET http://example.com/a?b HTTP/1.1\r\nHost: example.com\r\n\r\n", { method: "GET", target: "http://example.com/a?b", minor: 1 }],
    ["PURGE /x HTTP/1.1\r\nHost: x\r\n\r\n", { method: "PURGE", target: "/x" }],
    ["get /x HTTP/1.1\r\nHost: x\r\n\r\n", { method: "get" }],
    ["GET / HTTP/1.0\r\n\r\n", { method: "GET", target: "/", minor: 0, headers: [] }],
  ];
  for (const [wire, expected] of cases) {
    const [f] = serverDecodes(wire);
    assert.ok(f?.kind === "head", wire);
    if (f?.kind !== "head") continue;
    for (const [k, v] of Object.entries(expected)) assert.equal((f.head as unknown as Record<string, unknown>)[k], v, `${wire}: ${k}`);
  }
});

test("request heads: malformed ones are 400 (505 for another HTTP version)", () => {
  const cases: [string, number][] = [
    ["GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400], // two spaces
    ["GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400], // a space after the version
    ["GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400], // a space in the target
    ["GET /\r\nHost: x\r\n\r\n", 400], // HTTP/0.9
    ["GET / HTTP/1.1\nHost: x\r\n\r\n", 400], // bare LF
    ["GET / HTTP/1.1\r\nHost: x\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n", 400], // bare CR
    ["GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400], // a space before the colon
    ["GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: x\r\n: empty name\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n", 400], // a control character
    ["GET / HTTP/1.1\r\nHost: x\r\nX: a\x7fb\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n  folded\r\n\r\n", 400], // obs-fold
    ["GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400], // a first field line that starts with a space
    ["GET / HTTP/1.1\r\n\r\n", 400], // no Host
    ["GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400], // two
    ["GET / HTTP/1.x\r\nHost: x\r\n\r\n", 400],
    ["GET / HTTPS/1.1\r\nHost: x\r\n\r\n", 400],
    ["GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505],
    ["G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400],
    ["\r\rGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400],
  ];
  for (const [wire, status] of cases) throwsStatus(() => serverDecodes(wire), status, JSON.stringify(wire));
});

test("response heads: status, reason phrase (or none), version, fields", () => {
  const cases: [string, number, string, 0 | 1][] = [
    ["HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200, "OK", 1],
    ["HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n", 404, "Not Found", 0],
    ["HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 200, "", 1],
    ["HTTP/1.1 599 Some Custom Thing\r\nContent-Length: 0\r\n\r\n", 599, "Some Custom Thing", 1],
    ["HTTP/1.1 201 \r\nContent-Length: 0\r\n\r\n", 201, "", 1],
  ];
  for (const [wire, status, statusText, minor] of cases) {
    const [f, ...rest] = decodeText(clientAfter("GET"), wire);
    assert.is(rest.length, 0, wire);
    assert.ok(f?.kind === "head");
    if (f?.kind !== "head") continue;
    assert.equal(f.head, { status, statusText, minor, headers: ["content-length", "0"] }, wire);
    assert.is(f.body, false);
  }
  for (const wire of ["HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 099 Low\r\n\r\n", "HTTP/1.1 200 O\x01K\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nX : y\r\n\r\n", "ICY 200 OK\r\n\r\n"]) {
    throwsStatus(() => decodeText(clientAfter("GET"), wire), 400, JSON.stringify(wire));
  }
  throwsStatus(() => decodeText(clientAfter("GET"), "HTTP/2.0 200 OK\r\n\r\n"), 505, "HTTP/2.0");
  // A response with no request waiting for it.
  try {
    decodeText(httpClientCodec(), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert.unreachable("no request");
  } catch (error) {
    assert.instance(error, FrameError);
  }
});

test("inHead: true while a head is part-way in, false between messages", () => {
  const codec = httpServerCodec();
  const src = new ReadBuffer();
  assert.is(codec.inHead, false);
  src.push(bytes("GET / HT"));
  assert.is(codec.decode(src), undefined);
  assert.is(codec.inHead, true);
  src.push(bytes("TP/1.1\r\nHost: x\r\n\r\n"));
  assert.is(codec.decode(src)?.kind, "head");
  assert.is(codec.inHead, false);
  assert.is(codec.decode(src), undefined);
  assert.is(codec.inHead, false);
});

// ── Limits ──────────────────────────────────────────────────────────────────

test("limits: a request line past maxLineBytes is 414, at once, before its end arrives", () => {
  const limit = 64;
  const line = (n: number) => `GET /${"a".repeat(n - 14)} HTTP/1.1`; // n bytes
  assert.is(line(limit).length, limit);
  const [ok] = serverDecodes(`${line(limit)}\r\nHost: x\r\n\r\n`, { maxLineBytes: limit });
  assert.is(ok?.kind, "head");
  throwsStatus(() => serverDecodes(`${line(limit + 1)}\r\nHost: x\r\n\r\n`, { maxLineBytes: limit }), 414, "one byte over");
  // Without its CRLF: the limit holds while the line is still arriving.
  const codec = httpServerCodec({ maxLineBytes: limit });
  const src = new ReadBuffer();
  src.push(bytes(`GET /${"a".repeat(limit)}`));
  throwsStatus(() => codec.decode(src), 414, "a partial line");
  // The default, 8 KiB.
  assert.is(DEFAULT_MAX_LINE_BYTES, 8 * 1024);
  serverDecodes(`${line(DEFAULT_MAX_LINE_BYTES)}\r\nHost: x\r\n\r\n`);
  throwsStatus(() => serverDecodes(`${line(DEFAULT_MAX_LINE_BYTES + 1)}\r\nHost: x\r\n\r\n`), 414, "default");
  // A status line too long is a bad response, not a 414.
  throwsStatus(() => decodeText(httpClientCodec({ maxLineBytes: 20 }), "HTTP/1.1 200 A very long reason phrase\r\n\r\n"), 400, "status line");
});

test("limits: a head past maxHeadBytes is 431, at once, before its end arrives", () => {
  const limit = 200;
  const start = "GET / HTTP/1.1\r\nHost: x\r\n";
  const head = (n: number) => `${start}X: ${"v".repeat(n - start.length - 7)}\r\n\r\n`; // n bytes
  assert.is(head(limit).length, limit);
  assert.is(serverDecodes(head(limit), { maxHeadBytes: limit })[0]?.kind, "head");
  throwsStatus(() => serverDecodes(head(limit + 1), { maxHeadBytes: limit }), 431, "one byte over");
  const codec = httpServerCodec({ maxHeadBytes: limit });
  const src = new ReadBuffer();
  src.push(bytes(start + "X: " + "v".repeat(limit)));
  throwsStatus(() => codec.decode(src), 431, "a partial head");
  // Many short lines past the default 16 KiB.
  throwsStatus(() => serverDecodes(start + "X-Y: z\r\n".repeat(3000) + "\r\n", { maxHeaders: 10_000 }), 431, "default head size");
  // Leading empty lines are not part of the head.
  assert.is(serverDecodes("\r\n\r\n" + head(limit), { maxHeadBytes: limit })[0]?.kind, "head");
});

test("limits: more than maxHeaders fields is 431 (heads and trailer sections)", () => {
  const fields = (n: number) => Array.from({ length: n - 1 }, (_, i) => `x-${i}: ${i}\r\n`).join("");
  assert.is(serverDecodes(`GET / HTTP/1.1\r\nHost: x\r\n${fields(5)}\r\n`, { maxHeaders: 5 })[0]?.kind, "head");
  throwsStatus(() => serverDecodes(`GET / HTTP/1.1\r\nHost: x\r\n${fields(6)}\r\n`, { maxHeaders: 5 }), 431, "6 of 5");
  assert.is(DEFAULT_MAX_HEADERS, 100);
  assert.is(serverDecodes(`GET / HTTP/1.1\r\nHost: x\r\n${fields(100)}\r\n`)[0]?.kind, "head");
  throwsStatus(() => serverDecodes(`GET / HTTP/1.1\r\nHost: x\r\n${fields(101)}\r\n`), 431, "101");
  const trailers = (n: number) => Array.from({ length: n }, (_, i) => `t-${i}: ${i}\r\n`).join("");
  const chunked = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n";
  const ok = messages(serverDecodes(`${chunked}${trailers(3)}\r\n`, { maxHeaders: 3 }));
  assert.is(ok[0]!.trailers?.length, 6);
  throwsStatus(() => serverDecodes(`${chunked}${trailers(4)}\r\n`, { maxHeaders: 3 }), 431, "trailers");
});

test("limits: a chunk-size line past maxChunkLineBytes is 400; bad limit options are RangeErrors", () => {
  const head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  assert.is(messages(serverDecodes(`${head}1;${"e".repeat(28)}\r\na\r\n0\r\n\r\n`, { maxChunkLineBytes: 32 }))[0]!.data, "a");
  throwsStatus(() => serverDecodes(`${head}1;${"e".repeat(40)}\r\na\r\n0\r\n\r\n`, { maxChunkLineBytes: 32 }), 400, "long");
  throwsStatus(() => serverDecodes(`${head}1;${"e".repeat(40)}`, { maxChunkLineBytes: 32 }), 400, "long, partial");
  for (const bad of [0, -1, 1.5, NaN, "8" as unknown as number]) {
    assert.throws(() => httpServerCodec({ maxLineBytes: bad }), RangeError);
    assert.throws(() => httpClientCodec({ maxHeadBytes: bad }), RangeError);
    assert.throws(() => httpServerCodec({ maxHeaders: bad }), RangeError);
    assert.throws(() => httpServerCodec({ maxChunkLineBytes: bad }), RangeError);
  }
});

// ── Bodies ──────────────────────────────────────────────────────────────────

test("bodies by Content-Length: exactly that many bytes, then the next message", () => {
  const wire = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloPUT /b HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nDELETE /c HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc";
  const frames = serverDecodes(wire);
  assert.equal(frames.map((f) => f.kind), ["head", "chunk", "end", "head", "head", "chunk", "end"]);
  const ms = messages(frames);
  assert.equal(ms.map((m) => [(m.head as RequestHead).target, m.body, m.data, m.end]), [
    ["/a", true, "hello", true],
    ["/b", false, undefined, undefined],
    ["/c", true, "abc", true],
  ]);
});

test("bodies by Content-Length: malformed or conflicting lengths are 400", () => {
  for (const cl of ["-1", "+5", "abc", "5 5", "0x10", "1e3", "", "5, 6", "1234567890123456"]) {
    throwsStatus(() => serverDecodes(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${cl}\r\n\r\n`), 400, `Content-Length: ${cl}`);
  }
  throwsStatus(() => serverDecodes("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"), 400, "two fields");
  assert.equal(messages(serverDecodes("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi"))[0]!.data, "hi");
});

test("chunked bodies decoded: sizes in any case of hex, extensions skipped, trailers read", () => {
  const wire =
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "5\r\nhello\r\n" +
    "6;name=value;flag\r\n world\r\n" +
    "A ; q=\"quoted; string\"\r\n0123456789\r\n" +
    "000b\r\n 0123456789\r\n" +
    "0;last=1\r\nX-Sum: 42\r\nX-Other:  y \r\n\r\n" +
    "GET /next HTTP/1.1\r\nHost: x\r\n\r\n";
  const ms = messages(serverDecodes(wire));
  assert.is(ms.length, 2);
  assert.is(ms[0]!.data, "hello world0123456789 0123456789");
  assert.equal(ms[0]!.trailers, ["x-sum", "42", "x-other", "y"]);
  assert.is(ms[0]!.end, true);
  assert.is((ms[1]!.head as RequestHead).target, "/next");
  // No trailers: an end frame without them.
  const [, , end] = serverDecodes("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n");
  assert.equal(end, { kind: "end" });
  // Transfer-Encoding matched without case, in a list with chunked last.
  assert.is(messages(serverDecodes("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED\r\n\r\n2\r\nhi\r\n0\r\n\r\n"))[0]!.data, "hi");
});

test("chunked bodies: malformed sizes, data and codings are refused", () => {
  const head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  const bad: [string, number][] = [
    [`${head}zz\r\nhello\r\n0\r\n\r\n`, 400],
    [`${head}\r\nhello\r\n0\r\n\r\n`, 400],
    [`${head}-5\r\nhello\r\n0\r\n\r\n`, 400],
    [`${head}5\r\nhelloXX0\r\n\r\n`, 400], // no CRLF after the data
    [`${head}5\nhello\r\n0\r\n\r\n`, 400], // bare LF
    [`${head}5 x\r\nhello\r\n0\r\n\r\n`, 400], // not an extension
    [`${head}5;a\x01b\r\nhello\r\n0\r\n\r\n`, 400],
    [`${head}fffffffffffffff\r\n`, 400], // too large
    [`${head}1\r\na\r\n0\r\nbad trailer\r\n\r\n`, 400],
    ["POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501],
    ["POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501],
    ["POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400],
    ["POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
    ["POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
    ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
  ];
  for (const [wire, status] of bad) throwsStatus(() => serverDecodes(wire), status, JSON.stringify(wire));
});

test("responses without a length run to the end of the connection", () => {
  const codec = clientAfter("GET");
  const { frames, src } = decodeAll(codec, [bytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome "), bytes("bytes"), bytes(" HTTP/1.1 200 OK\r\n\r\n")], false);
  assert.equal(messages(frames), [{ head: { status: 200, statusText: "OK", minor: 1, headers: ["content-type", "text/plain"] }, body: true, data: "some bytes HTTP/1.1 200 OK\r\n\r\n" }]);
  assert.is(src.length, 0);
  // The end of the connection ends the body.
  assert.equal(codec.decodeEof!(src), { kind: "end" });
  assert.is(codec.decodeEof!(src), undefined);
  // A Transfer-Encoding that does not end with chunked: the same.
  const ms = messages(decodeText(clientAfter("GET"), "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b"));
  assert.equal([ms[0]!.data, ms[0]!.end], ["\x1f\x8b", true]);
  // Transfer-Encoding wins over Content-Length in a response.
  const both = messages(decodeText(clientAfter("GET"), "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"));
  assert.equal([both[0]!.data, both[0]!.end], ["hi", true]);
});

test("the end of the connection in the middle of a head or a body is unexpected-eof; between messages it is the end", () => {
  const cases = [
    "GET / HTTP/1.1\r\nHost: x\r\n",
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel",
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Trailer: 1\r\n",
  ];
  for (const wire of cases) {
    try {
      serverDecodes(wire);
      assert.unreachable(wire);
    } catch (error) {
      assert.instance(error, FrameError, wire);
      assert.is((error as FrameError).code, "unexpected-eof", wire);
    }
  }
  assert.is(serverDecodes("GET / HTTP/1.1\r\nHost: x\r\n\r\n").length, 1);
  assert.is(serverDecodes("").length, 0);
});

// ── Encoding ────────────────────────────────────────────────────────────────

test("responses encoded: standard reason, Content-Length for a whole body, chunked with trailers for a stream", () => {
  const codec = serverAfter("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\nGET /d HTTP/1.1\r\nHost: x\r\n\r\n");
  const whole = encodeResponses(codec, [{ kind: "head", head: { status: 200, statusText: "", minor: 1, headers: ["content-type", "text/plain"] }, body: enc.encode("hello") }]);
  assert.is(whole, "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nhello");
  const chunked = encodeResponses(codec, [
    { kind: "head", head: { status: 201, statusText: "Made", minor: 1, headers: ["x-a", "1"] }, body: true },
    { kind: "chunk", chunk: enc.encode("hello") },
    { kind: "chunk", chunk: new Uint8Array(0) }, // would end the body: dropped
    { kind: "chunk", chunk: enc.encode(" chunked world") },
    { kind: "end", trailers: ["x-sum", "42", "x-b", "c"] },
  ]);
  assert.is(chunked, "HTTP/1.1 201 Made\r\nx-a: 1\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\ne\r\n chunked world\r\n0\r\nx-sum: 42\r\nx-b: c\r\n\r\n");
  const empty = encodeResponses(codec, [{ kind: "head", head: { status: 404, statusText: "", minor: 1, headers: [] }, body: false }]);
  assert.is(empty, "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
  const noTrailers = encodeResponses(codec, [
    { kind: "head", head: { status: 299, statusText: "", minor: 1, headers: [] }, body: true },
    { kind: "chunk", chunk: enc.encode("x".repeat(300)) },
    { kind: "end" },
  ]);
  assert.is(noTrailers, `HTTP/1.1 299 \r\ntransfer-encoding: chunked\r\n\r\n12c\r\n${"x".repeat(300)}\r\n0\r\n\r\n`);
  // The client codec reads back what the server codec wrote.
  const client = clientAfter("GET", "GET", "GET", "GET");
  const ms = messages(decodeText(client, whole + chunked + empty + noTrailers));
  assert.equal(ms.map((m) => [(m.head as ResponseHead).status, m.body, m.data, m.trailers]), [
    [200, true, "hello", undefined],
    [201, true, "hello chunked world", ["x-sum", "42", "x-b", "c"]],
    [404, false, undefined, undefined],
    [299, true, "x".repeat(300), undefined],
  ]);
});

test("responses encoded: a declared Content-Length is kept and held to; streams to an HTTP/1.0 client run until close", () => {
  const codec = serverAfter("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.0\r\n\r\n");
  const declared = encodeResponses(codec, [
    { kind: "head", head: { status: 200, statusText: "", minor: 1, headers: ["content-length", "10"] }, body: true },
    { kind: "chunk", chunk: enc.encode("01234") },
    { kind: "chunk", chunk: enc.encode("56789") },
    { kind: "end" },
  ]);
  assert.is(declared, "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n0123456789");
  encodeResponses(codec, [{ kind: "head", head: { status: 200, statusText: "", minor: 1, headers: ["content-length", "3"] }, body: true }]);
  assert.throws(() => encodeResponses(codec, [{ kind: "chunk", chunk: enc.encode("abcd") }]), RangeError);
  assert.throws(() => encodeResponses(codec, [{ kind: "end" }]), RangeError, "short of its length");
  assert.throws(() => encodeResponses(codec, [{ kind: "head", head: { status: 200, statusText: "", minor: 1, headers: ["content-length", "3"] }, body: enc.encode("ab") }]), RangeError);
  const http10 = encodeResponses(codec, [
    { kind: "head", head: { status: 200, statusText: "", minor: 1, headers: ["connection", "close"] }, body: true },
    { kind: "chunk", chunk: enc.encode("raw ") },
    { kind: "chunk", chunk: enc.encode("bytes") },
    { kind: "end" },
  ]);
  assert.is(http10, "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nraw bytes");
  assert.throws(() => encodeResponses(httpServerCodec(), [{ kind: "head", head: { status: 1000, statusText: "", minor: 1, headers: [] }, body: false }]), RangeError);
  assert.throws(() => encodeResponses(httpServerCodec(), [{ kind: "nope" } as unknown as HttpFrame<ResponseHead>]), TypeError);
});

test("responses encoded: repeated fields and status lines come out the same as fresh ones, and a change in any string shows", () => {
  const codec = serverAfter("GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(6));
  const big = "v".repeat(2000); // past the field cache: encoded each time
  const heads: [number, string, string[]][] = [
    [200, "", ["content-type", "text/plain", "date", "Sat, 28 Nov 2026 10:00:00 GMT"]],
    [200, "", ["content-type", "text/plain", "date", "Sat, 28 Nov 2026 10:00:00 GMT"]],
    [200, "", ["content-type", "text/plain", "date", "Sat, 28 Nov 2026 10:00:01 GMT"]],
    [201, "Made", ["content-type", "text/plain", "date", "Sat, 28 Nov 2026 10:00:01 GMT"]],
    [200, "", ["x-big", big]],
    [200, "", ["x-big", big]],
  ];
  const got = heads.map(([status, statusText, headers]) =>
    encodeResponses(codec, [{ kind: "head", head: { status, statusText, minor: 1, headers: [...headers] }, body: enc.encode("hi") }])
  );
  const want = heads.map(([status, statusText, headers]) => {
    let fields = "";
    for (let i = 0; i < headers.length; i += 2) fields += `${headers[i]}: ${headers[i + 1]}\r\n`;
    return `HTTP/1.1 ${status} ${statusText || (status === 200 ? "OK" : "Created")}\r\n${fields}content-length: 2\r\n\r\nhi`;
  });
  assert.equal(got, want);
});

test("responses encoded: nothing of a body for HEAD, 204 and 304; 1xx before the final response", () => {
  const codec = serverAfter("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\nPOST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  const head = encodeResponses(codec, [
    { kind: "head", head: { status: 200, statusText: "", minor: 1, headers: ["content-length", "1000"] }, body: true },
    { kind: "chunk", chunk: enc.encode("dropped") },
    { kind: "end" },
  ]);
  assert.is(head, "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n");
  const noContent = encodeResponses(codec, [{ kind: "head", head: { status: 204, statusText: "", minor: 1, headers: [] }, body: enc.encode("dropped") }]);
  assert.is(noContent, "HTTP/1.1 204 No Content\r\n\r\n");
  const notModified = encodeResponses(codec, [
    { kind: "head", head: { status: 304, statusText: "", minor: 1, headers: ["etag", '"x"'] }, body: true },
    { kind: "chunk", chunk: enc.encode("dropped") },
    { kind: "end" },
  ]);
  assert.is(notModified, 'HTTP/1.1 304 Not Modified\r\netag: "x"\r\n\r\n');
  const continued = encodeResponses(codec, [
    { kind: "head", head: { status: 100, statusText: "", minor: 1, headers: [] }, body: false },
    { kind: "head", head: { status: 103, statusText: "", minor: 1, headers: ["link", "</a.css>; rel=preload"] }, body: false },
    { kind: "head", head: { status: 200, statusText: "", minor: 1, headers: [] }, body: enc.encode("ok") },
  ]);
  assert.is(continued, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
});

test("responses encoded: a HEAD response given a whole body says its length and sends none of it", () => {
  const codec = serverAfter("HEAD /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n");
  const head = encodeResponses(codec, [{ kind: "head", head: { status: 200, statusText: "", minor: 1, headers: [] }, body: enc.encode("hello") }]);
  assert.is(head, "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n");
  const notModified = encodeResponses(codec, [{ kind: "head", head: { status: 304, statusText: "", minor: 1, headers: [] }, body: enc.encode("hello") }]);
  assert.is(notModified, "HTTP/1.1 304 Not Modified\r\n\r\n");
  const get = encodeResponses(codec, [{ kind: "head", head: { status: 200, statusText: "", minor: 1, headers: [] }, body: enc.encode("hi") }]);
  assert.is(get, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi");
});

test("responses encoded: 101 and a 2xx to CONNECT carry no framing fields; a refused CONNECT has a body", () => {
  const codec = serverAfter("CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n");
  const tunnel = encodeResponses(codec, [{ kind: "head", head: { status: 200, statusText: "", minor: 1, headers: [] }, body: true }]);
  assert.is(tunnel, "HTTP/1.1 200 OK\r\n\r\n");
  const refused = encodeResponses(serverAfter("CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n"), [
    { kind: "head", head: { status: 407, statusText: "", minor: 1, headers: [] }, body: enc.encode("no") },
  ]);
  assert.is(refused, "HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 2\r\n\r\nno");
  const upgrade = encodeResponses(serverAfter("GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: ws\r\n\r\n"), [
    { kind: "head", head: { status: 101, statusText: "", minor: 1, headers: ["connection", "upgrade", "upgrade", "ws"] }, body: true },
  ]);
  assert.is(upgrade, "HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: ws\r\n\r\n");
});

test("requests encoded: no length for no body, Content-Length for a whole one, chunked for a stream", () => {
  const codec = httpClientCodec();
  const get = encodeRequests(codec, [{ kind: "head", head: { method: "GET", target: "/a?b", minor: 1, headers: ["host", "example.com", "accept", "*/*"] }, body: false }]);
  assert.is(get, "GET /a?b HTTP/1.1\r\nhost: example.com\r\naccept: */*\r\n\r\n");
  const post = encodeRequests(codec, [{ kind: "head", head: { method: "POST", target: "/p", minor: 1, headers: ["host", "x"] }, body: enc.encode("{}") }]);
  assert.is(post, "POST /p HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}");
  const upload = encodeRequests(codec, [
    { kind: "head", head: { method: "PUT", target: "/up", minor: 1, headers: ["host", "x"] }, body: true },
    { kind: "chunk", chunk: enc.encode("abc") },
    { kind: "chunk", chunk: enc.encode("defghijklmnopqrstuvwxyz") },
    { kind: "end", trailers: ["x-checksum", "1"] },
  ]);
  assert.is(upload, "PUT /up HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n17\r\ndefghijklmnopqrstuvwxyz\r\n0\r\nx-checksum: 1\r\n\r\n");
  const http10 = encodeRequests(httpClientCodec(), [{ kind: "head", head: { method: "GET", target: "/", minor: 0, headers: [] }, body: false }]);
  assert.is(http10, "GET / HTTP/1.0\r\n\r\n");
  // The server codec reads them back.
  const ms = messages(serverDecodes(get + post + upload));
  assert.equal(ms.map((m) => [(m.head as RequestHead).method, m.body, m.data, m.trailers]), [
    ["GET", false, undefined, undefined],
    ["POST", true, "{}", undefined],
    ["PUT", true, "abcdefghijklmnopqrstuvwxyz", ["x-checksum", "1"]],
  ]);
});

// ── The client codec's view of responses ────────────────────────────────────

test("client codec: responses to HEAD, 204 and 304 have no body, whatever their fields say", () => {
  const codec = clientAfter("HEAD", "GET", "GET", "GET", "HEAD");
  const wire =
    "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" +
    "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n" +
    "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok" +
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const chunks of [[bytes(wire)], Array.from(bytes(wire), (b) => Uint8Array.of(b))]) {
    const c = chunks.length === 1 ? codec : clientAfter("HEAD", "GET", "GET", "GET", "HEAD");
    const { frames, src } = decodeAll(c, chunks);
    assert.equal(
      messages(frames).map((m) => [(m.head as ResponseHead).status, m.body, m.data, m.end]),
      [
        [200, false, undefined, undefined],
        [204, false, undefined, undefined],
        [304, false, undefined, undefined],
        [200, true, "ok", true],
        [200, false, undefined, undefined],
      ],
    );
    assert.is(src.length, 0);
  }
});

test("client codec: 1xx responses are skipped, the final one is decoded", () => {
  const wire =
    "HTTP/1.1 100 Continue\r\n\r\n" +
    "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" +
    "HTTP/1.1 102 Processing\r\n\r\n" +
    "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok" +
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n";
  for (const chunks of [[bytes(wire)], Array.from(bytes(wire), (b) => Uint8Array.of(b))]) {
    const ms = messages(decodeAll(clientAfter("GET", "POST"), chunks).frames);
    assert.equal(ms.map((m) => [(m.head as ResponseHead).status, m.data]), [[200, "ok"], [201, undefined]]);
  }
});

// ── Upgrade and CONNECT ─────────────────────────────────────────────────────

test("server codec: an Upgrade request pauses decoding (upgrade: true) with the new protocol's bytes left; resume() goes on", () => {
  const codec = httpServerCodec();
  const src = new ReadBuffer();
  src.push(bytes("GET /chat HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"));
  const f = codec.decode(src);
  assert.ok(f?.kind === "head");
  if (f?.kind !== "head") return;
  assert.is(f.upgrade, true);
  assert.is(f.body, false);
  assert.is(codec.decode(src), undefined);
  assert.is(codec.decode(src), undefined);
  assert.is(codec.decodeEof!(src), undefined, "paused at the end too");
  assert.is(src.length, 7, "the new protocol's bytes stay in the buffer");
  assert.is(latin1(src.take(7)), "\x81\x05hello");

  // Declined: the next bytes are HTTP again.
  const declined = httpServerCodec();
  const src2 = new ReadBuffer();
  src2.push(bytes("GET /chat HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n"));
  assert.is((declined.decode(src2) as { upgrade?: boolean }).upgrade, true);
  assert.is(declined.decode(src2), undefined);
  declined.resume();
  const next = declined.decode(src2);
  assert.ok(next?.kind === "head" && (next.head as RequestHead).target === "/next" && next.upgrade === undefined);
  declined.resume(); // not paused: nothing happens
  assert.is(declined.decode(src2), undefined);

  // Not upgrades: Upgrade without Connection: upgrade, or in HTTP/1.0.
  for (const wire of ["GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n", "GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nX-Not-Upgrade: upgrade\r\n\r\n"]) {
    const [g] = serverDecodes(wire);
    assert.ok(g?.kind === "head" && g.upgrade === undefined, wire);
  }
  // An upgrade with a body is refused.
  throwsStatus(() => serverDecodes("POST / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 3\r\n\r\nabc"), 400, "upgrade with a body");
});

test("server codec: CONNECT pauses decoding; split byte by byte the same", () => {
  const wire = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01";
  for (const chunks of [[bytes(wire)], Array.from(bytes(wire), (b) => Uint8Array.of(b))]) {
    const { frames, src } = decodeAll(httpServerCodec(), chunks);
    assert.equal(messages(frames), [{ head: { method: "CONNECT", target: "example.com:443", minor: 1, headers: ["host", "example.com:443"] }, body: false, upgrade: true }]);
    assert.is(latin1(src.take(src.length)), "\x16\x03\x01");
  }
});

test("client codec: 101 and a 2xx to CONNECT pause decoding; a refusal is an ordinary response", () => {
  const codec = clientAfter("GET");
  const { frames, src } = decodeAll(codec, [bytes("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x02hi")]);
  assert.equal(messages(frames), [{ head: { status: 101, statusText: "Switching Protocols", minor: 1, headers: ["connection", "upgrade", "upgrade", "websocket"] }, body: false, upgrade: true }]);
  assert.is(src.length, 4);

  const tunnel = decodeAll(clientAfter("CONNECT"), [bytes("HTTP/1.1 200 Connection Established\r\n\r\nSSH-2.0")]);
  assert.equal(messages(tunnel.frames).map((m) => [(m.head as ResponseHead).status, m.upgrade]), [[200, true]]);
  assert.is(tunnel.src.length, 7);

  const refused = messages(decodeText(clientAfter("CONNECT", "GET"), "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 4\r\n\r\nnopeHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
  assert.equal(refused.map((m) => [(m.head as ResponseHead).status, m.upgrade, m.data]), [[407, undefined, "nope"], [200, undefined, undefined]]);

  // Declined upgrade: a 200 to an Upgrade request is an ordinary response.
  const declined = messages(decodeText(clientAfter("GET"), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno"));
  assert.equal(declined.map((m) => [m.upgrade, m.data]), [[undefined, "no"]]);

  // resume() after a 101: HTTP again.
  const resumed = clientAfter("GET", "GET");
  const src2 = new ReadBuffer();
  src2.push(bytes("HTTP/1.1 101 Switching Protocols\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
  assert.is((resumed.decode(src2) as { upgrade?: boolean }).upgrade, true);
  assert.is(resumed.decode(src2), undefined);
  resumed.resume();
  assert.is((resumed.decode(src2) as { head: ResponseHead }).head.status, 200);
});

// ── Properties: any split, the same messages ────────────────────────────────

const tokenChars = "abcdefghijklmnopqrstuvwxyz0123456789-!#$%&'*+.^_`|~";
const token = fc.array(fc.constantFrom(...tokenChars), { minLength: 1, maxLength: 12 }).map((cs) => cs.join(""));
/** A field value as the decoder gives it back: Latin-1 text without controls, trimmed. */
const fieldValue = fc
  .array(fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f), { maxLength: 20 })
  .map((cs) => String.fromCharCode(...cs).trim());
const fields = fc.array(fc.tuple(token.map((t) => `x-${t}`), fieldValue), { maxLength: 5 }).map((pairs) => pairs.flat());
const payload = fc.uint8Array({ maxLength: 200 });
const pieces = fc.array(fc.uint8Array({ maxLength: 60 }), { maxLength: 5 });
const target = fc.stringMatching(/^\/[A-Za-z0-9._~!$&'()*+,;=:@\/?%-]{0,40}$/);

/** A message body as a test describes it: how it is framed on the way out. */
type BodySpec =
  | { mode: "none" }
  | { mode: "whole"; data: Uint8Array }
  | { mode: "declared"; pieces: Uint8Array[] }
  | { mode: "chunked"; pieces: Uint8Array[]; trailers: HeaderList };

const bodySpec: fc.Arbitrary<BodySpec> = fc.oneof(
  fc.constant<BodySpec>({ mode: "none" }),
  payload.map<BodySpec>((data) => ({ mode: "whole", data })),
  pieces.map<BodySpec>((p) => ({ mode: "declared", pieces: p })),
  fc.tuple(pieces, fields).map<BodySpec>(([p, trailers]) => ({ mode: "chunked", pieces: p, trailers })),
);

function total(p: Uint8Array[]): number {
  return p.reduce((n, c) => n + c.length, 0);
}

/** The frames that send a message with `head`, and the Message the other side must decode. */
function framesOf<H extends { headers: HeaderList }>(head: H, body: BodySpec, noBody: boolean, autoEmptyLength: boolean, headLength = false): { frames: HttpFrame<H>[]; expected: Message } {
  const frames: HttpFrame<H>[] = [];
  const wireHeaders = [...head.headers];
  let expected: Message;
  const data = (p: Uint8Array[]) => p.map(latin1).join("");
  switch (body.mode) {
    case "none":
      frames.push({ kind: "head", head, body: false });
      if (autoEmptyLength && !noBody) wireHeaders.push("content-length", "0");
      expected = { head: { ...head, headers: wireHeaders }, body: false };
      break;
    case "whole":
      frames.push({ kind: "head", head, body: body.data });
      // A response to HEAD says the length of a whole body it was given, without sending it.
      if (!noBody || headLength) wireHeaders.push("content-length", String(body.data.length));
      expected = noBody || body.data.length === 0 ? { head: { ...head, headers: wireHeaders }, body: false } : { head: { ...head, headers: wireHeaders }, body: true, data: latin1(body.data), end: true };
      break;
    case "declared": {
      const h = { ...head, headers: [...head.headers, "content-length", String(total(body.pieces))] };
      frames.push({ kind: "head", head: h, body: true });
      for (const chunk of body.pieces) frames.push({ kind: "chunk", chunk });
      frames.push({ kind: "end" });
      expected = noBody || total(body.pieces) === 0 ? { head: h, body: false } : { head: h, body: true, data: data(body.pieces), end: true };
      break;
    }
    case "chunked": {
      frames.push({ kind: "head", head, body: true });
      for (const chunk of body.pieces) frames.push({ kind: "chunk", chunk });
      frames.push({ kind: "end", trailers: body.trailers });
      if (noBody) {
        expected = { head: { ...head, headers: wireHeaders }, body: false };
        break;
      }
      wireHeaders.push("transfer-encoding", "chunked");
      expected = { head: { ...head, headers: wireHeaders }, body: true, end: true };
      if (total(body.pieces) > 0) expected.data = data(body.pieces);
      if (body.trailers.length > 0) expected.trailers = body.trailers;
    }
  }
  return { frames, expected };
}

const request = fc.record({
  method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "QUERY"),
  target,
  headers: fields,
  body: bodySpec,
});

test("requests: client-encoded, split anywhere, server-decoded: the same messages", () => {
  fc.assert(
    fc.property(fc.array(request, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), (reqs, cuts) => {
      const client = httpClientCodec();
      const out = new WriteBuffer();
      const expected: Message[] = [];
      for (const r of reqs) {
        const head: RequestHead = { method: r.method, target: r.target, minor: 1, headers: ["host", "example.com", ...r.headers] };
        const { frames, expected: m } = framesOf(head, r.body, false, false);
        for (const f of frames) client.encode(f, out);
        expected.push(m);
      }
      const wire = out.bytes().slice();
      const whole = messages(decodeAll(httpServerCodec(), [wire]).frames);
      assert.equal(whole, expected);
      assert.equal(messages(decodeAll(httpServerCodec(), split(wire, cuts)).frames), expected, "split at random");
      assert.equal(messages(decodeAll(httpServerCodec(), Array.from(wire, (b) => Uint8Array.of(b))).frames), expected, "one byte at a time");
    }),
    { numRuns: RUNS },
  );
});

const exchange = fc.record({
  method: fc.constantFrom("GET", "GET", "POST", "HEAD"),
  status: fc.constantFrom(200, 201, 204, 304, 404, 500, 299),
  statusText: fc.constantFrom("", "Fine", "Custom reason"),
  headers: fields,
  body: bodySpec,
  interim: fc.boolean(),
});

test("responses: server-encoded, split anywhere, client-decoded: the same messages (a last HTTP/1.0 one until close)", () => {
  fc.assert(
    fc.property(
      fc.array(exchange, { maxLength: 6 }),
      fc.option(pieces, { nil: undefined }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (exchanges, closeDelimited, cuts) => {
        // The requests, as the client codec sends them and the server codec reads them.
        const requests = new WriteBuffer();
        const methods = exchanges.map((x) => x.method);
        const sendRequests = (client: ReturnType<typeof httpClientCodec>, out: WriteBuffer) => {
          for (const method of methods) client.encode({ kind: "head", head: { method, target: "/", minor: 1, headers: ["host", "x"] }, body: false }, out);
          if (closeDelimited) client.encode({ kind: "head", head: { method: "GET", target: "/last", minor: 0, headers: [] }, body: false }, out);
        };
        sendRequests(httpClientCodec(), requests);
        const server = httpServerCodec();
        const requestFrames = decodeAll(server, [requests.bytes().slice()]).frames;
        assert.is(requestFrames.length, methods.length + (closeDelimited ? 1 : 0));

        const out = new WriteBuffer();
        const expected: Message[] = [];
        for (const x of exchanges) {
          if (x.interim) server.encode({ kind: "head", head: { status: 100, statusText: "", minor: 1, headers: [] }, body: false }, out);
          const head: ResponseHead = { status: x.status, statusText: x.statusText, minor: 1, headers: x.headers };
          const noBody = x.method === "HEAD" || x.status === 204 || x.status === 304;
          const headLength = x.method === "HEAD" && x.status !== 204 && x.status !== 304;
          const { frames, expected: m } = framesOf(head, x.body, noBody, true, headLength);
          for (const f of frames) server.encode(f, out);
          const standard: Record<number, string> = { 200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified", 404: "Not Found", 500: "Internal Server Error", 299: "" };
          (m.head as ResponseHead).statusText = x.statusText || standard[x.status]!;
          expected.push(m);
        }
        if (closeDelimited) {
          server.encode({ kind: "head", head: { status: 200, statusText: "", minor: 1, headers: ["connection", "close"] }, body: true }, out);
          for (const chunk of closeDelimited) server.encode({ kind: "chunk", chunk }, out);
          server.encode({ kind: "end" }, out);
          const m: Message = { head: { status: 200, statusText: "OK", minor: 1, headers: ["connection", "close"] }, body: true, end: true };
          if (total(closeDelimited) > 0) m.data = closeDelimited.map(latin1).join("");
          expected.push(m);
        }
        const wire = out.bytes().slice();
        const decode = (chunks: Uint8Array[]) => {
          const client = httpClientCodec();
          sendRequests(client, new WriteBuffer());
          const { frames, src } = decodeAll(client, chunks);
          assert.is(src.length, 0, "nothing left over");
          return messages(frames);
        };
        assert.equal(decode([wire]), expected);
        assert.equal(decode(split(wire, cuts)), expected, "split at random");
        assert.equal(decode(Array.from(wire, (b) => Uint8Array.of(b))), expected, "one byte at a time");
      },
    ),
    { numRuns: RUNS },
  );
});

/** Decodes `chunks`; frames, then nothing or a FrameError: never another exception, never a loop. */
function framesOrFrameError(make: () => AnyCodec, chunks: Uint8Array[]): void {
  try {
    decodeAll(make(), chunks);
  } catch (error) {
    if (!(error instanceof FrameError)) throw error;
  }
}

test("random bytes and damaged messages give messages or a FrameError, nothing else", () => {
  const valid = bytes(
    "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
      "PUT /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n" +
      "GET /c HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: y\r\n\r\n",
  );
  const validResponses = bytes(
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" +
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n" +
      "HTTP/1.1 200 OK\r\n\r\nuntil close",
  );
  const cuts = fc.array(fc.nat(), { maxLength: 8 });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), cuts, (b, c) => {
      framesOrFrameError(() => httpServerCodec(), split(b, c));
      framesOrFrameError(() => clientAfter("GET", "HEAD", "GET"), split(b, c));
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), cuts, (changes, c) => {
      const req = valid.slice();
      const res = validResponses.slice();
      for (const [at, value] of changes) {
        req[at % req.length] = value;
        res[at % res.length] = value;
      }
      framesOrFrameError(() => httpServerCodec(), split(req, c));
      framesOrFrameError(() => clientAfter("GET", "GET", "GET"), split(res, c));
    }),
    { numRuns: RUNS },
  );
});

test.run();
