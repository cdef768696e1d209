/**
 * Fuzz targets of the codecs that count: lengthDelimited() over several
 * header layouts (field sizes 1 to 8, offsets, adjustments, both byte orders,
 * bytesToSkip short of and past the header), varintDelimited() and
 * fixedLength(). Valid streams come from each codec's own encoder.
 */
import fc from "fast-check";
import { fixedLength, lengthDelimited, type LengthDelimitedOptions, varintDelimited, WriteBuffer } from "../../mod.ts";
import { Broken, type FuzzTarget } from "./_fuzz.ts";

function encoded(make: () => { encode(item: Uint8Array, dst: WriteBuffer): void }, minLength: number, maxLength: number): fc.Arbitrary<Uint8Array> {
  return fc.array(fc.uint8Array({ minLength, maxLength }), { maxLength: 8 }).map((frames) => {
    const codec = make();
    const out = new WriteBuffer();
    for (const f of frames) codec.encode(f, out);
    return out.bytes().slice();
  });
}

function checkSize(codec: string, max: number) {
  return (frame: unknown) => {
    if (!(frame instanceof Uint8Array)) throw new Broken(`${codec} gave ${typeof frame}`);
    if (frame.length > max) throw new Broken(`${codec} gave a frame of ${frame.length} bytes, over maxFrameBytes ${max}`);
  };
}

/** Length fields of every size that are 0, the largest value, or just past a small limit. */
const LENGTH_TOKENS = [
  Uint8Array.of(0), Uint8Array.of(0xff), Uint8Array.of(0, 0), Uint8Array.of(0xff, 0xff), Uint8Array.of(0, 0, 0, 0),
  Uint8Array.of(0xff, 0xff, 0xff, 0xff), Uint8Array.of(0, 0, 0, 0x20), Uint8Array.of(0x20, 0, 0, 0), Uint8Array.of(0, 0x1f),
  Uint8Array.of(0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
  Uint8Array.of(0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), Uint8Array.of(0x28),
];

/**
 * One layout. `encodeWith`: options whose encoder writes what these options
 * decode (for a bytesToSkip that keeps header bytes, which no encoder writes).
 */
function lengthTarget(options: LengthDelimitedOptions & { maxFrameBytes: number }, encodeWith = options, minLength = 0): FuzzTarget {
  const header = (options.lengthFieldOffset ?? 0) + (options.lengthFieldBytes ?? 4);
  const skip = options.bytesToSkip ?? header;
  const max = options.maxFrameBytes;
  const name = `lengthDelimited(${JSON.stringify(options)})`;
  const check = checkSize(name, max);
  const encodedMax = (encodeWith.maxFrameBytes ?? max) - (skip < header ? header - skip : 0);
  return {
    name,
    open: () => ({ decoder: lengthDelimited(options), check }),
    // All of a frame but its last byte, and the size is checked as soon as the header is in: skip + max - 1 at most.
    heldBytes: Math.max(header, skip + max) - 1,
    valid: encoded(() => lengthDelimited(encodeWith), minLength, encodedMax),
    tokens: LENGTH_TOKENS,
  };
}

const VARINT_MAX = 40;

export const targets: FuzzTarget[] = [
  lengthTarget({ lengthFieldBytes: 1, maxFrameBytes: 24 }),
  lengthTarget({ lengthFieldBytes: 2, littleEndian: true, maxFrameBytes: 40 }),
  lengthTarget({ lengthFieldOffset: 2, lengthFieldBytes: 3, lengthAdjustment: 2, maxFrameBytes: 30 }, undefined, 2),
  lengthTarget({ lengthFieldBytes: 4, lengthAdjustment: -4, maxFrameBytes: 30 }),
  lengthTarget({ lengthFieldBytes: 8, maxFrameBytes: 50 }),
  lengthTarget({ lengthFieldBytes: 8, littleEndian: true, lengthFieldOffset: 1, maxFrameBytes: 50 }),
  lengthTarget({ lengthFieldBytes: 2, bytesToSkip: 0, maxFrameBytes: 40 }, { lengthFieldBytes: 2, maxFrameBytes: 40 }),
  lengthTarget({ lengthFieldBytes: 3, lengthAdjustment: 1, bytesToSkip: 4, maxFrameBytes: 30 }),
  {
    name: `varintDelimited({"maxFrameBytes":${VARINT_MAX}})`,
    open: () => ({ decoder: varintDelimited({ maxFrameBytes: VARINT_MAX }), check: checkSize("varintDelimited()", VARINT_MAX) }),
    // The length is checked as soon as its varint (minimal: 1 byte for 40) is in: all of the frame but its last byte.
    heldBytes: VARINT_MAX,
    valid: encoded(() => varintDelimited({ maxFrameBytes: VARINT_MAX }), 0, VARINT_MAX),
    tokens: [
      Uint8Array.of(0x80), Uint8Array.of(0xff), Uint8Array.of(0), Uint8Array.of(0x80, 0), Uint8Array.of(VARINT_MAX), Uint8Array.of(VARINT_MAX + 1),
      new Uint8Array(8).fill(0xff), Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f),
    ],
  },
  {
    name: "fixedLength(5)",
    open: () => ({
      decoder: fixedLength(5),
      check(frame) {
        if (!(frame instanceof Uint8Array) || frame.length !== 5) throw new Broken("fixedLength(5) gave something other than 5 bytes");
      },
    }),
    heldBytes: 4,
    valid: fc.uint8Array({ maxLength: 60 }),
    tokens: [],
  },
];
