/**
 * Fuzz targets of weft/http: httpServerCodec() decoding requests and
 * httpClientCodec() decoding responses (after it encoded the requests they
 * answer, so that it expects them). Valid streams are built by hand: leading
 * empty lines, HTTP/1.0 and 1.1, Content-Length and chunked bodies with
 * extensions and trailers, interim responses, upgrades and CONNECT (the
 * decoder pauses after them; the check resumes it, as a server that declines
 * the upgrade does).
 */
import fc from "fast-check";
import { WriteBuffer } from "../../mod.ts";
import { type HttpFrame, httpClientCodec, httpServerCodec, type RequestHead, type ResponseHead } from "../../src/protocols/http/mod.ts";
import { Broken, type FuzzTarget } from "./_fuzz.ts";
import { concat } from "./_inputs.ts";

/** Small limits, that inputs of a few hundred bytes reach. */
const LIMITS = { maxLineBytes: 48, maxHeadBytes: 160, maxHeaders: 5, maxChunkLineBytes: 16 };

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const field = fc.tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,8}$/), fc.stringMatching(/^[ -~\t]{0,12}$/))
  .map(([name, value]) => `${name}: ${value}\r\n`);
const fields = fc.array(field, { maxLength: 2 }).map((fs) => fs.join(""));
const target = fc.stringMatching(/^\/[A-Za-z0-9._~!$&'()*+,;=:@\/?%-]{0,16}$/);

type Body = { kind: "none" } | { kind: "length"; data: Uint8Array } | { kind: "chunked"; pieces: Uint8Array[]; ext: boolean; trailers: string } | { kind: "close"; data: Uint8Array };
const body: fc.Arbitrary<Body> = fc.oneof(
  fc.constant<Body>({ kind: "none" }),
  fc.uint8Array({ maxLength: 20 }).map<Body>((data) => ({ kind: "length", data })),
  fc.record({ kind: fc.constant("chunked" as const), pieces: fc.array(fc.uint8Array({ minLength: 1, maxLength: 12 }), { maxLength: 3 }), ext: fc.boolean(), trailers: fields }),
);

/** The framing fields and the bytes of `b`. */
function framing(b: Body): [string, Uint8Array] {
  switch (b.kind) {
    case "none":
      return ["", new Uint8Array(0)];
    case "length":
      return [`Content-Length: ${b.data.length}\r\n`, b.data];
    case "close":
      return ["", b.data];
    case "chunked": {
      const parts: Uint8Array[] = [];
      for (const p of b.pieces) parts.push(latin1(`${p.length.toString(16)}${b.ext ? ";e=1" : ""}\r\n`), p, latin1("\r\n"));
      parts.push(latin1(`0\r\n${b.trailers}\r\n`));
      return ["Transfer-Encoding: chunked\r\n", concat(parts)];
    }
  }
}

const request = fc.record({
  lead: fc.constantFrom("", "", "\r\n"),
  method: fc.constantFrom("GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "CONNECT"),
  target,
  minor: fc.constantFrom(1, 1, 1, 0),
  fields,
  body,
  upgrade: fc.boolean(),
}).map((r) => {
  const connect = r.method === "CONNECT";
  const upgrade = connect || (r.upgrade && r.minor === 1);
  const [framed, data] = upgrade ? ["", new Uint8Array(0)] : framing(r.minor === 0 && r.body.kind === "chunked" ? { kind: "none" } : r.body);
  const head = `${r.lead}${r.method} ${connect ? "example.com:443" : r.target} HTTP/1.${r.minor}\r\n` +
    `${r.minor === 1 ? "Host: x\r\n" : ""}${r.fields}${framed}${upgrade && !connect ? "Connection: Upgrade\r\nUpgrade: websocket\r\n" : ""}\r\n`;
  return concat([latin1(head), data]);
});

/** What the client codec sent: the responses must answer these, in order. */
const METHODS = ["GET", "HEAD", "POST", "GET", "CONNECT", "GET", "GET", "GET"];

const response = fc.record({
  interim: fc.boolean(),
  status: fc.constantFrom(200, 201, 204, 304, 404, 500, 101),
  reason: fc.constantFrom("", "OK", "Fine Thanks"),
  fields,
  body: fc.oneof(body, fc.uint8Array({ maxLength: 20 }).map<Body>((data) => ({ kind: "close", data }))),
});
const responses = fc.array(response, { maxLength: 6 }).map((rs) =>
  concat(rs.map((r, i) => {
    const method = METHODS[i] ?? "GET";
    const noBody = method === "HEAD" || r.status === 204 || r.status === 304 || r.status === 101 || (method === "CONNECT" && r.status < 300);
    const [framed, data] = noBody ? ["", new Uint8Array(0)] : framing(r.body);
    const head = `${r.interim ? "HTTP/1.1 100 Continue\r\n\r\n" : ""}HTTP/1.1 ${r.status}${r.reason ? ` ${r.reason}` : ""}\r\n${r.fields}${framed}\r\n`;
    return concat([latin1(head), data]);
  }))
);

const TOKENS = [
  "\r\n", "\r\n\r\n", "\n", "\r", " ", "\t", ": ", ",", ";e=1", "GET / HTTP/1.1\r\n", "POST /x HTTP/1.0\r\n", "CONNECT h:1 HTTP/1.1\r\n",
  "Host: x\r\n", "Content-Length: ", "Content-Length: 3\r\n", "Content-Length: 1, 1\r\n", "Content-Length: 1, 2\r\n",
  "Transfer-Encoding: chunked\r\n", "Transfer-Encoding: gzip, chunked\r\n", "Transfer-Encoding: gzip\r\n", "Connection: upgrade\r\nUpgrade: ws\r\n",
  "0\r\n\r\n", "0\r\nX-T: 1\r\n\r\n", "5\r\nhello\r\n", "fffffffffffff\r\n", "10000000000000\r\n", "HTTP/1.1 ", "HTTP/1.0 ", "HTTP/2.0 ",
  "HTTP/1.1 200 OK\r\n", "HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 101 Switching Protocols\r\n\r\n", "HTTP/1.1 099 x\r\n", " folded\r\n",
  Uint8Array.of(0x7f), Uint8Array.of(0xff), Uint8Array.of(0),
];

/** The frames of one connection, in the order HTTP allows, within the limits; resumes after an upgrade. */
function grammar(codec: { resume(): void }, what: string) {
  let inBody = false;
  let declared = -1; // a Content-Length body's length, -1 for other framings
  let received = 0;
  return (f: unknown): void => {
    const frame = f as HttpFrame<RequestHead | ResponseHead>;
    if (frame.kind === "head") {
      if (inBody) throw new Broken(`${what} gave a head inside a body`);
      const head = frame.head;
      if (head.headers.length % 2 !== 0 || head.headers.length / 2 > LIMITS.maxHeaders) throw new Broken(`${what} gave a head with ${head.headers.length / 2} fields`);
      if ("method" in head && head.method.length + head.target.length + 10 > LIMITS.maxLineBytes) throw new Broken(`${what} gave a request line over maxLineBytes`);
      if ("status" in head && (head.status < 100 || head.status > 999 || (head.status < 200 && head.status !== 101))) throw new Broken(`${what} gave status ${head.status}`);
      if (frame.upgrade && frame.body !== false) throw new Broken(`${what} gave an upgrade with a body`);
      inBody = frame.body === true;
      received = 0;
      declared = -1;
      const names = head.headers.filter((_, i) => i % 2 === 0);
      const length = head.headers[head.headers.indexOf("content-length") + 1];
      if (inBody && !names.includes("transfer-encoding") && names.includes("content-length")) declared = Number(length!.split(",")[0]);
      if (frame.upgrade) codec.resume();
    } else if (frame.kind === "chunk") {
      if (!inBody) throw new Broken(`${what} gave a body chunk outside a body`);
      if (!(frame.chunk instanceof Uint8Array) || frame.chunk.length === 0) throw new Broken(`${what} gave an empty body chunk`);
      received += frame.chunk.length;
      if (declared >= 0 && received > declared) throw new Broken(`${what} gave ${received} body bytes for a Content-Length of ${declared}`);
    } else if (frame.kind === "end") {
      if (!inBody) throw new Broken(`${what} gave an end outside a body`);
      if (declared >= 0 && received !== declared) throw new Broken(`${what} ended a body of ${received} bytes for a Content-Length of ${declared}`);
      if (frame.trailers !== undefined && frame.trailers.length / 2 > LIMITS.maxHeaders) throw new Broken(`${what} gave ${frame.trailers.length / 2} trailers`);
      inBody = false;
    } else {
      throw new Broken(`${what} gave a frame of kind ${JSON.stringify((frame as { kind: unknown }).kind)}`);
    }
  };
}

/** Body chunks joined: where they split depends on the chunks the bytes came in. */
function joinChunks(frames: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const f of frames) {
    const last = out[out.length - 1] as HttpFrame<unknown> | undefined;
    const frame = f as HttpFrame<unknown>;
    if (frame.kind === "chunk" && last?.kind === "chunk") out[out.length - 1] = { kind: "chunk", chunk: concat([last.chunk, frame.chunk]) };
    else out.push(f);
  }
  return out;
}

export const targets: FuzzTarget[] = [
  {
    name: `httpServerCodec(${JSON.stringify(LIMITS)})`,
    open: () => {
      const codec = httpServerCodec(LIMITS);
      return { decoder: codec, check: grammar(codec, "httpServerCodec()") };
    },
    // A head over maxHeadBytes, a chunk-size line over maxChunkLineBytes, is refused before its end is in; bodies are passed on as they come.
    heldBytes: Math.max(LIMITS.maxHeadBytes, LIMITS.maxChunkLineBytes),
    valid: fc.array(request, { maxLength: 4 }).map(concat),
    tokens: TOKENS,
    normalize: joinChunks,
  },
  {
    name: `httpClientCodec(${JSON.stringify(LIMITS)}) after ${METHODS.join(", ")}`,
    open: () => {
      const codec = httpClientCodec(LIMITS);
      const out = new WriteBuffer();
      for (const method of METHODS) {
        codec.encode({ kind: "head", head: { method, target: method === "CONNECT" ? "example.com:443" : "/", minor: 1, headers: ["host", "x"] }, body: false }, out);
      }
      return { decoder: codec, check: grammar(codec, "httpClientCodec()") };
    },
    heldBytes: Math.max(LIMITS.maxHeadBytes, LIMITS.maxChunkLineBytes),
    valid: responses,
    tokens: TOKENS,
    normalize: joinChunks,
  },
];
