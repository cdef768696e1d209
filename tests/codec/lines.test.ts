/** lines(): properties, limits, resync, EOF, UTF-8, and memory bounded on 1 GiB without a newline. */
import fc from "fast-check";
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { DecoderStream, EncoderStream, FrameError, lines, ReadBuffer, WriteBuffer } from "../../mod.ts";
import { codecProperties, decodeChunks, plain } from "./_properties.ts";
import { streamOf } from "../_helpers.ts";

const test = suite("codec: lines");
const enc = new TextEncoder();
const line = fc.string({ unit: "grapheme", maxLength: 40 }).filter((s) => !s.includes("\n") && !s.endsWith("\r"));

codecProperties(test, { name: "lines()", make: () => lines(), frames: fc.array(line, { maxLength: 20 }) });
codecProperties(test, {
  name: "lines({ as: \"bytes\" })",
  make: () => lines({ as: "bytes" }),
  frames: fc.array(fc.uint8Array({ maxLength: 40 }).filter((b) => !b.includes(10) && b.at(-1) !== 13), { maxLength: 20 }),
});

test("strips \\n and \\r\\n; the last line may end with the stream", () => {
  assert.equal(decodeChunks(lines(), [enc.encode("a\r\nb\n\nc\r")]), ["a", "b", "", "c"]);
  assert.equal(decodeChunks(lines(), [enc.encode("x\ry\n")]), ["x\ry"]);
  assert.equal(decodeChunks(lines(), []), []);
});

test("a line over maxFrameBytes ends the stream with frame-too-large", () => {
  assert.equal(decodeChunks(lines({ maxFrameBytes: 3 }), [enc.encode("abc\r\n")]), ["abc"]);
  for (const input of ["abcd\n", "abcd", "ab\nabcdefgh"]) {
    try {
      decodeChunks(lines({ maxFrameBytes: 3 }), [enc.encode(input)]);
      assert.unreachable(`accepted ${JSON.stringify(input)}`);
    } catch (e) {
      assert.instance(e, FrameError);
      assert.is((e as FrameError).code, "frame-too-large");
      assert.ok((e as Error).message.includes("maxFrameBytes 3"), (e as Error).message);
    }
  }
});

test("onOversize: \"skip\" yields the error as one item and resyncs at the next newline", () => {
  const chunks = ["ok\nxxxx", "xxxx", "xx\nnext\n", "yyyyyyyy\r\nlast"].map((s) => enc.encode(s));
  const got = decodeChunks(lines({ maxFrameBytes: 4, onOversize: "skip" }), chunks);
  assert.equal(plain(got), ["ok", { error: "frame-too-large" }, "next", { error: "frame-too-large" }, "last"]);
});

test("invalid UTF-8 is a FrameError invalid-utf8; bytes mode takes any bytes", () => {
  const bad = Uint8Array.of(0x61, 0xff, 0x0a);
  try {
    decodeChunks(lines(), [bad]);
    assert.unreachable("accepted invalid UTF-8");
  } catch (e) {
    assert.is((e as FrameError).code, "invalid-utf8");
  }
  assert.equal(plain(decodeChunks(lines({ as: "bytes" }), [bad])), [{ bytes: [0x61, 0xff] }]);
});

test("lineEnding \"\\r\\n\" ends encoded lines with CRLF; decoding takes both", () => {
  const codec = lines({ lineEnding: "\r\n" });
  const dst = new WriteBuffer();
  codec.encode("+PONG", dst);
  codec.encode("", dst);
  assert.is(new TextDecoder().decode(dst.bytes()), "+PONG\r\n\r\n");
  assert.equal(decodeChunks(lines({ lineEnding: "\r\n" }), [dst.bytes().slice(), enc.encode("a\n")]), ["+PONG", "", "a"]);
  assert.throws(() => lines({ lineEnding: "\r" as "\n" }), (e: Error) => e instanceof TypeError && e.message.startsWith("Invalid lineEnding"));
});

test("encode refuses a line with \\n, or longer than the limit", () => {
  const codec = lines({ maxFrameBytes: 4 });
  assert.throws(() => codec.encode("a\nb", new WriteBuffer()), RangeError);
  assert.throws(() => codec.encode("abcde", new WriteBuffer()), RangeError);
  assert.throws(() => codec.encode(42 as unknown as string, new WriteBuffer()), TypeError);
  const ok = new WriteBuffer();
  codec.encode("abcd", ok);
  assert.is(new TextDecoder().decode(ok.bytes()), "abcd\n");
});

test("1 GiB without a newline: error mode stops at the limit plus one chunk; skip mode reads it all, holding no more", () => {
  const chunk = new Uint8Array(64 * 1024).fill(0x78);
  const max = 64 * 1024;
  const strict = lines({ maxFrameBytes: max });
  const src = new ReadBuffer();
  let fed = 0;
  try {
    for (; fed < 1 << 30; fed += chunk.byteLength) {
      src.push(chunk);
      assert.ok(src.length <= max + chunk.byteLength + 1);
      assert.is(strict.decode(src), undefined);
    }
    assert.unreachable("never failed");
  } catch (e) {
    assert.is((e as FrameError).code, "frame-too-large");
  }
  assert.ok(fed <= max + chunk.byteLength, `read ${fed} bytes before failing`);

  const skipping = lines({ maxFrameBytes: max, onOversize: "skip" });
  src.clear();
  let errors = 0;
  let peak = 0;
  for (fed = 0; fed < 1 << 30; fed += chunk.byteLength) {
    src.push(chunk);
    peak = Math.max(peak, src.length);
    for (let f = skipping.decode(src); f !== undefined; f = skipping.decode(src)) if (f instanceof FrameError) errors++;
  }
  src.push(enc.encode("\nafter\n"));
  assert.is(skipping.decode(src), "after");
  assert.is(errors, 1);
  assert.ok(peak <= max + 2 * chunk.byteLength, `held ${peak} bytes`);
});

test("DecoderStream and EncoderStream round-trip, and a corrupt stream errors after the frames before it", async () => {
  const text = await new Response(
    streamOf(["alpha", "beta", "gamma"]).pipeThrough(new EncoderStream(lines())).pipeThrough(new DecoderStream(lines())).pipeThrough(
      new TransformStream<string, Uint8Array>({ transform: (s, c) => c.enqueue(enc.encode(`[${s}]`)) }),
    ),
  ).text();
  assert.is(text, "[alpha][beta][gamma]");

  const got: string[] = [];
  let error: unknown;
  try {
    for await (const l of streamOf([enc.encode("one\ntwo\n"), Uint8Array.of(0xff, 0x0a)]).pipeThrough(new DecoderStream(lines()))) got.push(l);
  } catch (e) {
    error = e;
  }
  assert.equal(got, ["one", "two"]);
  assert.is((error as FrameError).code, "invalid-utf8");
});

test.run();
