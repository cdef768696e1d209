/** ReadBuffer and WriteBuffer: views where a frame sits in one chunk, one copy where it spans chunks. */
import fc from "fast-check";
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { ReadBuffer, WriteBuffer } from "../../mod.ts";
import { RUNS, split } from "./_properties.ts";

const test = suite("codec: ReadBuffer and WriteBuffer");

test("take() returns a view inside one chunk and a copy across chunks", () => {
  const buf = new ReadBuffer();
  const a = Uint8Array.of(1, 2, 3, 4);
  buf.push(a);
  buf.push(Uint8Array.of(5, 6));
  const view = buf.take(2);
  assert.is(view.buffer, a.buffer, "not a view");
  const spanning = buf.take(3);
  assert.equal(Array.from(spanning), [3, 4, 5]);
  assert.is.not(spanning.buffer, a.buffer);
  assert.is(buf.length, 1);
  assert.is(buf.byteAt(0), 6);
  assert.throws(() => buf.take(2), RangeError);
});

test("a take, peek or peekChunk of a whole chunk hands the chunk itself, with no view made", () => {
  const buf = new ReadBuffer();
  const a = Uint8Array.of(1, 2, 3);
  const b = Uint8Array.of(4, 5);
  buf.push(a);
  buf.push(b);
  assert.is(buf.peekChunk(), a);
  assert.is(buf.peek(3), a);
  assert.is(buf.take(3), a);
  assert.is(buf.peekChunk(), b);
  buf.skip(1);
  const rest = buf.peekChunk()!;
  assert.is.not(rest, b);
  assert.equal(Array.from(rest), [5]);
  assert.equal(Array.from(buf.take(1)), [5]);
  assert.is(buf.length, 0);
});

test("indexOf and indexOfSequence across chunk boundaries, from any start", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.array(fc.nat(), { maxLength: 10 }), fc.nat(), fc.integer({ min: 1, max: 3 }), (bytes, cuts, fromSeed, seqLen) => {
      const buf = new ReadBuffer();
      for (const c of split(bytes, cuts)) buf.push(c);
      const from = fromSeed % (bytes.byteLength + 1);
      const byte = bytes[fromSeed % bytes.byteLength]!;
      assert.is(buf.indexOf(byte, from), bytes.indexOf(byte, from));
      const start = fromSeed % bytes.byteLength;
      const seq = bytes.slice(start, start + seqLen);
      const naive = (() => {
        outer: for (let i = from; i + seq.length <= bytes.length; i++) {
          for (let j = 0; j < seq.length; j++) if (bytes[i + j] !== seq[j]) continue outer;
          return i;
        }
        return -1;
      })();
      assert.is(buf.indexOfSequence(seq, from), naive);
      assert.equal(Array.from(buf.peek(bytes.byteLength)), Array.from(bytes));
    }),
    { numRuns: RUNS },
  );
});

test("uint() reads big- and little-endian fields that straddle chunks", () => {
  const buf = new ReadBuffer();
  buf.push(Uint8Array.of(0x01));
  buf.push(Uint8Array.of(0x02, 0x03));
  buf.push(Uint8Array.of(0x04));
  assert.is(buf.uint(0, 4), 0x01020304);
  assert.is(buf.uint(0, 4, true), 0x04030201);
  assert.is(buf.uint(1, 3), 0x020304);
  buf.clear();
  buf.push(new Uint8Array(8).fill(0xff));
  assert.throws(() => buf.uint(0, 8), RangeError);
});

test("a long run of tiny chunks stays cheap and correct", () => {
  const buf = new ReadBuffer();
  for (let i = 0; i < 10_000; i++) buf.push(Uint8Array.of(i & 0xff));
  let sum = 0;
  while (buf.length > 0) sum += buf.take(1)[0]!;
  let expected = 0;
  for (let i = 0; i < 10_000; i++) expected += i & 0xff;
  assert.is(sum, expected);
  assert.is(buf.takeChunk(), undefined);
});

test("WriteBuffer grows, patches lengths, writes UTF-8 and integers of every width", () => {
  const w = new WriteBuffer(4);
  w.writeUint(0x0102, 2);
  w.writeUint(0x030405, 3);
  w.writeUint(0x06070809, 4, true);
  w.writeUint(2 ** 40 + 1, 8);
  w.writeUtf8("é€");
  w.writeByte(0x21);
  assert.equal(Array.from(w.bytes()), [1, 2, 3, 4, 5, 9, 8, 7, 6, 0, 0, 1, 0, 0, 0, 0, 1, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0x21]);
  w.setUint(0, 0xffff, 2);
  assert.is(w.bytes()[1], 0xff);
  assert.throws(() => w.writeUint(256, 1), RangeError);
  assert.throws(() => w.setUint(100, 1, 1), RangeError);
  w.clear();
  assert.is(w.length, 0);
  w.write(new Uint8Array(100_000));
  assert.is(w.length, 100_000);
});

test.run();
