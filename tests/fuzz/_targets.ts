/** Every fuzz target, by decoder family: what `npm test` runs briefly and `npm run fuzz` at length. */
import type { FuzzTarget } from "./_fuzz.ts";
import { targets as http } from "./_http.ts";
import { targets as length } from "./_length.ts";
import { targets as resp } from "./_resp.ts";
import { targets as text } from "./_text.ts";

export const families: Record<string, FuzzTarget[]> = {
  "lines, jsonLines, delimited": text,
  "lengthDelimited, varintDelimited, fixedLength": length,
  "resp": resp,
  "http": http,
};

/** Every target, in one list. */
export const allTargets: FuzzTarget[] = Object.values(families).flat();
