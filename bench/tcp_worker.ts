/**
 * Runs the TCP scenarios on the runtime it is started with, alternating weft
 * and the runtime's native API (and, on Node, Duplex.toWeb), and prints one
 * JSON line per scenario: {"runtime","scenario","unit","results":{variant:[...]}}.
 *
 *   <runtime> bench/tcp_worker.ts [--rounds=5] [--gib=1] [--scenarios=discard,echo,pingpong]
 */
import type { Adapter } from "../mod.ts";
import { alternate } from "./_stats.ts";
import { discard, echo, pingpong, type Variant } from "./_scenarios.ts";
import { weftVariant } from "./_weft.ts";
import { arg, runtime, version } from "./_worker.ts";

const rounds = Number(arg("rounds", "5"));
// Whole 64 KiB chunks: the servers count bytes to know when a run is over.
const totalBytes = Math.max(1, Math.round((Number(arg("gib", "1")) * 1024 ** 3) / 65536)) * 65536;
const scenarios = arg("scenarios", "discard,echo,pingpong").split(",");
const conns = Number(arg("conns", "50"));
const roundTrips = Number(arg("trips", "100000"));

const adapter = (await import(`../adapters/${runtime}.ts`)) as Adapter;
const variants: Record<string, Variant> = { weft: weftVariant(adapter), "weft BYOB": weftVariant(adapter, true) };
if (runtime === "node") {
  const { nodeNative, toWebAdapter } = await import("./node_native.ts");
  variants.native = nodeNative;
  variants["Duplex.toWeb"] = weftVariant(toWebAdapter as Adapter);
} else {
  variants.native = (await import(`./${runtime}_native.ts`)).native as Variant;
}

const runs: Record<string, (v: Variant) => Promise<number>> = {
  discard: (v) => discard(v, totalBytes),
  echo: (v) => echo(v, totalBytes),
  pingpong: (v) => pingpong(v, conns, roundTrips, 32),
};

for (const scenario of scenarios) {
  const run = runs[scenario];
  if (!run) throw new Error(`unknown scenario ${scenario}`);
  const here = Object.entries(variants);
  // One untimed warm-up per variant, so that the JIT has seen the code.
  for (const [, v] of here) await (scenario === "pingpong" ? pingpong(v, conns, 5000, 32) : scenario === "echo" ? echo(v, 64 << 20) : discard(v, 64 << 20));
  const results = await alternate(
    rounds,
    Object.fromEntries(here.map(([name, v]) => [name, () => run(v)])),
    (name, round, value) => process.stderr.write(`  ${runtime} ${scenario} ${name} #${round + 1}: ${value.toFixed(0)}\n`),
  );
  const unit = scenario === "pingpong" ? "round trips/s" : "MB/s";
  console.log(JSON.stringify({ runtime: `${runtime} ${version}`, scenario, unit, results }));
}
process.exit(0);
