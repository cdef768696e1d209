/**
 * Fuzz targets of weft/resp: respCodec() decoding replies (bulk strings as
 * text and as bytes) and respServerCodec() decoding commands (multibulks and
 * inline commands). Valid streams: replies encoded by respServerCodec() in
 * RESP2 and RESP3, commands encoded by respCodec(), and inline commands with
 * quotes and escapes as redis-cli writes them.
 */
import fc from "fast-check";
import { WriteBuffer } from "../../mod.ts";
import { Push, respCodec, RespError, respServerCodec, type RespValue, Verbatim } from "../../src/protocols/resp/mod.ts";
import { respValue } from "../resp/_values.ts";
import { Broken, type FuzzTarget } from "./_fuzz.ts";
import { concat } from "./_inputs.ts";

/** Small limits, that inputs of a few hundred bytes reach. */
const LIMITS = { maxBulkBytes: 16, maxAggregateLength: 6, maxNestingDepth: 3, maxInlineBytes: 24, maxValueBytes: 160 };

/** Replies encoded in RESP2 or RESP3. */
const replies = fc.tuple(fc.array(respValue, { maxLength: 4 }), fc.constantFrom(2 as const, 3 as const)).map(([values, protocol]) => {
  const codec = respServerCodec({ protocol });
  const out = new WriteBuffer();
  for (const v of values) {
    try {
      codec.encode(v, out);
    } catch {
      // a value this protocol cannot carry: left out
    }
  }
  return out.bytes().slice();
});

const REPLY_TOKENS = [
  "\r\n", "+OK\r\n", "-ERR x\r\n", ":1\r\n", ":-9007199254740993\r\n", "$-1\r\n", "$0\r\n\r\n", "$16\r\n", "$17\r\n", "*-1\r\n",
  "*0\r\n", "*6\r\n", "*7\r\n", "*1\r\n*1\r\n*1\r\n", "%1\r\n", "%3\r\n", "%4\r\n", "~2\r\n", ">2\r\n", "|1\r\n+k\r\n:1\r\n", "|0\r\n",
  "_\r\n", "#t\r\n", "#x\r\n", ",1.5e3\r\n", ",nan\r\n", ",-inf\r\n", ",1e\r\n", "(123\r\n", "(+1\r\n", "(x\r\n", "!3\r\nERR\r\n",
  "=7\r\ntxt:abc\r\n", "=3\r\nab:\r\n", "=5\r\n:::::\r\n", "$3\r\n", Uint8Array.of(0xff), "\n", "\r",
];

/** Checks a reply against the limits: depth, aggregate sizes, string sizes. */
function checkReply(value: unknown, depth = 0): void {
  const aggregate = (items: number, children: Iterable<unknown>) => {
    if (depth + 1 > LIMITS.maxNestingDepth) throw new Broken(`respCodec() gave aggregates nested ${depth + 1} deep, over maxNestingDepth ${LIMITS.maxNestingDepth}`);
    if (items > LIMITS.maxAggregateLength) throw new Broken(`respCodec() gave an aggregate of ${items} items, over maxAggregateLength ${LIMITS.maxAggregateLength}`);
    for (const c of children) checkReply(c, depth + 1);
  };
  const text = Math.max(LIMITS.maxInlineBytes, LIMITS.maxBulkBytes);
  if (Array.isArray(value)) aggregate(value.length, value);
  else if (value instanceof Push) aggregate(value.values.length, value.values);
  else if (value instanceof Set) aggregate(value.size, value);
  else if (value instanceof Map) aggregate(value.size * 2, [...value].flat());
  else if (value instanceof Uint8Array) {
    if (value.length > LIMITS.maxBulkBytes) throw new Broken(`respCodec() gave a bulk string of ${value.length} bytes`);
  } else if (typeof value === "string" || value instanceof RespError || value instanceof Verbatim) {
    const s = typeof value === "string" ? value : value instanceof RespError ? value.message : value.text;
    if (s.length > text) throw new Broken(`respCodec() gave a string of ${s.length} characters, over the limits`);
  } else if (typeof value === "bigint") {
    if (String(value).length > LIMITS.maxInlineBytes) throw new Broken("respCodec() gave a big number longer than a line");
  } else if (!(value === null || typeof value === "number" || typeof value === "boolean")) {
    throw new Broken(`respCodec() gave ${typeof value} ${Object.prototype.toString.call(value)}`);
  }
}

function replyTarget(bulkAs: "text" | "bytes"): FuzzTarget {
  return {
    name: `respCodec(${JSON.stringify({ ...LIMITS, bulkAs })})`,
    open: () => ({ decoder: respCodec({ ...LIMITS, bulkAs }), check: (v) => checkReply(v as RespValue) }),
    // A line over maxInlineBytes is refused before its end is in; a bulk, at its header.
    heldBytes: Math.max(LIMITS.maxInlineBytes, LIMITS.maxBulkBytes) + 1,
    // What an unfinished aggregate holds is counted against maxValueBytes.
    pendingBytes: LIMITS.maxValueBytes,
    valid: replies,
    tokens: REPLY_TOKENS,
  };
}

type ServerLimits = { maxBulkBytes: number; maxAggregateLength: number; maxInlineBytes: number; maxValueBytes: number };

const word = fc.oneof(
  fc.stringMatching(/^[a-zA-Z0-9]{1,6}$/),
  fc.stringMatching(/^"([a-z ']|\\[nrtab"\\]|\\x[0-9a-fA-F]{2}){0,6}"$/),
  fc.stringMatching(/^'([a-z "]|\\'){0,6}'$/),
);
const utf8 = new TextEncoder();
const inline = fc.tuple(fc.array(word, { maxLength: 4 }), fc.constantFrom("\r\n", "\n"))
  .map(([ws, end]) => utf8.encode(ws.join(" ") + end));
const multibulk = fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.uint8Array({ maxLength: 20 })), { minLength: 1, maxLength: 7 }).map((args) => {
  const out = new WriteBuffer();
  respCodec().encode(args, out);
  return out.bytes().slice();
});
const commands = fc.array(fc.oneof(multibulk, inline, fc.constantFrom("*0\r\n", "*-1\r\n", "\r\n").map((s) => utf8.encode(s))), { maxLength: 6 }).map(concat);

/** Checks a command against `limits`. */
function checkCommand(limits: ServerLimits) {
  const arg = Math.max(limits.maxBulkBytes, limits.maxInlineBytes);
  return (frame: unknown): void => {
    if (!Array.isArray(frame) || frame.length === 0) throw new Broken("respServerCodec() gave something other than a non-empty array");
    let total = 0;
    for (const a of frame) {
      if (!(a instanceof Uint8Array)) throw new Broken(`respServerCodec() gave an argument of type ${typeof a}`);
      if (a.length > arg) throw new Broken(`respServerCodec() gave an argument of ${a.length} bytes`);
      total += a.length;
    }
    if (frame.length > Math.max(limits.maxAggregateLength, limits.maxInlineBytes)) throw new Broken(`respServerCodec() gave ${frame.length} arguments`);
    if (total > Math.max(limits.maxValueBytes, limits.maxInlineBytes)) throw new Broken(`respServerCodec() gave a command of ${total} bytes`);
  };
}

const COMMAND_TOKENS = [
  "\r\n", "\n", "\r", "*", "*2\r\n", "*7\r\n", "*-1\r\n", "*0\r\n", "$3\r\n", "$16\r\n", "$17\r\n", "$-1\r\n", "$x\r\n", "GET k\r\n",
  "\"a b\"", "'a b'", "\"\\x4\"", "\"unbalanced", "'x'y", "\\", " ", "\t", Uint8Array.of(0), "x".repeat(12), "0", "00", "000", "-0",
];

function serverTarget(limits: ServerLimits): FuzzTarget {
  return {
    name: `respServerCodec(${JSON.stringify(limits)})`,
    open: () => ({ decoder: respServerCodec(limits), check: checkCommand(limits) }),
    // A line whose "\r" is the last byte held is at most maxInlineBytes; a bulk waits for its payload and CRLF.
    heldBytes: Math.max(limits.maxInlineBytes, limits.maxBulkBytes) + 1,
    valid: commands,
    tokens: COMMAND_TOKENS,
  };
}

export const targets: FuzzTarget[] = [
  replyTarget("text"),
  replyTarget("bytes"),
  serverTarget({ maxBulkBytes: 16, maxAggregateLength: 6, maxInlineBytes: 24, maxValueBytes: 90 }),
  // Lines of a few bytes: a length header can reach maxInlineBytes.
  serverTarget({ maxBulkBytes: 8, maxAggregateLength: 3, maxInlineBytes: 5, maxValueBytes: 40 }),
];
