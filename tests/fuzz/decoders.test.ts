/**
 * Every decoder under fast-check with random and mutated inputs (see
 * ./_fuzz.ts for what each case checks): a short run here, WEFT_FUZZ_RUNS
 * cases per property (200 by default); `npm run fuzz` runs the same
 * properties 100,000 times each.
 */
import { suite } from "uvu";
import { fuzzTests } from "./_fuzz.ts";
import { families } from "./_targets.ts";

for (const [family, targets] of Object.entries(families)) {
  const test = suite(`fuzz: ${family}`);
  fuzzTests(test, targets);
  test.run();
}
