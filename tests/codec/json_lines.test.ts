/** jsonLines(): properties, empty lines, invalid JSON with its line number, limits shared with lines(), encode refusals. */
import fc from "fast-check";
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { DecoderStream, EncoderStream, FrameError, jsonLines, WriteBuffer } from "../../mod.ts";
import { codecProperties, decodeChunks, plain } from "./_properties.ts";
import { streamOf } from "../_helpers.ts";

const test = suite("codec: jsonLines");
const enc = new TextEncoder();

codecProperties(test, {
  name: "jsonLines()",
  make: () => jsonLines(),
  // What JSON carries unchanged: no -0, no undefined in objects.
  frames: fc.array(fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown), { maxLength: 10 }),
});

const decode = (...chunks: string[]) => decodeChunks(jsonLines(), chunks.map((c) => enc.encode(c)));

test("one value per line; \\r\\n, empty lines and a last line without \\n are handled", () => {
  assert.equal(decode('{"id":1,"op":"get"}\n[1,2,3]\r\n\n"done"'), [{ id: 1, op: "get" }, [1, 2, 3], "done"]);
  assert.equal(decode("1", "2\n", "\n3"), [12, 3]);
  assert.equal(decode("null\nfalse\n"), [null, false]);
  assert.equal(decode(""), []);
});

test("a line that does not parse is invalid-json, naming its line, after the values before it", async () => {
  const got: unknown[] = [];
  let error: unknown;
  try {
    for await (const v of streamOf([enc.encode('{"a":1}\n\n{"b":'), enc.encode("}\n[3]\n")]).pipeThrough(new DecoderStream(jsonLines()))) got.push(v);
  } catch (e) {
    error = e;
  }
  assert.equal(got, [{ a: 1 }]);
  assert.instance(error, FrameError);
  assert.is((error as FrameError).code, "invalid-json");
  assert.match((error as Error).message, /^Cannot decode JSON line 3: /);
  assert.instance((error as Error).cause, SyntaxError);
});

test("limits, skip mode and UTF-8 checks are lines()'s", () => {
  const long = `"${"x".repeat(20)}"`;
  try {
    decodeChunks(jsonLines({ maxFrameBytes: 10 }), [enc.encode(`1\n${long}\n2\n`)]);
    assert.unreachable("accepted a long line");
  } catch (e) {
    assert.is((e as FrameError).code, "frame-too-large");
  }
  const skipping = decodeChunks(jsonLines({ maxFrameBytes: 10, onOversize: "skip" }), [enc.encode(`1\n${long}\n2\n`)]);
  assert.equal(plain(skipping), [1, { error: "frame-too-large" }, 2]);
  try {
    decodeChunks(jsonLines(), [Uint8Array.of(0x22, 0xff, 0x22, 0x0a)]);
    assert.unreachable("accepted invalid UTF-8");
  } catch (e) {
    assert.is((e as FrameError).code, "invalid-utf8");
  }
  assert.throws(() => jsonLines({ maxFrameBytes: -1 }), RangeError);
  assert.throws(() => jsonLines({ onOversize: "drop" as "skip" }), TypeError);
});

test("encode writes JSON and \\n; values without a JSON form are TypeErrors and write nothing", async () => {
  const text = await new Response(streamOf([{ a: "x\ny" }, [1], "s"]).pipeThrough(new EncoderStream(jsonLines()))).text();
  assert.is(text, '{"a":"x\\ny"}\n[1]\n"s"\n');
  const codec = jsonLines();
  const dst = new WriteBuffer();
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  for (const bad of [undefined, () => 1, Symbol("s"), 1n, cycle]) {
    assert.throws(() => codec.encode(bad, dst), TypeError, typeof bad);
  }
  assert.is(dst.length, 0);
  assert.throws(() => jsonLines({ maxFrameBytes: 4 }).encode("abcd", new WriteBuffer()), RangeError);
});

test.run();
