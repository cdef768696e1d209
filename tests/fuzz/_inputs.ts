/**
 * The inputs of the fuzz properties: byte strings, and the chunks they arrive in.
 *
 * Four sources, mixed: random bytes; runs of the codec's tokens (its
 * delimiters, headers and length fields, with random bytes between them: a
 * dictionary gets deeper into a format than chance does); valid streams as
 * they are; and valid streams mutated — bits flipped, bytes set, tokens or
 * random bytes inserted, ranges deleted or duplicated, the tail cut off.
 * Every input is then split into chunks at random places, or into one byte
 * per chunk.
 */
import fc from "fast-check";
import { split } from "../codec/_properties.ts";

/** One input: its bytes, and the chunks they arrive in. */
export interface FuzzInput {
  bytes: Uint8Array;
  chunks: Uint8Array[];
}

/** A change to a valid stream; positions are taken modulo its length. */
export type Mutation =
  | { op: "flip"; at: number; bit: number }
  | { op: "set"; at: number; byte: number }
  | { op: "insert"; at: number; bytes: Uint8Array }
  | { op: "token"; at: number; token: number }
  | { op: "delete"; at: number; length: number }
  | { op: "duplicate"; from: number; length: number; at: number }
  | { op: "truncate"; at: number };

/** Bytes that mean something to one codec or another: terminators, digits, the ends of ranges. */
const SPECIAL = [0x00, 0x01, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x2a, 0x24, 0x2d, 0x30, 0x31, 0x39, 0x3a, 0x3b, 0x5c, 0x7f, 0x80, 0xc3, 0xff];

/** A byte, the special ones more often than chance. */
export const byte: fc.Arbitrary<number> = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...SPECIAL));

const utf8 = new TextEncoder();

/** Tokens as bytes: strings as UTF-8. */
export function tokenBytes(tokens: readonly (string | Uint8Array)[]): Uint8Array[] {
  return tokens.map((t) => (typeof t === "string" ? utf8.encode(t) : t));
}

/** Joins byte strings. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function mutation(tokens: number): fc.Arbitrary<Mutation> {
  const at = fc.nat();
  const ops: fc.Arbitrary<Mutation>[] = [
    fc.record({ op: fc.constant("flip" as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ op: fc.constant("set" as const), at, byte }),
    fc.record({ op: fc.constant("insert" as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ op: fc.constant("delete" as const), at, length: fc.integer({ min: 1, max: 16 }) }),
    fc.record({ op: fc.constant("duplicate" as const), from: fc.nat(), length: fc.integer({ min: 1, max: 32 }), at }),
    fc.record({ op: fc.constant("truncate" as const), at }),
  ];
  if (tokens > 0) ops.push(fc.record({ op: fc.constant("token" as const), at, token: fc.nat({ max: tokens - 1 }) }));
  return fc.oneof(...ops);
}

/** `bytes` with `mutations` applied in turn (a fresh array). */
export function mutate(bytes: Uint8Array, mutations: readonly Mutation[], tokens: readonly Uint8Array[]): Uint8Array {
  let b: Uint8Array = bytes.slice();
  for (const m of mutations) {
    const n = b.length;
    const pos = (i: number) => (n === 0 ? 0 : i % n);
    switch (m.op) {
      case "flip":
        if (n > 0) b[pos(m.at)]! ^= 1 << m.bit;
        break;
      case "set":
        if (n > 0) b[pos(m.at)] = m.byte;
        break;
      case "insert":
      case "token": {
        const at = n === 0 ? 0 : m.at % (n + 1);
        b = concat([b.subarray(0, at), m.op === "insert" ? m.bytes : tokens[m.token]!, b.subarray(at)]);
        break;
      }
      case "delete": {
        const at = pos(m.at);
        b = concat([b.subarray(0, at), b.subarray(at + m.length)]);
        break;
      }
      case "duplicate": {
        const from = pos(m.from);
        const at = n === 0 ? 0 : m.at % (n + 1);
        b = concat([b.subarray(0, at), b.subarray(from, from + m.length), b.subarray(at)]);
        break;
      }
      case "truncate":
        b = b.subarray(0, pos(m.at)).slice();
        break;
    }
  }
  return b;
}

/** Where to cut: up to 12 random places, or between every two bytes. */
const cuts: fc.Arbitrary<number[] | "bytes"> = fc.oneof(
  { weight: 5, arbitrary: fc.array(fc.nat(), { maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constant("bytes" as const) },
);

/** The inputs for a codec: random, token runs, valid and mutated valid streams, each split into chunks. */
export function inputs(valid: fc.Arbitrary<Uint8Array>, dictionary: readonly (string | Uint8Array)[], maxRandomBytes = 256): fc.Arbitrary<FuzzInput> {
  const tokens = tokenBytes(dictionary);
  const random = fc.uint8Array({ maxLength: maxRandomBytes });
  const piece = tokens.length > 0
    ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...tokens) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 6 }) })
    : fc.uint8Array({ maxLength: 6 });
  const words = fc.array(piece, { maxLength: 40 }).map(concat);
  // Mostly one or two changes, so that what follows the first one still parses and gets fuzzed too.
  const change = mutation(tokens.length);
  const changes = fc.oneof(
    { weight: 4, arbitrary: fc.array(change, { minLength: 1, maxLength: 1 }) },
    { weight: 2, arbitrary: fc.array(change, { minLength: 2, maxLength: 3 }) },
    { weight: 1, arbitrary: fc.array(change, { minLength: 4, maxLength: 8 }) },
  );
  const mutated = fc.tuple(valid, changes).map(([b, m]) => mutate(b, m, tokens));
  const source = fc.oneof(
    { weight: 1, arbitrary: random },
    { weight: 2, arbitrary: words },
    { weight: 1, arbitrary: valid },
    { weight: 5, arbitrary: mutated },
  );
  return fc.tuple(source, cuts).map(([bytes, at]) => ({
    bytes,
    chunks: at === "bytes" ? Array.from(bytes, (b) => Uint8Array.of(b)) : split(bytes, at),
  }));
}
