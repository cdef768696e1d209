/** RESP values for property tests, and a plain form of them to compare decoded values by content. */
import fc from "fast-check";
import { Push, RespError, type RespValue, SimpleString, Verbatim } from "../../src/protocols/resp/mod.ts";

const line = fc.string({ maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, " "));
const utf8 = new TextEncoder();
const fatal = new TextDecoder("utf-8", { fatal: true });

function identity(v: RespValue): string {
  return JSON.stringify(plainValue(v, true, true));
}

/** Every kind of value, nested up to 3 deep. */
export const respValue: fc.Arbitrary<RespValue> = fc.letrec<{ value: RespValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    line.map((s) => new SimpleString(s)),
    fc.string({ unit: "binary", maxLength: 20 }),
    fc.uint8Array({ maxLength: 40 }),
    line.map((s) => new RespError(`ERR ${s}`)),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double(),
    fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
    fc.boolean(),
    fc.constant(null),
    fc.tuple(fc.constantFrom("txt", "mkd"), fc.string({ maxLength: 20 })).map(([f, t]) => new Verbatim(f, t)),
    fc.array(tie("value"), { maxLength: 4 }),
    // Keys and members that stay distinct once decoded (two `+a` keys would be one).
    fc.uniqueArray(fc.tuple(tie("value"), tie("value")), { maxLength: 3, selector: ([k]) => identity(k) }).map((e) => new Map(e)),
    fc.uniqueArray(tie("value"), { maxLength: 3, selector: identity }).map((v) => new Set(v)),
    fc.array(tie("value"), { maxLength: 3 }).map((v) => new Push(v)),
  ),
})).value;

/**
 * A value as plain data, as it reads after a RESP3 round trip (`text`: bulk
 * strings as text when UTF-8). `given`: `v` is a value given to the encoder,
 * whose strings are bulk strings (bytes, unless `text`); decoded strings are
 * simple strings.
 */
export function plainValue(v: unknown, text = false, given = false): unknown {
  if (typeof v === "string") {
    if (given && !text) return { b: Array.from(utf8.encode(v)).join() };
    return { s: new TextDecoder().decode(utf8.encode(v)) };
  }
  if (v instanceof Uint8Array) {
    if (text) {
      try {
        return { s: fatal.decode(v) };
      } catch {
        // stays bytes
      }
    }
    return { b: Array.from(v).join() };
  }
  if (typeof v === "number" || typeof v === "bigint") return { n: String(v) };
  if (v instanceof SimpleString) return { s: v.value };
  if (v instanceof RespError) return { e: v.message };
  if (v instanceof Verbatim) return { v: `${v.format}:${new TextDecoder().decode(utf8.encode(v.text))}` };
  if (v instanceof Push) return { push: v.values.map((x) => plainValue(x, text, given)) };
  if (v instanceof Map) return { map: [...v].map(([k, x]) => [plainValue(k, text, given), plainValue(x, text, given)]) };
  if (v instanceof Set) return { set: [...v].map((x) => plainValue(x, text, given)) };
  if (Array.isArray(v)) return v.map((x) => plainValue(x, text, given));
  return v;
}
