/**
 * lengthDelimited(): properties over several header layouts; the worked
 * examples of tokio-util's length_delimited docs and Netty's
 * LengthFieldBasedFrameDecoder javadoc, byte for byte; limits checked before
 * the body; bad lengths; encode; options.
 */
import fc from "fast-check";
import * as assert from "uvu/assert";
import { suite } from "uvu";
import {
  DEFAULT_MAX_LENGTH_DELIMITED_BYTES,
  FrameError,
  lengthDelimited,
  type LengthDelimitedOptions,
  ReadBuffer,
  WriteBuffer,
} from "../../mod.ts";
import { codecProperties, decodeChunks, encodeAll, plain, RUNS, split } from "./_properties.ts";

const test = suite("codec: lengthDelimited");
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
const bytesOf = (...parts: (number | string)[]) => Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? ascii(p) : [p])));

// ── Properties: every layout that can encode round-trips ────────────────────

const layouts: [LengthDelimitedOptions, number, number][] = [
  // options, shortest frame (a positive lengthAdjustment needs that many bytes), longest frame in the test
  [{}, 0, 300],
  [{ lengthFieldBytes: 2, littleEndian: true }, 0, 300],
  [{ lengthFieldBytes: 1, lengthAdjustment: -1 }, 0, 254], // the field counts itself
  [{ lengthFieldOffset: 2, lengthFieldBytes: 3, lengthAdjustment: 2 }, 2, 300], // a 2-byte header after the field, not counted
  [{ lengthFieldOffset: 1, lengthFieldBytes: 2, lengthAdjustment: -3 }, 0, 300], // the field counts the whole frame
  [{ lengthFieldBytes: 8 }, 0, 300],
  [{ lengthFieldBytes: 8, littleEndian: true, lengthFieldOffset: 3 }, 0, 300],
  [{ lengthFieldBytes: 3, lengthAdjustment: 1, bytesToSkip: 4 }, 0, 300], // one skipped byte after the field
  [{ lengthFieldBytes: 2, bytesToSkip: 3 }, 0, 300], // the field counts the skipped byte
  [{ lengthFieldBytes: 2, maxFrameBytes: 40 }, 0, 40],
];
for (const [options, minLength, maxLength] of layouts) {
  codecProperties(test, {
    name: `lengthDelimited(${JSON.stringify(options)})`,
    make: () => lengthDelimited(options),
    frames: fc.array(fc.uint8Array({ minLength, maxLength }), { maxLength: 12 }),
  });
}

test("bytesToSkip 0 reads the same bytes with their headers; random bytes give frames or a FrameError", () => {
  const shapes: LengthDelimitedOptions[] = [{ lengthFieldBytes: 2 }, { lengthFieldOffset: 2, lengthFieldBytes: 3, lengthAdjustment: 2 }];
  for (const shape of shapes) {
    const header = (shape.lengthFieldOffset ?? 0) + (shape.lengthFieldBytes ?? 4);
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 2, maxLength: 100 }), { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 10 }), (frames, cuts) => {
        const wire = encodeAll(lengthDelimited(shape), frames);
        const whole = decodeChunks(lengthDelimited({ ...shape, bytesToSkip: 0 }), split(wire, cuts));
        assert.equal(plain(whole.map((f) => f.subarray(header))), plain(frames));
        assert.equal(Array.from(whole.flatMap((f) => Array.from(f))), Array.from(wire));
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
        try {
          decodeChunks(lengthDelimited({ ...shape, bytesToSkip: 0, maxFrameBytes: 500 }), split(bytes, cuts));
        } catch (e) {
          if (!(e instanceof FrameError)) throw e;
        }
      }),
      { numRuns: RUNS },
    );
  }
});

// ── The worked examples of the two projects' documentation ──────────────────

interface Example {
  name: string;
  options: LengthDelimitedOptions;
  input: Uint8Array;
  frame: Uint8Array;
}

/** Checks an example: the frame from the input, whole and split anywhere, twice in a row; and what encode gives back. */
function checkExample({ name, options, input, frame }: Example): void {
  const once = decodeChunks(lengthDelimited(options), [input.slice()]);
  assert.equal(plain(once), plain([frame]), name);
  const twice = new Uint8Array([...input, ...input]);
  assert.equal(plain(decodeChunks(lengthDelimited(options), Array.from(twice, (b) => Uint8Array.of(b)))), plain([frame, frame]), `${name}, byte by byte`);

  const header = (options.lengthFieldOffset ?? 0) + (options.lengthFieldBytes ?? 4);
  const skip = options.bytesToSkip ?? header;
  if (skip < header) {
    assert.throws(() => lengthDelimited(options).encode(frame, new WriteBuffer()), TypeError, `${name}: encode`);
    return;
  }
  // Encode writes the header's other bytes as zeros: the input with those zeroed.
  const expected = input.slice();
  expected.fill(0, 0, options.lengthFieldOffset ?? 0);
  expected.fill(0, header, skip);
  assert.equal(Array.from(encodeAll(lengthDelimited(options), [frame])), Array.from(expected), `${name}: encode`);
}

const HELLO = "HELLO, WORLD"; // Netty's payload: 12 bytes

test("Netty's LengthFieldBasedFrameDecoder examples: same settings, same frames", () => {
  const netty: Example[] = [
    {
      name: "2-byte length at offset 0, header kept",
      options: { lengthFieldOffset: 0, lengthFieldBytes: 2, lengthAdjustment: 0, bytesToSkip: 0 },
      input: bytesOf(0x00, 0x0c, HELLO),
      frame: bytesOf(0x00, 0x0c, HELLO),
    },
    {
      name: "2-byte length at offset 0, header stripped",
      options: { lengthFieldOffset: 0, lengthFieldBytes: 2, lengthAdjustment: 0, bytesToSkip: 2 },
      input: bytesOf(0x00, 0x0c, HELLO),
      frame: bytesOf(HELLO),
    },
    {
      name: "2-byte length of the whole message, header kept",
      options: { lengthFieldOffset: 0, lengthFieldBytes: 2, lengthAdjustment: -2, bytesToSkip: 0 },
      input: bytesOf(0x00, 0x0e, HELLO),
      frame: bytesOf(0x00, 0x0e, HELLO),
    },
    {
      name: "3-byte length at the end of a 5-byte header",
      options: { lengthFieldOffset: 2, lengthFieldBytes: 3, lengthAdjustment: 0, bytesToSkip: 0 },
      input: bytesOf(0xca, 0xfe, 0x00, 0x00, 0x0c, HELLO),
      frame: bytesOf(0xca, 0xfe, 0x00, 0x00, 0x0c, HELLO),
    },
    {
      name: "3-byte length at the start of a 5-byte header",
      options: { lengthFieldOffset: 0, lengthFieldBytes: 3, lengthAdjustment: 2, bytesToSkip: 0 },
      input: bytesOf(0x00, 0x00, 0x0c, 0xca, 0xfe, HELLO),
      frame: bytesOf(0x00, 0x00, 0x0c, 0xca, 0xfe, HELLO),
    },
    {
      name: "2-byte length at offset 1 of a 4-byte header, HDR1 and length stripped",
      options: { lengthFieldOffset: 1, lengthFieldBytes: 2, lengthAdjustment: 1, bytesToSkip: 3 },
      input: bytesOf(0xca, 0x00, 0x0c, 0xfe, HELLO),
      frame: bytesOf(0xfe, HELLO),
    },
    {
      name: "the same, the length counting the whole message",
      options: { lengthFieldOffset: 1, lengthFieldBytes: 2, lengthAdjustment: -3, bytesToSkip: 3 },
      input: bytesOf(0xca, 0x00, 0x10, 0xfe, HELLO),
      frame: bytesOf(0xfe, HELLO),
    },
  ];
  for (const example of netty) checkExample(example);
});

/** Settings as tokio-util's builder takes them. */
interface TokioSettings {
  lengthFieldOffset: number;
  lengthFieldLength: 1 | 2 | 3 | 4 | 8;
  lengthAdjustment: number;
  numSkip?: number;
}

/**
 * tokio's length_adjustment counts from the end of num_skip, weft's (like
 * Netty's) from the end of the length field: the same unless num_skip is set
 * to something other than the header.
 */
function fromTokio(t: TokioSettings): LengthDelimitedOptions {
  const header = t.lengthFieldOffset + t.lengthFieldLength;
  const numSkip = t.numSkip ?? header;
  return {
    lengthFieldOffset: t.lengthFieldOffset,
    lengthFieldBytes: t.lengthFieldLength,
    lengthAdjustment: t.lengthAdjustment + numSkip - header,
    bytesToSkip: numSkip,
  };
}

const Hello = "Hello world"; // tokio's payload: 11 bytes

test("tokio-util's length_delimited examples: the same frames, lengthAdjustment counted from the field's end", () => {
  const tokio: (Omit<Example, "options"> & { tokio: TokioSettings })[] = [
    {
      name: "example 1: u16 length at offset 0, head omitted",
      tokio: { lengthFieldOffset: 0, lengthFieldLength: 2, lengthAdjustment: 0 },
      input: bytesOf(0x00, 0x0b, Hello),
      frame: bytesOf(Hello),
    },
    {
      name: "example 2: u16 length at offset 0, head included",
      tokio: { lengthFieldOffset: 0, lengthFieldLength: 2, lengthAdjustment: 2, numSkip: 0 },
      input: bytesOf(0x00, 0x0b, Hello),
      frame: bytesOf(0x00, 0x0b, Hello),
    },
    {
      name: "example 3: u16 length counting the head, head omitted",
      tokio: { lengthFieldOffset: 0, lengthFieldLength: 2, lengthAdjustment: -2 },
      input: bytesOf(0x00, 0x0d, Hello),
      frame: bytesOf(Hello),
    },
    {
      name: "example 4: 3-byte length in a 5-byte head, head included",
      tokio: { lengthFieldOffset: 0, lengthFieldLength: 3, lengthAdjustment: 3 + 2, numSkip: 0 },
      input: bytesOf(0x00, 0x00, 0x0b, 0xca, 0xfe, Hello),
      frame: bytesOf(0x00, 0x00, 0x0b, 0xca, 0xfe, Hello),
    },
    {
      name: "example 5: u16 length at offset 1 of a 4-byte head, hdr2 kept",
      tokio: { lengthFieldOffset: 1, lengthFieldLength: 2, lengthAdjustment: 1, numSkip: 3 },
      input: bytesOf(0xca, 0x00, 0x0b, 0xfe, Hello),
      frame: bytesOf(0xfe, Hello),
    },
    {
      name: "example 6: the same, the length counting the whole frame",
      tokio: { lengthFieldOffset: 1, lengthFieldLength: 2, lengthAdjustment: -3, numSkip: 3 },
      input: bytesOf(0xca, 0x00, 0x0f, 0xfe, Hello),
      frame: bytesOf(0xfe, Hello),
    },
    {
      name: "example 7: 3-byte length, a 4th head byte skipped",
      tokio: { lengthFieldOffset: 0, lengthFieldLength: 3, lengthAdjustment: 0, numSkip: 4 },
      input: bytesOf(0x00, 0x00, 0x0b, 0xff, Hello),
      frame: bytesOf(Hello),
    },
  ];
  for (const { tokio: settings, ...rest } of tokio) {
    const options = fromTokio(settings);
    const header = settings.lengthFieldOffset + settings.lengthFieldLength;
    if (settings.numSkip === undefined || settings.numSkip === header) {
      assert.is(options.lengthAdjustment, settings.lengthAdjustment, `${rest.name}: tokio's own settings`);
    }
    checkExample({ ...rest, options });
  }
  // The module's own encoding examples.
  assert.equal(Array.from(encodeAll(lengthDelimited(), [bytesOf("hello world")])), Array.from(bytesOf(0, 0, 0, 0x0b, "hello world")));
  assert.equal(Array.from(encodeAll(lengthDelimited({ lengthFieldBytes: 2 }), [bytesOf("hello world")])), Array.from(bytesOf(0, 0x0b, "hello world")));
  assert.equal(plain(decodeChunks(lengthDelimited(), [bytesOf(0, 0, 0, 0x0b, "hello world")])), plain([bytesOf("hello world")]));
});

// ── Limits and bad lengths ──────────────────────────────────────────────────

function failure(options: LengthDelimitedOptions, input: Uint8Array): FrameError {
  try {
    decodeChunks(lengthDelimited(options), [input]);
  } catch (e) {
    assert.instance(e, FrameError);
    return e as FrameError;
  }
  throw assert.unreachable("decoded without an error");
}

test("a length over maxFrameBytes fails as soon as the header is in, before the body", () => {
  assert.is(DEFAULT_MAX_LENGTH_DELIMITED_BYTES, 8 * 1024 * 1024);
  const codec = lengthDelimited();
  const src = new ReadBuffer();
  src.push(Uint8Array.of(0x00, 0x80)); // half a header: wait
  assert.is(codec.decode(src), undefined);
  src.push(Uint8Array.of(0x00, 0x01)); // 8 MiB + 1
  try {
    codec.decode(src);
    assert.unreachable("waited for the body");
  } catch (e) {
    assert.is((e as FrameError).code, "frame-too-large");
    assert.ok((e as Error).message.includes("length 8388609 exceeds maxFrameBytes 8388608"), (e as Error).message);
  }
  // Exactly at the limit is a frame; the limit counts the frame as decoded, here with its header.
  assert.is(decodeChunks(lengthDelimited({ lengthFieldBytes: 1, maxFrameBytes: 5 }), [bytesOf(5, "abcde")])[0]!.length, 5);
  assert.is(failure({ lengthFieldBytes: 1, maxFrameBytes: 5, bytesToSkip: 0 }, bytesOf(5, "abcde")).code, "frame-too-large");
  assert.is(decodeChunks(lengthDelimited({ lengthFieldBytes: 1, maxFrameBytes: 6, bytesToSkip: 0 }), [bytesOf(5, "abcde")])[0]!.length, 6);
});

test("8-byte lengths past 2^53 are frame-too-large, never a crash; exact when an adjustment brings them back", () => {
  const ff = new Uint8Array(8).fill(0xff);
  assert.is(failure({ lengthFieldBytes: 8 }, ff).code, "frame-too-large");
  assert.is(failure({ lengthFieldBytes: 8, littleEndian: true }, ff).code, "frame-too-large");
  const twoTo53 = Uint8Array.of(0x00, 0x20, 0, 0, 0, 0, 0, 0);
  assert.is(failure({ lengthFieldBytes: 8 }, twoTo53).code, "frame-too-large");
  assert.is(failure({ lengthFieldBytes: 8, littleEndian: true }, twoTo53.slice().reverse()).code, "frame-too-large");
  // 2^53 + 4 with lengthAdjustment -(2^53 - 1): 5 bytes after the field, computed exactly.
  const options = { lengthFieldBytes: 8 as const, lengthAdjustment: -Number.MAX_SAFE_INTEGER };
  const input = new Uint8Array([0x00, 0x20, 0, 0, 0, 0, 0, 0x04, ...ascii("abcde")]);
  assert.equal(plain(decodeChunks(lengthDelimited(options), [input])), plain([bytesOf("abcde")]));
});

test("a length that leaves a negative count, or a frame shorter than bytesToSkip, is invalid-frame", () => {
  const whole = { lengthFieldBytes: 2 as const, lengthAdjustment: -2 }; // the field counts itself
  assert.is(failure(whole, bytesOf(0x00, 0x01, "x")).code, "invalid-frame");
  assert.ok(failure(whole, bytesOf(0x00, 0x00)).message.includes("leaves -2 bytes after the field"));
  assert.equal(plain(decodeChunks(lengthDelimited(whole), [bytesOf(0x00, 0x02)])), plain([new Uint8Array(0)]));
  const skipFour = { lengthFieldBytes: 2 as const, bytesToSkip: 4 }; // two header bytes after the field
  assert.is(failure(skipFour, bytesOf(0x00, 0x01, "x")).code, "invalid-frame");
  assert.ok(failure(skipFour, bytesOf(0x00, 0x01, "x")).message.includes("3 bytes are fewer than bytesToSkip 4"));
  assert.is(failure({}, bytesOf(0x00, 0x00, 0x00, 0x05, "abc")).code, "unexpected-eof");
});

test("frames are views of the chunk they sit in; memory stays within the limit plus a header and a chunk", () => {
  const chunk = bytesOf(0, 0, 0, 2, "ab", 0, 0, 0, 1, "c");
  const src = new ReadBuffer();
  src.push(chunk);
  const codec = lengthDelimited();
  assert.is(codec.decode(src)!.buffer, chunk.buffer);
  assert.is(codec.decode(src)!.buffer, chunk.buffer);

  const max = 1000;
  const wire = encodeAll(lengthDelimited({ maxFrameBytes: max }), Array.from({ length: 200 }, (_, i) => new Uint8Array((i * 37) % (max + 1))));
  const decoder = lengthDelimited({ maxFrameBytes: max });
  const buf = new ReadBuffer();
  let frames = 0;
  for (let at = 0; at < wire.length; at += 301) {
    buf.push(wire.subarray(at, at + 301));
    while (decoder.decode(buf) !== undefined) frames++;
    assert.ok(buf.length <= max + 4 + 301, `holds ${buf.length}`);
  }
  assert.is(frames, 200);
});

// ── Encode and options ──────────────────────────────────────────────────────

test("encode refuses frames it cannot write, and layouts whose frames keep header bytes", () => {
  assert.throws(() => lengthDelimited({ maxFrameBytes: 3 }).encode(new Uint8Array(4), new WriteBuffer()), RangeError);
  assert.throws(
    () => lengthDelimited({ lengthFieldBytes: 1 }).encode(new Uint8Array(256), new WriteBuffer()),
    (e: Error) => e instanceof RangeError && e.message.includes("length 256 does not fit lengthFieldBytes 1"),
  );
  assert.throws(() => lengthDelimited({ lengthAdjustment: 2 }).encode(new Uint8Array(1), new WriteBuffer()), RangeError);
  assert.throws(() => lengthDelimited().encode("abc" as unknown as Uint8Array, new WriteBuffer()), TypeError);
  assert.throws(
    () => lengthDelimited({ bytesToSkip: 0 }).encode(new Uint8Array(1), new WriteBuffer()),
    (e: Error) => e instanceof TypeError && e.message.startsWith("Cannot encode with bytesToSkip 0"),
  );
  const dst = new WriteBuffer();
  dst.writeByte(0xee);
  for (const bad of [new Uint8Array(257), new Uint8Array(0)]) {
    try {
      lengthDelimited({ lengthFieldBytes: 1, lengthAdjustment: 1 }).encode(bad, dst);
    } catch {
      // refused
    }
  }
  assert.equal(Array.from(dst.bytes()), [0xee], "a refused frame wrote nothing");
  // Bytes the encoder must invent are zeros, even in a reused buffer.
  const reused = new WriteBuffer(16);
  reused.write(new Uint8Array(16).fill(0xaa));
  reused.clear();
  lengthDelimited({ lengthFieldOffset: 2, lengthFieldBytes: 1, bytesToSkip: 5 }).encode(bytesOf("z"), reused);
  assert.equal(Array.from(reused.bytes()), [0, 0, 3, 0, 0, 0x7a]);
});

test("options are checked, naming the option and the value", () => {
  const cases: [LengthDelimitedOptions, string, ErrorConstructor][] = [
    [{ lengthFieldBytes: 5 as 4 }, "Invalid lengthFieldBytes 5: expected 1, 2, 3, 4 or 8", RangeError],
    [{ lengthFieldBytes: "4" as unknown as 4 }, "Invalid lengthFieldBytes \"4\": expected 1, 2, 3, 4 or 8", RangeError],
    [{ lengthFieldOffset: -1 }, "Invalid lengthFieldOffset -1: expected a non-negative integer of bytes", RangeError],
    [{ lengthAdjustment: 1.5 }, "Invalid lengthAdjustment 1.5: expected an integer of bytes", RangeError],
    [{ bytesToSkip: -2 }, "Invalid bytesToSkip -2: expected a non-negative integer of bytes", RangeError],
    [{ littleEndian: 1 as unknown as boolean }, "Invalid littleEndian 1: expected a boolean", TypeError],
    [{ maxFrameBytes: 0 }, "Invalid maxFrameBytes 0: expected a positive integer of bytes", RangeError],
  ];
  for (const [options, message, type] of cases) {
    assert.throws(() => lengthDelimited(options), (e: Error) => e instanceof type && e.message === message, message);
  }
  assert.throws(() => lengthDelimited(null as unknown as LengthDelimitedOptions), TypeError);
});

test.run();
