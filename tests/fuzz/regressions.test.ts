/**
 * Inputs the fuzz properties failed on, kept: each is replayed through its
 * property (every invariant of ./_fuzz.ts) and its outcome is pinned down.
 */
import fc from "fast-check";
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { FrameError } from "../../mod.ts";
import { respCodec, respServerCodec } from "../../src/protocols/resp/mod.ts";
import { decodeChunks } from "../codec/_properties.ts";
import { type FuzzTarget, fuzzProperty } from "./_fuzz.ts";
import type { FuzzInput } from "./_inputs.ts";
import { allTargets } from "./_targets.ts";

const test = suite("fuzz: regressions");
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

function target(name: string): FuzzTarget {
  const t = allTargets.find((t) => t.name.startsWith(name));
  if (t === undefined) throw new Error(`No fuzz target ${name}`);
  return t;
}

/** Replays `parts` (the chunks, as found) through the property of the target named `name`. */
function replay(name: string, parts: string[]): void {
  const chunks = parts.map(latin1);
  const bytes = latin1(parts.join(""));
  fc.assert(fuzzProperty(target(name)), { numRuns: 1, examples: [[{ bytes, chunks } satisfies FuzzInput]] });
}

/** The frames, or the FrameError code, that decoding `parts` gives. */
function outcome<T>(codec: Parameters<typeof decodeChunks<T>>[0], parts: string[]): T[] | string {
  try {
    return decodeChunks(codec, parts.map(latin1));
  } catch (error) {
    if (error instanceof FrameError) return error.code;
    throw error;
  }
}

test("respCodec: a line one byte over maxInlineBytes is refused however it is split (it passed when its CRLF came with it)", () => {
  // Found by the fuzz: 25 bytes before CRLF with maxInlineBytes 24; in one chunk, the value was decoded.
  replay("respCodec(", [":-90071992547409934740993\r", "\n\r\n"]);
  for (const parts of [["+123456789\r\n"], ["+123456789\r", "\n"], ["+1234", "56789\r\n"]]) {
    assert.is(outcome(respCodec({ maxInlineBytes: 9 }), parts), "frame-too-large", JSON.stringify(parts));
  }
  for (const parts of [["+12345678\r\n"], ["+12345678\r", "\n"]]) {
    assert.equal(outcome(respCodec({ maxInlineBytes: 9 }), parts), ["12345678"], JSON.stringify(parts));
  }
});

test("respServerCodec: a header line of exactly maxInlineBytes is read however it is split (it failed when a chunk ended at its \\r)", () => {
  // Found by the fuzz, with maxInlineBytes 5: "*0001" then "\r" ended the first chunk.
  replay('respServerCodec({"maxBulkBytes":8', ["\r\n*0001\r", "\n$0\r\n\r\n"]);
  const text = (c: Uint8Array[][] | string) => (typeof c === "string" ? c : c.map((args) => args.map((a) => new TextDecoder().decode(a))));
  for (const parts of [["*0001\r\n$0002\r\nab\r\n"], ["*0001\r", "\n$0002\r", "\nab\r\n"]]) {
    assert.equal(text(outcome(respServerCodec({ maxInlineBytes: 5 }), parts)), [["ab"]], JSON.stringify(parts));
  }
  for (const parts of [["*00001\r\n"], ["*00001\r", "\n"], ["*00001"]]) {
    assert.is(outcome(respServerCodec({ maxInlineBytes: 5 }), parts), "frame-too-large", JSON.stringify(parts));
  }
});

test("respCodec: an empty aggregate counts toward maxNestingDepth (one was returned 4 deep with a limit of 3)", () => {
  // Found by the fuzz, byte by byte.
  replay("respCodec(", Array.from("*2\r\n+\r\n*2\r\n+\r\n*1\r\n*0\r\n"));
  assert.is(outcome(respCodec({ maxNestingDepth: 3 }), ["*1\r\n*1\r\n*1\r\n*0\r\n"]), "frame-too-large");
  assert.is(outcome(respCodec({ maxNestingDepth: 3 }), ["*1\r\n*1\r\n*1\r\n%0\r\n"]), "frame-too-large");
  assert.equal(outcome(respCodec({ maxNestingDepth: 3 }), ["*1\r\n*1\r\n*0\r\n"]), [[[[]]]]);
  assert.equal(outcome(respCodec({ maxNestingDepth: 3 }), ["*1\r\n*1\r\n*-1\r\n"]), [[[null]]], "a null is not an aggregate");
});

test.run();
