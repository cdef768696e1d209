/** varintDelimited(): properties, byte-compatibility with it-length-prefixed both ways, bad varints, limits. */
import fc from "fast-check";
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { decode as lpDecode, encode as lpEncode } from "it-length-prefixed";
import { DEFAULT_MAX_VARINT_DELIMITED_BYTES, FrameError, ReadBuffer, varintDelimited, WriteBuffer } from "../../mod.ts";
import { codecProperties, decodeChunks, encodeAll, plain, RUNS, split } from "./_properties.ts";

const test = suite("codec: varintDelimited");

/** Payloads whose lengths need 1, 2 and 3 varint bytes. */
const payload = fc.oneof(
  { arbitrary: fc.uint8Array({ maxLength: 130 }), weight: 6 },
  { arbitrary: fc.integer({ min: 120, max: 17_000 }).map((n) => new Uint8Array(n).map((_, i) => (i * 31 + n) & 0xff)), weight: 1 },
);

codecProperties(test, { name: "varintDelimited()", make: () => varintDelimited(), frames: fc.array(payload, { maxLength: 12 }) });
codecProperties(test, {
  name: "varintDelimited({ maxFrameBytes: 200 })",
  make: () => varintDelimited({ maxFrameBytes: 200 }),
  frames: fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 12 }),
});

function concat(parts: Iterable<Uint8Array>): Uint8Array {
  const list = [...parts];
  const out = new Uint8Array(list.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of list) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

test("the default limit is it-length-prefixed's default max data length, 4 MiB", () => {
  assert.is(DEFAULT_MAX_VARINT_DELIMITED_BYTES, 4 * 1024 * 1024);
  const codec = varintDelimited();
  const dst = new WriteBuffer();
  codec.encode(new Uint8Array(DEFAULT_MAX_VARINT_DELIMITED_BYTES), dst);
  assert.throws(() => codec.encode(new Uint8Array(DEFAULT_MAX_VARINT_DELIMITED_BYTES + 1), new WriteBuffer()), RangeError);
  // it-length-prefixed refuses the same frame, with its own defaults.
  assert.throws(() => [...lpEncode([new Uint8Array(DEFAULT_MAX_VARINT_DELIMITED_BYTES + 1)])]);
});

test("it-length-prefixed encodes, weft decodes: the same frames, split anywhere", () => {
  fc.assert(
    fc.property(fc.array(payload, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 10 }), (frames, cuts) => {
      const bytes = concat(lpEncode(frames));
      assert.equal(plain(decodeChunks(varintDelimited(), split(bytes, cuts))), plain(frames));
    }),
    { numRuns: RUNS },
  );
});

test("weft encodes, it-length-prefixed decodes: the same frames and the same bytes", () => {
  fc.assert(
    fc.property(fc.array(payload, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 10 }), (frames, cuts) => {
      const bytes = encodeAll(varintDelimited(), frames);
      assert.equal(Array.from(bytes), Array.from(concat(lpEncode(frames))), "not byte-identical");
      const got = [...lpDecode(split(bytes, cuts))].map((list) => list.subarray());
      assert.equal(plain(got), plain(frames));
    }),
    { numRuns: RUNS },
  );
});

test("varint examples: 0, 1, 127, 128, 300, 16384", () => {
  const cases: [number, number[]][] = [[0, [0x00]], [1, [0x01]], [127, [0x7f]], [128, [0x80, 0x01]], [300, [0xac, 0x02]], [16384, [0x80, 0x80, 0x01]]];
  for (const [n, prefix] of cases) {
    const bytes = encodeAll(varintDelimited(), [new Uint8Array(n)]);
    assert.equal(Array.from(bytes.subarray(0, prefix.length)), prefix, `length ${n}`);
    assert.is(bytes.length, prefix.length + n);
  }
});

function failure(chunks: Uint8Array[], maxFrameBytes?: number): FrameError {
  try {
    decodeChunks(varintDelimited({ maxFrameBytes }), chunks);
  } catch (e) {
    assert.instance(e, FrameError);
    return e as FrameError;
  }
  throw assert.unreachable("decoded without an error");
}

test("padded, overlong and too large varints are invalid-frame; a length over the limit is frame-too-large at once", () => {
  // 0 padded to two bytes, 5 padded to three: longer than needed.
  assert.is(failure([Uint8Array.of(0x80, 0x00)]).code, "invalid-frame");
  assert.is(failure([Uint8Array.of(0x85, 0x80, 0x00, 1, 2, 3, 4, 5)]).code, "invalid-frame");
  // Continuation bytes only: refused at the eighth, without waiting for more.
  assert.is(failure([new Uint8Array(9).fill(0x80)]).code, "invalid-frame");
  // 2^53 exactly, in 8 bytes: past the safe integers.
  assert.is(failure([Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10)]).code, "invalid-frame");
  // 2^53 - 1: a valid varint, but far over the limit.
  assert.is(failure([Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f)]).code, "frame-too-large");
  // 4 MiB + 1, announced in a chunk of its own: fails before any payload arrives.
  const codec = varintDelimited();
  const src = new ReadBuffer();
  src.push(Uint8Array.of(0x81, 0x80, 0x80, 0x02));
  try {
    codec.decode(src);
    assert.unreachable("waited for the payload");
  } catch (e) {
    assert.is((e as FrameError).code, "frame-too-large");
    assert.ok((e as Error).message.includes("maxFrameBytes 4194304"), (e as Error).message);
  }
  assert.is(failure([Uint8Array.of(11)], 10).code, "frame-too-large");
});

test("a partial varint or payload waits; at the end it is unexpected-eof", () => {
  const codec = varintDelimited();
  const src = new ReadBuffer();
  src.push(Uint8Array.of(0xac));
  assert.is(codec.decode(src), undefined);
  src.push(Uint8Array.of(0x02, 1, 2));
  assert.is(codec.decode(src), undefined);
  assert.is(src.length, 4, "the varint stays until its frame is taken: a switch's leftover is exact");
  src.push(new Uint8Array(298));
  assert.is(codec.decode(src)?.length, 300);
  assert.is(src.length, 0);
  assert.is(failure([Uint8Array.of(0x05, 1, 2)]).code, "unexpected-eof");
  assert.is(failure([Uint8Array.of(0x05)]).code, "unexpected-eof", "a varint alone, then the end");
  assert.is(failure([Uint8Array.of(0x80)]).code, "unexpected-eof");
});

test("never holds more than the limit plus one chunk and a varint", () => {
  const codec = varintDelimited({ maxFrameBytes: 1000 });
  const dst = new WriteBuffer();
  for (let i = 0; i < 300; i++) codec.encode(new Uint8Array(i * 3 + 1), dst);
  const bytes = dst.bytes().slice();
  const src = new ReadBuffer();
  const decoder = varintDelimited({ maxFrameBytes: 1000 });
  let frames = 0;
  for (let at = 0; at < bytes.length; at += 257) {
    src.push(bytes.subarray(at, at + 257));
    while (decoder.decode(src) !== undefined) frames++;
    assert.ok(src.length <= 1000 + 2 + 257);
  }
  assert.is(frames, 300);
});

test("encode takes bytes only; options are checked", () => {
  assert.throws(() => varintDelimited().encode("x" as unknown as Uint8Array, new WriteBuffer()), TypeError);
  assert.throws(() => varintDelimited({ maxFrameBytes: 0 }), (e: Error) => e instanceof RangeError && e.message.startsWith("Invalid maxFrameBytes 0"));
  assert.throws(() => varintDelimited(null as unknown as object), TypeError);
});

test.run();
