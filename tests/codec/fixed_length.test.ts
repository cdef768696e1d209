/** fixedLength(): properties, views, the partial frame at EOF, encode and option checks. */
import fc from "fast-check";
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { DecoderStream, fixedLength, FrameError, ReadBuffer, WriteBuffer } from "../../mod.ts";
import { codecProperties, decodeChunks, plain } from "./_properties.ts";
import { streamOf } from "../_helpers.ts";

const test = suite("codec: fixedLength");

for (const size of [1, 3, 16]) {
  codecProperties(test, {
    name: `fixedLength(${size})`,
    make: () => fixedLength(size),
    frames: fc.array(fc.uint8Array({ minLength: size, maxLength: size }), { maxLength: 20 }),
  });
}

test("frames of exactly n bytes, views of the chunk they sit in", () => {
  const chunk = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
  const src = new ReadBuffer();
  src.push(chunk);
  const codec = fixedLength(3);
  const a = codec.decode(src)!;
  assert.equal(Array.from(a), [1, 2, 3]);
  assert.is(a.buffer, chunk.buffer, "not a view");
  assert.equal(Array.from(codec.decode(src)!), [4, 5, 6]);
  assert.is(codec.decode(src), undefined);
  assert.is(src.length, 2);
  src.push(Uint8Array.of(9, 10));
  assert.equal(Array.from(codec.decode(src)!), [7, 8, 9]); // spans two chunks: one copy
  assert.is(src.length, 1);
});

test("a stream that ends inside a frame is unexpected-eof; one that ends between frames is not", async () => {
  assert.equal(plain(decodeChunks(fixedLength(2), [Uint8Array.of(1, 2, 3, 4)])), [{ bytes: [1, 2] }, { bytes: [3, 4] }]);
  try {
    decodeChunks(fixedLength(4), [Uint8Array.of(1, 2, 3, 4, 5)]);
    assert.unreachable("accepted a partial frame");
  } catch (e) {
    assert.instance(e, FrameError);
    assert.is((e as FrameError).code, "unexpected-eof");
  }
  // Through a DecoderStream: the whole frame first, then the error.
  const got: number[][] = [];
  let error: unknown;
  try {
    for await (const f of streamOf([Uint8Array.of(1, 2, 3)]).pipeThrough(new DecoderStream(fixedLength(2)))) got.push(Array.from(f));
  } catch (e) {
    error = e;
  }
  assert.equal(got, [[1, 2]]);
  assert.is((error as FrameError).code, "unexpected-eof");
});

test("never holds more than a frame and a chunk", () => {
  const codec = fixedLength(1000);
  const src = new ReadBuffer();
  let frames = 0;
  for (let i = 0; i < 2000; i++) {
    src.push(new Uint8Array(333));
    while (codec.decode(src) !== undefined) frames++;
    assert.ok(src.length < 1000);
  }
  assert.is(frames, Math.floor((2000 * 333) / 1000));
});

test("encode writes the frame; any other size is a RangeError, other types a TypeError", () => {
  const codec = fixedLength(2);
  const dst = new WriteBuffer();
  codec.encode(Uint8Array.of(7, 8), dst);
  assert.equal(Array.from(dst.bytes()), [7, 8]);
  assert.throws(() => codec.encode(Uint8Array.of(1), dst), (e: Error) => e instanceof RangeError && /1 bytes instead of frameBytes 2/.test(e.message));
  assert.throws(() => codec.encode(Uint8Array.of(1, 2, 3), dst), RangeError);
  assert.throws(() => codec.encode("ab" as unknown as Uint8Array, dst), TypeError);
  assert.is(dst.length, 2, "a refused frame wrote nothing");
});

test("frameBytes must be a positive integer", () => {
  for (const bad of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(
      () => fixedLength(bad),
      (e: Error) => e instanceof RangeError && e.message.startsWith(`Invalid frameBytes ${String(bad)}: expected a positive integer`),
      String(bad),
    );
  }
  for (const [bad, shown] of [["4", '"4"'], [undefined, "undefined"]]) {
    assert.throws(
      () => fixedLength(bad as unknown as number),
      (e: Error) => e instanceof TypeError && e.message.startsWith(`Invalid frameBytes ${shown}: expected a positive integer`),
      shown,
    );
  }
});

test.run();
