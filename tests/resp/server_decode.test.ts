/**
 * The server's own command decoding (decodeCommands: commands read straight
 * from a chunk where they can be) against the codec's decodeMany, on random
 * streams of well-formed, odd and malformed commands cut at random places:
 * the same commands, and the same error at the same point.
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { ReadBuffer } from "../../mod.ts";
import { type RespLimits, respServerCodec } from "../../src/protocols/resp/mod.ts";
import { serverCodec } from "../../src/protocols/resp/codec.ts";
import type { ParsedCommand } from "../../src/protocols/resp/_command_decoder.ts";

const test = suite("resp: server decoding");
const enc = new TextEncoder();

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

const PIECES = [
  "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
  "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n",
  "*1\r\n$4\r\nPING\r\n",
  "*1\r\n$4\r\nping\r\n",
  "*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n",
  "*2\r\n$7\r\nLONGCMD\r\n$0\r\n\r\n",
  "*1\r\n$0\r\n\r\n",
  "*2\r\n$2\r\n\xff\xfe\r\n$1\r\n\x00\r\n",
  "PING\r\n",
  "SET a b\r\n",
  "  GET   k  \r\n",
  "ECHO x\n",
  "\r\n",
  "   \r\n",
  'SET k "a b"\r\n',
  "SET k 'c'\r\n",
  "ECHO a\tb\r\n",
  "*0\r\n",
  "*-1\r\n",
  "*01\r\n$04\r\nPING\r\n",
  "*2\r\n$3\r\nGET\r\n$3\r\nkeyXY",
  "*1\r\n$4\r\nPINGxx",
  "*1\n$4\nPING\n\n",
  "*1\r\n$200\r\n" + "x".repeat(200) + "\r\n",
  "*30\r\n" + "$1\r\na\r\n".repeat(30),
];
const BAD = ["*x\r\n", "*1\r\n+3\r\n", "*1\r\n$-2\r\n", "*1\r\n$3x\r\n", 'GET "a\r\n', "*99999999999\r\n", "*1\r\n$9999999999\r\n"];

type Outcome = { commands: string[]; error: string | undefined };

function run(chunks: Uint8Array[], limits: RespLimits, fast: boolean): Outcome {
  const commands: string[] = [];
  let error: string | undefined;
  const src = new ReadBuffer();
  const slow = respServerCodec(limits);
  const quick = serverCodec(limits);
  try {
    for (const chunk of chunks) {
      src.push(chunk);
      if (fast) {
        const out: ParsedCommand[] = [];
        try {
          quick.decodeCommands(src, out);
        } finally {
          for (const c of out) commands.push([hex(c.nameBytes()), ...c.args.map(hex)].join(" "));
        }
      } else {
        const out: Uint8Array[][] = [];
        try {
          slow.decodeMany!(src, out);
        } finally {
          for (const c of out) commands.push(c.map(hex).join(" "));
        }
      }
    }
  } catch (e) {
    error = String(e);
  }
  return { commands, error };
}

test("decodeCommands gives what decodeMany gives, however the bytes are cut", () => {
  const limitsList: RespLimits[] = [
    {},
    { maxInlineBytes: 8 },
    { maxBulkBytes: 100 },
    { maxAggregateLength: 10 },
    { maxValueBytes: 60 },
  ];
  for (let seed = 1; seed <= 400; seed++) {
    const rand = prng(seed);
    const parts: string[] = [];
    const n = 1 + Math.floor(rand() * 12);
    for (let i = 0; i < n; i++) parts.push(PIECES[Math.floor(rand() * PIECES.length)]!);
    if (rand() < 0.3) parts.push(BAD[Math.floor(rand() * BAD.length)]!, PIECES[0]!);
    const bytes = Uint8Array.from(parts.join(""), (c) => c.charCodeAt(0));
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < bytes.length;) {
      const len = rand() < 0.5 ? bytes.length : 1 + Math.floor(rand() * 40);
      chunks.push(bytes.slice(at, at + len));
      at += len;
    }
    for (const limits of limitsList) {
      const want = run(chunks, limits, false);
      const got = run(chunks, limits, true);
      assert.equal(got, want, `seed ${seed}, limits ${JSON.stringify(limits)}`);
    }
  }
});

test("a short name travels as a number and comes back as its bytes", () => {
  const src = new ReadBuffer();
  src.push(enc.encode("*1\r\n$6\r\nABCDEF\r\n*1\r\n$7\r\nABCDEFG\r\nget k\r\n"));
  const out: ParsedCommand[] = [];
  serverCodec({}).decodeCommands(src, out);
  assert.is(out.length, 3);
  assert.ok(out[0]!.key >= 0 && out[0]!.name === undefined);
  assert.is(new TextDecoder().decode(out[0]!.nameBytes()), "ABCDEF");
  assert.is(out[1]!.key, -1);
  assert.is(new TextDecoder().decode(out[1]!.nameBytes()), "ABCDEFG");
  assert.is(new TextDecoder().decode(out[2]!.nameBytes()), "get");
  assert.is(new TextDecoder().decode(out[2]!.args[0]), "k");
});

test.run();
