/**
 * weft/resp codecs: properties (split anywhere, round trips, random and
 * mutated bytes), every type byte for byte in RESP2 and RESP3, inline
 * commands as redis-server splits them, and the limits.
 */
import fc from "fast-check";
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { type Codec, FrameError, ReadBuffer, WriteBuffer } from "../../mod.ts";
import {
  DEFAULT_MAX_BULK_BYTES,
  Push,
  respCodec,
  RespError,
  respServerCodec,
  type RespValue,
  SimpleString,
  Verbatim,
} from "../../src/protocols/resp/mod.ts";
import { codecProperties, decodeChunks, RUNS, split } from "../codec/_properties.ts";
import { plainValue, respValue } from "./_values.ts";

const test = suite("resp: codec");
const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (b: Uint8Array) => dec.decode(b);

/** Replies: encoded by the server codec (RESP3), decoded by the client codec. */
function replyCodec(bulkAs: "text" | "bytes", protocol: 2 | 3 = 3): Codec<RespValue, RespValue> {
  const client = respCodec({ bulkAs });
  const server = respServerCodec({ protocol });
  return {
    decode: (src) => client.decode(src),
    decodeMany: (src, out) => client.decodeMany!(src, out),
    decodeEof: (src) => client.decodeEof!(src),
    encode: (value, dst) => server.encode(value, dst),
  };
}

/** Commands: encoded by the client codec, decoded by the server codec. */
function commandCodec(): Codec<Uint8Array[], (string | Uint8Array)[]> {
  const client = respCodec();
  const server = respServerCodec();
  return {
    decode: (src) => server.decode(src),
    decodeMany: (src, out) => server.decodeMany!(src, out),
    decodeEof: (src) => server.decodeEof!(src),
    encode: (command, dst) => client.encode(command, dst),
  };
}

function wrapPlain<In>(make: () => Codec<In, RespValue>, textMode: boolean): () => Codec<unknown, RespValue> {
  // codecProperties compares with its own plain(); decoding straight to the plain form keeps Map, Set and classes comparable.
  return () => {
    const c = make();
    return {
      decode: (src) => {
        const v = c.decode(src);
        return v === undefined ? undefined : plainValue(v, textMode);
      },
      decodeMany: (src, out) => {
        const got: In[] = [];
        try {
          c.decodeMany!(src, got);
        } finally {
          for (const v of got) out.push(plainValue(v, textMode));
        }
      },
      decodeEof: (src) => {
        const v = c.decodeEof!(src);
        return v === undefined ? undefined : plainValue(v, textMode);
      },
      encode: (v, dst) => c.encode(v, dst),
    };
  };
}

// ── Properties ──────────────────────────────────────────────────────────────

codecProperties(test, {
  name: "replies, RESP3, bulk as bytes",
  make: wrapPlain(() => replyCodec("bytes"), false),
  frames: fc.array(respValue, { maxLength: 8 }),
  decoded: (v) => plainValue(v, false, true),
});

codecProperties(test, {
  name: "replies, RESP3, bulk as text",
  make: wrapPlain(() => replyCodec("text"), true),
  frames: fc.array(respValue, { maxLength: 8 }),
  decoded: (v) => plainValue(v, true, true),
});

const arg = fc.oneof(fc.string({ maxLength: 30 }), fc.uint8Array({ maxLength: 60 }));
codecProperties(test, {
  name: "commands",
  make: commandCodec,
  frames: fc.array(fc.array(arg, { minLength: 1, maxLength: 6 }), { maxLength: 8 }),
  decoded: (c) => c.map((a) => (typeof a === "string" ? enc.encode(a) : a)),
});

test("inline commands: random lines give commands or a FrameError", () => {
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 30 }), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 6 }), (ls, cuts) => {
      const bytes = enc.encode(ls.map((l) => l.replace(/^\*/, "") + "\r\n").join(""));
      try {
        decodeChunks(respServerCodec(), split(bytes, cuts));
      } catch (e) {
        if (!(e instanceof FrameError)) throw e;
      }
    }),
    { numRuns: RUNS },
  );
});

// ── Bytes ───────────────────────────────────────────────────────────────────

function encodeReply(value: RespValue, protocol: 2 | 3): string {
  const out = new WriteBuffer();
  respServerCodec({ protocol }).encode(value, out);
  return text(out.bytes());
}

function decodeReply(wire: string, bulkAs: "text" | "bytes" = "text"): RespValue[] {
  return decodeChunks(respCodec({ bulkAs }), [enc.encode(wire)]);
}

test("replies encode byte for byte in RESP2 and RESP3", () => {
  const cases: [RespValue, string, string][] = [
    [new SimpleString("OK"), "+OK\r\n", "+OK\r\n"],
    ["héllo", "$6\r\nhéllo\r\n", "$6\r\nhéllo\r\n"],
    [enc.encode("a\r\nb"), "$4\r\na\r\nb\r\n", "$4\r\na\r\nb\r\n"],
    ["", "$0\r\n\r\n", "$0\r\n\r\n"],
    [new RespError("ERR bad\r\nthing"), "-ERR bad  thing\r\n", "-ERR bad  thing\r\n"],
    [42, ":42\r\n", ":42\r\n"],
    [-7, ":-7\r\n", ":-7\r\n"],
    [3.5, "$3\r\n3.5\r\n", ",3.5\r\n"],
    [Infinity, "$3\r\ninf\r\n", ",inf\r\n"],
    [-Infinity, "$4\r\n-inf\r\n", ",-inf\r\n"],
    [NaN, "$3\r\nnan\r\n", ",nan\r\n"],
    [2n ** 62n, ":4611686018427387904\r\n", ":4611686018427387904\r\n"],
    [2n ** 64n, "$20\r\n18446744073709551616\r\n", "(18446744073709551616\r\n"],
    [true, ":1\r\n", "#t\r\n"],
    [false, ":0\r\n", "#f\r\n"],
    [null, "$-1\r\n", "_\r\n"],
    [[1, "a"], "*2\r\n:1\r\n$1\r\na\r\n", "*2\r\n:1\r\n$1\r\na\r\n"],
    [[], "*0\r\n", "*0\r\n"],
    [new Map<RespValue, RespValue>([["k", 1]]), "*2\r\n$1\r\nk\r\n:1\r\n", "%1\r\n$1\r\nk\r\n:1\r\n"],
    [new Set<RespValue>(["x"]), "*1\r\n$1\r\nx\r\n", "~1\r\n$1\r\nx\r\n"],
    [new Push(["message", "ch", "hi"]), "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"],
    [new Verbatim("txt", "Some string"), "$11\r\nSome string\r\n", "=15\r\ntxt:Some string\r\n"],
  ];
  for (const [value, resp2, resp3] of cases) {
    assert.is(encodeReply(value, 2), resp2, `RESP2 of ${resp3.trim()}`);
    assert.is(encodeReply(value, 3), resp3);
  }
});

test("every RESP3 type decodes", () => {
  const got = decodeReply(
    "+OK\r\n-WRONGTYPE no\r\n:-12\r\n:9007199254740993\r\n$5\r\nhello\r\n$-1\r\n*-1\r\n_\r\n#t\r\n#f\r\n" +
      ",1.5\r\n,inf\r\n,-inf\r\n,nan\r\n,1e3\r\n(3492890328409238509324850943850943825024385\r\n" +
      "!21\r\nSYNTAX invalid syntax\r\n=15\r\ntxt:Some string\r\n*2\r\n*1\r\n:1\r\n$0\r\n\r\n" +
      "%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n~2\r\n+x\r\n+y\r\n>2\r\n+pubsub\r\n+m\r\n|1\r\n+ttl\r\n:3600\r\n+after-attribute\r\n",
  );
  assert.is(got.length, 23);
  assert.is(got[0], "OK");
  assert.ok(got[1] instanceof RespError && got[1].prefix === "WRONGTYPE" && got[1].message === "WRONGTYPE no");
  assert.is(got[2], -12);
  assert.is(got[3], 9007199254740993n);
  assert.is(got[4], "hello");
  assert.equal(got.slice(5, 8), [null, null, null]);
  assert.equal(got.slice(8, 10), [true, false]);
  assert.is(got[10], 1.5);
  assert.is(got[11], Infinity);
  assert.is(got[12], -Infinity);
  assert.ok(Number.isNaN(got[13]));
  assert.is(got[14], 1000);
  assert.is(got[15], 3492890328409238509324850943850943825024385n);
  assert.ok(got[16] instanceof RespError && got[16].prefix === "SYNTAX");
  assert.ok(got[17] instanceof Verbatim && got[17].format === "txt" && got[17].text === "Some string");
  assert.equal(got[18], [[1], ""]);
  assert.equal([...(got[19] as Map<RespValue, RespValue>)], [["a", 1], ["b", 2]]);
  assert.equal([...(got[20] as Set<RespValue>)], ["x", "y"]);
  assert.ok(got[21] instanceof Push && got[21].values.join() === "pubsub,m");
  assert.is(got[22], "after-attribute"); // the attribute before it is skipped
});

test("bulk strings: text when UTF-8, bytes when not, or always bytes", () => {
  const [a, b] = decodeReply("$2\r\nhi\r\n$2\r\n\xff\xfe\r\n".replace(/\xff\xfe/, "\u00ff"), "text");
  assert.is(a, "hi");
  assert.is(typeof b, "string"); // "ÿ" is UTF-8 (2 bytes)
  const raw = new Uint8Array([0x24, 0x31, 0x0d, 0x0a, 0xff, 0x0d, 0x0a]);
  const [c] = decodeChunks(respCodec(), [raw]);
  assert.ok(c instanceof Uint8Array && c[0] === 0xff);
  const [d, e] = decodeReply("+OK\r\n$2\r\nOK\r\n", "bytes");
  assert.is(d, "OK");
  assert.ok(e instanceof Uint8Array && text(e) === "OK");
});

test("commands encode as arrays of bulk strings", () => {
  const out = new WriteBuffer();
  respCodec().encode(["SET", "ключ", enc.encode("v"), 10, -2.5], out);
  assert.is(text(out.bytes()), "*5\r\n$3\r\nSET\r\n$8\r\nключ\r\n$1\r\nv\r\n$2\r\n10\r\n$4\r\n-2.5\r\n");
  assert.throws(() => respCodec().encode([], out), TypeError);
  const before = out.length;
  assert.throws(() => respCodec().encode(["SET", {} as never], out), TypeError);
  assert.is(out.length, before, "nothing of a command that cannot be encoded");
});

test("malformed replies are FrameErrors with codes", () => {
  const cases: [string, string][] = [
    ["?x\r\n", "invalid-frame"],
    ["+OK\n", "invalid-frame"],
    ["$-2\r\n", "invalid-frame"],
    ["$x\r\n", "invalid-frame"],
    ["$3\r\nabcd\r\n", "invalid-frame"],
    [":1.5\r\n", "invalid-frame"],
    [",abc\r\n", "invalid-frame"],
    ["#x\r\n", "invalid-frame"],
    ["_x\r\n", "invalid-frame"],
    ["=3\r\ntxt\r\n", "invalid-frame"],
    ["*2\r\n:1\r\n", "unexpected-eof"],
    ["$5\r\nab", "unexpected-eof"],
  ];
  for (const [wire, code] of cases) {
    try {
      decodeReply(wire);
      assert.unreachable(`${JSON.stringify(wire)} decoded`);
    } catch (e) {
      assert.ok(e instanceof FrameError, String(e));
      assert.is(e.code, code, JSON.stringify(wire));
    }
  }
});

// ── Inline commands, as redis-server splits them ────────────────────────────

function commands(wire: string | Uint8Array): string[][] {
  const bytes = typeof wire === "string" ? enc.encode(wire) : wire;
  return decodeChunks(respServerCodec(), [bytes]).map((c) => c.map(text));
}

test("inline commands: words, quotes and escapes", () => {
  assert.equal(commands("PING\r\n"), [["PING"]]);
  assert.equal(commands("SET  a   b\n"), [["SET", "a", "b"]]);
  assert.equal(commands('SET k "a b\\n\\x41\\"" \'it\\\'s\'\r\n'), [["SET", "k", 'a b\nA"', "it's"]]);
  assert.equal(commands('ECHO a"b c"\r\n'), [["ECHO", "ab c"]]);
  assert.equal(commands('ECHO ""\r\n'), [["ECHO", ""]]);
  assert.equal(commands("\r\n\r\n  \r\nPING\r\n"), [["PING"]], "blank lines are skipped");
  assert.equal(commands("*0\r\n*-1\r\nPING\r\n"), [["PING"]], "empty multibulks are skipped");
  assert.equal(commands("PING\r\n*1\r\n$4\r\nPING\r\nPING\r\n"), [["PING"], ["PING"], ["PING"]]);
});

function protocolError(wire: string | Uint8Array, chunks = false): FrameError {
  const bytes = typeof wire === "string" ? enc.encode(wire) : wire;
  try {
    decodeChunks(respServerCodec(), chunks ? Array.from(bytes, (b) => Uint8Array.of(b)) : [bytes]);
  } catch (e) {
    if (e instanceof FrameError) return e;
    throw e;
  }
  throw new Error(`${JSON.stringify(wire)} decoded`);
}

test("malformed commands get redis-server's protocol error texts", () => {
  const cases: [string, string][] = [
    ['SET k "abc\r\n', "Protocol error: unbalanced quotes in request"],
    ['SET k "abc"d\r\n', "Protocol error: unbalanced quotes in request"],
    ["*1\r\n:1\r\n", "Protocol error: expected '$', got ':'"],
    ["*x\r\n", "Protocol error: invalid multibulk length"],
    ["*1\r\n$-5\r\n", "Protocol error: invalid bulk length"],
    ["*1\r\n$abc\r\n", "Protocol error: invalid bulk length"],
    ["*1\r\n$1073741824\r\n", "Protocol error: invalid bulk length"],
    ["*99999999999\r\n", "Protocol error: invalid multibulk length"],
  ];
  for (const [wire, message] of cases) {
    assert.is(protocolError(wire).message, message, JSON.stringify(wire));
    assert.is(protocolError(wire, true).message, message, `${JSON.stringify(wire)} byte by byte`);
  }
  assert.is(protocolError("A".repeat(70_000)).message, "Protocol error: too big inline request");
  assert.is(protocolError("*" + "1".repeat(70_000)).message, "Protocol error: too big mbulk count string");
  assert.is(protocolError("*1\r\n$" + "1".repeat(70_000)).message, "Protocol error: too big bulk count string");
});

// ── Limits ──────────────────────────────────────────────────────────────────

test("a 1 GiB bulk header is refused before its payload is held", () => {
  for (const make of [() => respServerCodec(), () => respCodec()]) {
    const codec = make();
    const src = new ReadBuffer();
    const header = make === respCodec as unknown ? "" : "";
    src.push(enc.encode(`${header}*1\r\n$1073741824\r\n`));
    src.push(new Uint8Array(1024)); // the first KiB of the payload
    try {
      codec.decode(src);
      assert.unreachable("decoded");
    } catch (e) {
      assert.ok(e instanceof FrameError && e.code === "frame-too-large", String(e));
    }
  }
  assert.is(DEFAULT_MAX_BULK_BYTES, 64 * 1024 * 1024);
});

test("a bulk at the limit is accepted, one byte more is not", () => {
  const codec = respServerCodec({ maxBulkBytes: 10 });
  assert.equal(decodeChunks(codec, [enc.encode("*1\r\n$10\r\n0123456789\r\n")]).map((c) => c.map(text)), [["0123456789"]]);
  assert.is(protocolErrorWith({ maxBulkBytes: 10 }, "*1\r\n$11\r\n").code, "frame-too-large");
});

function protocolErrorWith(options: Parameters<typeof respServerCodec>[0], wire: string): FrameError {
  try {
    decodeChunks(respServerCodec(options), [enc.encode(wire)]);
  } catch (e) {
    if (e instanceof FrameError) return e;
    throw e;
  }
  throw new Error("decoded");
}

function replyError(options: Parameters<typeof respCodec>[0], wire: string): FrameError {
  try {
    decodeChunks(respCodec(options), [enc.encode(wire)]);
  } catch (e) {
    if (e instanceof FrameError) return e;
    throw e;
  }
  throw new Error("decoded");
}

test("aggregate length, nesting depth, line length and value size are bounded", () => {
  assert.is(protocolErrorWith({ maxAggregateLength: 3 }, "*4\r\n").code, "frame-too-large");
  assert.is(replyError({ maxAggregateLength: 3 }, "*4\r\n").code, "frame-too-large");
  assert.is(replyError({ maxAggregateLength: 3 }, "%2\r\n").code, "frame-too-large", "map pairs count twice");
  assert.is(replyError({ maxNestingDepth: 3 }, "*1\r\n*1\r\n*1\r\n*1\r\n").code, "frame-too-large");
  assert.equal(decodeChunks(respCodec({ maxNestingDepth: 3 }), [enc.encode("*1\r\n*1\r\n*1\r\n:1\r\n")]), [[[[1]]]]);
  assert.is(replyError({ maxInlineBytes: 8 }, "+123456789\r\n").code, "frame-too-large");
  assert.is(replyError({ maxInlineBytes: 8 }, "+123456789").code, "frame-too-large");
  assert.is(replyError({ maxValueBytes: 30 }, "*3\r\n$5\r\nabcde\r\n$5\r\nabcde\r\n$5\r\n").code, "frame-too-large");
  assert.is(protocolErrorWith({ maxValueBytes: 30 }, "*3\r\n$5\r\nabcde\r\n$5\r\nabcde\r\n$5\r\n").code, "frame-too-large");
  assert.throws(() => respCodec({ maxBulkBytes: 0 }), RangeError);
  assert.throws(() => respServerCodec({ protocol: 4 as 3 }), RangeError);
});

test.run();
