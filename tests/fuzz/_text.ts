/**
 * Fuzz targets of the text-like codecs: lines() (text, bytes, skip mode,
 * "\r\n"), jsonLines() (error and skip mode) and delimited() (discard, suffix,
 * prefix). Their limits are set small, so that inputs of a few hundred bytes
 * reach them.
 */
import fc from "fast-check";
import { delimited, type DelimitedOptions, FrameError, jsonLines, lines, type LinesOptions, WriteBuffer } from "../../mod.ts";
import { Broken, type FuzzTarget } from "./_fuzz.ts";
import { concat, tokenBytes } from "./_inputs.ts";

const utf8 = new TextEncoder();

/** Text with what trips a line decoder: "\r", multi-byte characters, a byte-order mark. */
const text = fc.array(fc.constantFrom("a", "b", " ", "é", "€", "😀", "\r", "\t", "\uFEFF", "{", "\""), { maxLength: 10 }).map((cs) => cs.join(""));

/** Lines ended by "\n" or "\r\n", the last one maybe not ended. */
const lineStream = fc.tuple(fc.array(fc.tuple(text, fc.constantFrom("\n", "\r\n")), { maxLength: 8 }), fc.option(text, { nil: undefined }))
  .map(([ls, last]) => utf8.encode(ls.map(([l, end]) => l + end).join("") + (last ?? "")));

const LINE_TOKENS = ["\n", "\r\n", "\r", "é", "😀", Uint8Array.of(0xff), Uint8Array.of(0xc3), Uint8Array.of(0xe2, 0x82), "x".repeat(8), "y".repeat(16)];

function checkLine(max: number, bytes: boolean, skip: boolean) {
  return (frame: unknown) => {
    if (skip && frame instanceof FrameError) {
      if (frame.code !== "frame-too-large") throw new Broken(`lines() skipped a line with ${frame.code}`);
      return;
    }
    const raw = bytes ? frame : typeof frame === "string" ? utf8.encode(frame) : undefined;
    if (!(raw instanceof Uint8Array)) throw new Broken(`lines() gave ${typeof frame}`);
    if (raw.includes(0x0a)) throw new Broken("lines() gave a line with \"\\n\" inside");
    if (raw.length > max) throw new Broken(`lines() gave a line of ${raw.length} bytes, over maxFrameBytes ${max}`);
  };
}

function linesTarget(options: LinesOptions & { maxFrameBytes: number }): FuzzTarget {
  const asBytes = options.as === "bytes";
  const check = checkLine(options.maxFrameBytes, asBytes, options.onOversize === "skip");
  return {
    name: `lines(${JSON.stringify(options)})`,
    open: () => ({ decoder: lines(options), check }),
    heldBytes: options.maxFrameBytes + 1,
    valid: lineStream,
    tokens: LINE_TOKENS,
  };
}

/** JSON values, one a line, with empty lines between. */
const jsonStream = fc.array(fc.tuple(fc.oneof(fc.jsonValue({ maxDepth: 1 }).map((v) => JSON.stringify(v)), fc.constant("")), fc.constantFrom("\n", "\r\n")), { maxLength: 6 })
  .map((ls) => utf8.encode(ls.map(([l, end]) => l + end).join("")));

function jsonTarget(skip: boolean): FuzzTarget {
  const max = 32;
  return {
    name: `jsonLines({"maxFrameBytes":${max}${skip ? ',"onOversize":"skip"' : ""}})`,
    open: () => ({
      decoder: jsonLines({ maxFrameBytes: max, onOversize: skip ? "skip" : "error" } as { maxFrameBytes: number; onOversize: "skip" }),
      check(frame) {
        if (frame === undefined) throw new Broken("jsonLines() gave undefined as a frame");
        if (frame instanceof FrameError && !(skip && frame.code === "frame-too-large")) throw new Broken(`jsonLines() gave a FrameError ${frame.code} as a value`);
      },
    }),
    heldBytes: max + 1,
    valid: jsonStream,
    tokens: [...LINE_TOKENS, "{", "}", "[", "]", "\"", "\\u00e9", "\\ud800", "null", "1e999", "-0", ","],
  };
}

/** Frames of `alphabet`'s pieces, each ended by one of the delimiters. */
function delimitedStream(delimiters: readonly Uint8Array[], alphabet: readonly (string | Uint8Array)[]): fc.Arbitrary<Uint8Array> {
  const frame = fc.array(fc.constantFrom(...tokenBytes(alphabet)), { maxLength: 16 }).map(concat);
  return fc.array(fc.tuple(frame, fc.constantFrom(...delimiters)), { maxLength: 8 }).map((fs) => concat(fs.flat()));
}

function includes(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

function delimitedTarget(options: DelimitedOptions & { maxFrameBytes: number }, alphabet: readonly (string | Uint8Array)[]): FuzzTarget {
  const delims = tokenBytes(options.delimiters);
  const longest = Math.max(...delims.map((d) => d.length));
  const max = options.maxFrameBytes;
  const keep = options.keep ?? "discard";
  return {
    name: `delimited(${JSON.stringify(options, (_, v) => (v instanceof Uint8Array ? `<${Array.from(v, (b) => b.toString(16)).join(" ")}>` : v))})`,
    open: () => ({
      decoder: delimited(options),
      check(frame) {
        const raw = typeof frame === "string" && options.as === "text" ? utf8.encode(frame) : frame;
        if (!(raw instanceof Uint8Array)) throw new Broken(`delimited() gave ${typeof frame}`);
        // The delimiter kept (suffix or prefix) comes on top of the limit.
        const bound = keep === "discard" ? max : max + longest;
        if (raw.length > bound) throw new Broken(`delimited() gave a frame of ${raw.length} bytes, over ${bound}`);
        if (keep === "discard" && delims.some((d) => includes(raw, d))) throw new Broken("delimited() gave a frame with a delimiter inside");
      },
    }),
    // Past the limit plus the start of a delimiter still to be completed (and, for "prefix", the delimiter that starts the frame), it throws.
    heldBytes: max + longest - 1 + (keep === "prefix" ? longest : 0),
    valid: delimitedStream(delims, alphabet),
    tokens: [...delims, ...delims.map((d) => d.subarray(0, 1)), Uint8Array.of(0xff), "é"],
  };
}


/** lines() encoded by its own encoder: a "\r\n" stream. */
const crlfStream = fc.array(text.map((t) => t.replace(/\r/g, "")), { maxLength: 8 }).map((ls) => {
  const out = new WriteBuffer();
  const codec = lines({ lineEnding: "\r\n", maxFrameBytes: 24 });
  for (const l of ls) {
    try {
      codec.encode(l, out);
    } catch {
      // over the limit: left out
    }
  }
  return out.bytes().slice();
});

export const targets: FuzzTarget[] = [
  linesTarget({ maxFrameBytes: 16 }),
  linesTarget({ maxFrameBytes: 16, as: "bytes" }),
  linesTarget({ maxFrameBytes: 8, onOversize: "skip" }),
  { ...linesTarget({ maxFrameBytes: 24, lineEnding: "\r\n", as: "bytes", onOversize: "skip" }), valid: crlfStream },
  jsonTarget(false),
  jsonTarget(true),
  delimitedTarget({ delimiters: ["\r\n", "\n", "\r"], maxFrameBytes: 16 }, [..."abc xyz"]),
  delimitedTarget({ delimiters: [";", "::", ":-:"], keep: "suffix", as: "text", maxFrameBytes: 12 }, [..."ab-x", "é"]),
  delimitedTarget(
    { delimiters: [Uint8Array.of(0), Uint8Array.of(0xff, 0xfe), Uint8Array.of(0xff, 0xfe, 0xfd)], keep: "prefix", maxFrameBytes: 20 },
    [Uint8Array.of(1), Uint8Array.of(0xfe), Uint8Array.of(0xfd), "a"],
  ),
];
