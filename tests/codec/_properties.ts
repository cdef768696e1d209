/**
 * Property tests every codec passes (fast-check):
 * - frames encoded, the bytes split into chunks at random places, decode to
 *   the same frames (the split never matters);
 * - random bytes, and valid streams with random bytes changed, decode to
 *   frames or end with a FrameError — never another exception, never a loop;
 * - a decoder never holds more than its limit plus one chunk.
 * WEFT_FC_RUNS sets the cases per property (default 150); `npm run fuzz` is the long run of tests/fuzz.
 */
import fc from "fast-check";
import * as assert from "uvu/assert";
import type { Test } from "uvu";
import { type Codec, FrameError, ReadBuffer, WriteBuffer } from "../../mod.ts";

export const RUNS = Number(process.env.WEFT_FC_RUNS ?? 150);

/** What a codec's property tests need. */
export interface CodecSpec<In, Out> {
  /** Shown in the test names. */
  name: string;
  /** A fresh codec (codecs hold per-stream state). */
  make(): Codec<In, Out>;
  /** Lists of frames to encode. */
  frames: fc.Arbitrary<Out[]>;
  /** What decoding the bytes of `frame` gives; default: the frame itself. */
  decoded?(frame: Out): In;
}

/** Splits `bytes` at the given cut points (taken modulo its length), into fresh chunks. */
export function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  if (bytes.byteLength === 0) return [];
  const at = [...new Set(cuts.map((c) => c % bytes.byteLength))].filter((c) => c > 0).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let last = 0;
  for (const c of [...at, bytes.byteLength]) {
    chunks.push(bytes.slice(last, c));
    last = c;
  }
  return chunks;
}

/** Decodes `chunks` with `codec` as a stream would: frames, then the end. Throws what the codec throws; fails on a loop. */
export function decodeChunks<T>(codec: Codec<T, unknown>, chunks: Uint8Array[], many = false, out: T[] = []): T[] {
  const src = new ReadBuffer();
  const guard = () => {
    if (out.length > 1_000_000) throw new Error("decoder loops: more frames than bytes");
  };
  for (const chunk of chunks) {
    src.push(chunk);
    if (many && codec.decodeMany) {
      // The path the streams take: one call for every frame the chunk completes.
      codec.decodeMany(src, out);
      guard();
      continue;
    }
    for (let f = codec.decode(src); f !== undefined; f = codec.decode(src)) {
      out.push(f);
      guard();
    }
  }
  if (codec.decodeEof) {
    for (let f = codec.decodeEof(src); f !== undefined; f = codec.decodeEof(src)) {
      out.push(f);
      guard();
    }
  }
  if (src.length > 0) throw new FrameError("unexpected-eof", `${src.length} bytes left over`);
  return out;
}

/** The bytes of `frames` encoded by `codec`. */
export function encodeAll<T>(codec: Codec<unknown, T>, frames: T[]): Uint8Array {
  const dst = new WriteBuffer(64);
  for (const f of frames) codec.encode(f, dst);
  return dst.bytes().slice();
}

/** Turns frames into plain values that uvu compares by content. */
export function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: Array.from(value) };
  if (value instanceof FrameError) return { error: value.code };
  if (Array.isArray(value)) return value.map(plain);
  return value;
}

/** Registers the property tests of `spec` on `test`. */
export function codecProperties<In, Out>(test: Test, spec: CodecSpec<In, Out>): void {
  const decoded = spec.decoded ?? ((f: Out) => f as unknown as In);

  test(`${spec.name}: encode, split anywhere, decode: the same frames`, () => {
    fc.assert(
      fc.property(spec.frames, fc.array(fc.nat(), { maxLength: 12 }), (frames, cuts) => {
        const bytes = encodeAll(spec.make(), frames);
        const got = decodeChunks(spec.make(), split(bytes, cuts));
        assert.equal(plain(got), plain(frames.map(decoded)));
        const many = decodeChunks(spec.make(), split(bytes, cuts), true);
        assert.equal(plain(many), plain(frames.map(decoded)), "decodeMany gives what decode gives");
        // One byte per chunk, the hardest split of all.
        const byByte = decodeChunks(spec.make(), Array.from(bytes, (b) => Uint8Array.of(b)));
        assert.equal(plain(byByte), plain(frames.map(decoded)));
      }),
      { numRuns: RUNS },
    );
  });

  /** Frames then maybe a FrameError, the same by decode and by decodeMany. */
  const noSurprises = (chunks: Uint8Array[]) => {
    const outcome = (many: boolean) => {
      const frames: In[] = [];
      try {
        decodeChunks(spec.make(), chunks, many, frames);
        return { frames: plain(frames) };
      } catch (error) {
        if (!(error instanceof FrameError)) throw error;
        return { frames: plain(frames), error: error.code };
      }
    };
    const one = outcome(false);
    assert.equal(outcome(true), one, "decodeMany fails as decode does");
  };

  test(`${spec.name}: random bytes give frames or a FrameError, nothing else`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
        noSurprises(split(bytes, cuts));
      }),
      { numRuns: RUNS },
    );
  });

  test(`${spec.name}: valid streams with bytes changed give frames or a FrameError`, () => {
    fc.assert(
      fc.property(
        spec.frames,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (frames, changes, cuts) => {
          const bytes = encodeAll(spec.make(), frames);
          if (bytes.byteLength === 0) return;
          for (const [at, value] of changes) bytes[at % bytes.byteLength] = value;
          noSurprises(split(bytes, cuts));
        },
      ),
      { numRuns: RUNS },
    );
  });
}
