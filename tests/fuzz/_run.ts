/**
 * One property of the long fuzz run, in a process of its own (scripts/fuzz.ts
 * starts one per property, on the runtime asked for, and stops it if it hangs).
 *
 *   <runtime> tests/fuzz/_run.ts --property=NAME --runs=N --seed=S [--path=P]
 *
 * Prints one line: `@@fuzz {"name":...,"cases":N,"ms":N,"seed":S,"failed":false}`
 * (for a failure also the path, the shrunk input and the error).
 */
import { runTarget } from "./_fuzz.ts";
import { allTargets } from "./_targets.ts";

function option(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.slice(2).find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

const name = option("property");
const target = allTargets.find((t) => t.name === name);
if (target === undefined) throw new Error(`No fuzz property is named ${JSON.stringify(name)}`);
const seed = option("seed");
const report = runTarget(target, {
  numRuns: Number(option("runs") ?? 100_000),
  seed: seed === undefined ? undefined : Number(seed),
  path: option("path"),
});
process.stdout.write(`@@fuzz ${JSON.stringify(report)}\n`);
process.exit(0);
