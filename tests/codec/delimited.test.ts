/** delimited(): properties in every keep mode, overlapping delimiters, limits, EOF, UTF-8, encode refusals, options. */
import fc from "fast-check";
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { type Codec, DEFAULT_MAX_DELIMITED_BYTES, delimited, type DelimitedOptions, FrameError, ReadBuffer, WriteBuffer } from "../../mod.ts";
import { codecProperties, decodeChunks, plain } from "./_properties.ts";

const test = suite("codec: delimited");
const enc = new TextEncoder();

/**
 * Frames over an alphabet that holds the delimiters' bytes, shaped for the
 * keep mode (a delimiter at the end for "suffix", at the start after the
 * first frame for "prefix"), and kept only when the encoder accepts them:
 * whatever it accepts must decode to itself, however the bytes are split.
 */
function framesFor(options: DelimitedOptions, alphabet: string[]): fc.Arbitrary<string[]> {
  const delims = options.delimiters as string[];
  const body = fc.array(fc.constantFrom(...alphabet), { maxLength: 12 }).map((cs) => cs.join(""));
  const frame = fc.tuple(body, fc.constantFrom(...delims)).map(([b, d]) =>
    options.keep === "suffix" ? b + d : options.keep === "prefix" ? d + b : b
  );
  return fc.array(frame, { maxLength: 10 }).map((frames) => {
    const codec = delimited({ ...options, as: "text" });
    const kept: string[] = [];
    for (let i = 0; i < frames.length; i++) {
      // The first frame of "prefix" has no delimiter before it.
      let f = frames[i]!;
      if (options.keep === "prefix" && kept.length === 0) f = f.slice(delims.find((d) => f.startsWith(d))!.length);
      try {
        codec.encode(f, new WriteBuffer());
        kept.push(f);
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
      }
    }
    // A lone empty first frame of "prefix" writes nothing, so decodes to nothing.
    return options.keep === "prefix" && kept.length === 1 && kept[0] === "" ? [] : kept;
  });
}

const layouts: [DelimitedOptions, string[]][] = [
  [{ delimiters: [";", "\n", "\r\n"] }, ["a", "é", ";", "\n", "\r"]],
  [{ delimiters: ["\r\n", "\r", "\n"] }, ["x", "\r", "\n"]],
  [{ delimiters: ["--", "-"] }, ["x", "-"]],
  [{ delimiters: ["aba", "b"] }, ["a", "b", "c"]],
];
for (const [options, alphabet] of layouts) {
  for (const keep of ["discard", "suffix", "prefix"] as const) {
    const o = { ...options, keep, maxFrameBytes: 64 };
    codecProperties(test, {
      name: `delimited(${JSON.stringify(o)})`,
      make: () => delimited({ ...o, as: "text" }) as Codec<string>,
      frames: framesFor(o, alphabet),
    });
  }
}

codecProperties(test, {
  name: "delimited({ delimiters: [<00>, <ff fe>], as: \"bytes\" })",
  make: () => delimited({ delimiters: [Uint8Array.of(0), Uint8Array.of(0xff, 0xfe)] }),
  frames: fc.array(fc.uint8Array({ maxLength: 30 }).filter((b) => !b.includes(0) && b.at(-1) !== 0xff && !/ff,fe/.test(Array.from(b, (x) => x.toString(16)).join(","))), {
    maxLength: 10,
  }),
});

const text = (chunks: string[], options: DelimitedOptions) => decodeChunks(delimited({ ...options, as: "text" }) as Codec<string>, chunks.map((c) => enc.encode(c)));

test("the wire diagram: discard, suffix and prefix", () => {
  const delimiters = ["\r\n", "\n"];
  assert.equal(text(["a\r\nb\nc"], { delimiters }), ["a", "b", "c"]);
  assert.equal(text(["a\r\nb\nc"], { delimiters, keep: "suffix" }), ["a\r\n", "b\n", "c"]);
  assert.equal(text(["a\r\nb\nc"], { delimiters, keep: "prefix" }), ["a", "\r\nb", "\nc"]);
});

test("of delimiters that overlap, the one that starts first wins, then the longest; a split never changes that", () => {
  const delimiters = ["\n", "\r\n", "\r"];
  assert.equal(text(["a\r\nb"], { delimiters }), ["a", "b"]);
  assert.equal(text(["a\r", "\nb"], { delimiters }), ["a", "b"], "\\r waits for the next chunk");
  assert.equal(text(["a\r", "b"], { delimiters }), ["a", "b"]);
  assert.equal(text(["a\r"], { delimiters }), ["a"], "at the end \\r alone ends the frame");
  assert.equal(text(["x--y-z"], { delimiters: ["-", "--"] }), ["x", "y", "z"]);
  assert.equal(text(["x-", "-y"], { delimiters: ["-", "--"] }), ["x", "y"]);
});

test("bytes frames are views of the chunk they sit in; empty frames are frames", () => {
  const codec = delimited({ delimiters: [Uint8Array.of(0)] });
  const chunk = Uint8Array.of(1, 2, 0, 0, 3, 0);
  const src = new ReadBuffer();
  src.push(chunk);
  const first = codec.decode(src)!;
  assert.is(first.buffer, chunk.buffer);
  assert.equal(Array.from(first), [1, 2]);
  assert.is(codec.decode(src)!.length, 0);
  assert.equal(Array.from(codec.decode(src)!), [3]);
  assert.is(codec.decode(src), undefined);
  assert.is(src.length, 0);
});

test("a frame over maxFrameBytes is frame-too-large, found before more than the limit and a chunk is held", () => {
  for (const input of [["abcd;"], ["ab", "cd", "e"], ["abcd"], ["ab;abcdefgh"]]) {
    try {
      text(input, { delimiters: [";"], maxFrameBytes: 3 });
      assert.unreachable(`accepted ${JSON.stringify(input)}`);
    } catch (e) {
      assert.instance(e, FrameError);
      assert.is((e as FrameError).code, "frame-too-large");
      assert.ok((e as Error).message.includes("maxFrameBytes 3"), (e as Error).message);
    }
  }
  assert.equal(text(["abc;"], { delimiters: [";"], maxFrameBytes: 3 }), ["abc"]);
  assert.equal(text(["abc\r\n"], { delimiters: ["\r\n"], maxFrameBytes: 3 }), ["abc"], "the delimiter does not count");
  assert.equal(text(["\r\nabc"], { delimiters: ["\r\n"], maxFrameBytes: 3, keep: "prefix" }), ["", "\r\nabc"]);
});

test("1 GiB without a delimiter fails at the limit plus one chunk, never holding more", () => {
  const chunk = new Uint8Array(64 * 1024).fill(0x78);
  const max = DEFAULT_MAX_DELIMITED_BYTES;
  const codec = delimited({ delimiters: ["\r\n\r\n", "\n\n"] });
  const src = new ReadBuffer();
  let fed = 0;
  let error: unknown;
  try {
    for (; fed < 1 << 30; fed += chunk.byteLength) {
      src.push(chunk);
      assert.ok(src.length <= max + chunk.byteLength + 4);
      assert.is(codec.decode(src), undefined);
    }
  } catch (e) {
    error = e;
  }
  assert.is((error as FrameError).code, "frame-too-large");
  assert.ok(fed <= max + chunk.byteLength, `read ${fed} bytes before failing`);
});

test("a long frame split into many chunks is searched once per delimiter", () => {
  const src = new ReadBuffer();
  let calls = 0;
  const search = src.indexOfSequence.bind(src);
  let searched = 0;
  src.indexOfSequence = (seq, from = 0) => {
    calls++;
    searched += src.length - from;
    return search(seq, from);
  };
  const codec = delimited({ delimiters: ["END", "\n"], maxFrameBytes: 1 << 20 });
  for (let i = 0; i < 100; i++) {
    src.push(new Uint8Array(1000).fill(0x61));
    assert.is(codec.decode(src), undefined);
  }
  src.push(enc.encode("END"));
  assert.is(codec.decode(src)!.length, 100_000);
  assert.is(calls, 202);
  assert.ok(searched < 2 * 100_000 + 2 * 100 * 3 + 10, `searched ${searched} bytes`);
});

test("text frames: invalid UTF-8 is invalid-utf8 and ends the stream; bytes frames take any bytes", () => {
  const bad = [Uint8Array.of(0x61, 0x3b, 0xc3, 0x3b)];
  let got: string[] = [];
  try {
    const codec = delimited({ delimiters: [";"], as: "text" });
    const src = new ReadBuffer();
    src.push(bad[0]!);
    for (let f = codec.decode(src); f !== undefined; f = codec.decode(src)) got = [...got, f];
    assert.unreachable("accepted invalid UTF-8");
  } catch (e) {
    assert.is((e as FrameError).code, "invalid-utf8");
  }
  assert.equal(got, ["a"]);
  assert.equal(plain(decodeChunks(delimited({ delimiters: [";"] }), bad)), [{ bytes: [0x61] }, { bytes: [0xc3] }]);
});

test("encode writes what decode takes apart, and refuses what it would split elsewhere", () => {
  const out = (codec: Codec<string | Uint8Array>, ...frames: string[]) => {
    const dst = new WriteBuffer();
    for (const f of frames) codec.encode(f, dst);
    return new TextDecoder().decode(dst.bytes());
  };
  assert.is(out(delimited({ delimiters: ["\r\n", "\n"] }), "a", "b"), "a\r\nb\r\n");
  assert.is(out(delimited({ delimiters: ["\r\n", "\n"], keep: "suffix" }), "a\n", "b\r\n"), "a\nb\r\n");
  assert.is(out(delimited({ delimiters: ["\r\n", "\n"], keep: "prefix" }), "a", "\nb", "\r\nc"), "a\nb\r\nc");

  const refused = (options: DelimitedOptions, frames: string[], type: ErrorConstructor, pattern: RegExp) => {
    const codec = delimited(options) as Codec<string | Uint8Array>;
    const dst = new WriteBuffer();
    for (const f of frames.slice(0, -1)) codec.encode(f, dst);
    const before = dst.length;
    assert.throws(() => codec.encode(frames.at(-1)!, dst), (e: Error) => e instanceof type && pattern.test(e.message), pattern.source);
    assert.is(dst.length, before, "a refused frame writes nothing");
  };
  refused({ delimiters: [";"] }, ["a;b"], RangeError, /holds the delimiter ";" at byte 1/);
  refused({ delimiters: ["\r\n", "\n"], keep: "prefix" }, ["a\r"], RangeError, /last 1 bytes begin the delimiter "\\r\\n"/);
  refused({ delimiters: [";"], maxFrameBytes: 2 }, ["abc"], RangeError, /3 bytes exceed maxFrameBytes 2/);
  refused({ delimiters: [";"], keep: "suffix" }, ["abc"], RangeError, /ends with a delimiter/);
  refused({ delimiters: [";"], keep: "suffix" }, ["a;b;"], RangeError, /holds the delimiter/);
  refused({ delimiters: ["\r", "\r\n"], keep: "suffix" }, ["a\r"], RangeError, /begins "\\r\\n"/);
  refused({ delimiters: [";"], keep: "prefix" }, ["a", "b"], RangeError, /starts with a delimiter/);
  refused({ delimiters: ["\r", "\r\n"] }, ["a"], TypeError, /list the longer delimiter first/);
  refused({ delimiters: [";"] }, [42 as unknown as string], TypeError, /expected a string or a Uint8Array/);
});

test("options are checked, naming the option and the value", () => {
  const cases: [unknown, ErrorConstructor, string][] = [
    [{ delimiters: [] }, TypeError, "Invalid delimiters []: expected a non-empty array of strings or Uint8Arrays"],
    [{}, TypeError, "Invalid delimiters undefined: expected a non-empty array"],
    [{ delimiters: [";", 7] }, TypeError, "Invalid delimiters[1] 7: expected a string or a Uint8Array"],
    [{ delimiters: [""] }, RangeError, "Invalid delimiters[0] \"\": expected at least one byte"],
    [{ delimiters: [";"], keep: "both" }, TypeError, "Invalid keep \"both\": expected \"discard\" or \"suffix\" or \"prefix\""],
    [{ delimiters: [";"], maxFrameBytes: 0 }, RangeError, "Invalid maxFrameBytes 0: expected a positive integer of bytes"],
    [{ delimiters: [";"], as: "json" }, TypeError, "Invalid as \"json\""],
    [null, TypeError, "Invalid delimited() options: expected an object"],
  ];
  for (const [options, type, message] of cases) {
    assert.throws(() => delimited(options as DelimitedOptions), (e: Error) => e instanceof type && e.message.startsWith(message), message);
  }
});

test.run();
