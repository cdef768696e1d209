/**
 * `npm run bench:service`: what a call through weft's middleware costs, on
 * Node, Deno and Bun — an async function called directly against the same
 * function as a service behind timeout, concurrencyLimit, retry,
 * circuitBreaker and observe, in the same process, alternating, repeated;
 * prints medians of ns per call and the cost each layer adds.
 *
 *   npm run bench:service                          all runtimes, 7 rounds of 200 000 calls
 *   npm run bench:service -- --only=node --rounds=3 --calls=50000
 *   npm run bench:service -- --write-readme        also put the table into README.md
 *   npm run bench:service -- --json=results.json   also save every measurement
 *
 * Each runtime runs in its own process (bench/service_worker.ts).
 */
import { writeFileSync } from "node:fs";
import { args, flag, fmt, machine, note, runAll, writeReadme } from "./_orchestrate.ts";
import { median } from "./_stats.ts";

const pass = args.filter((a) => /^--(rounds|calls)=/.test(a));

interface Result {
  runtime: string;
  results: Record<string, number[]>;
}

const all = await runAll<Result>("bench/service_worker.ts", pass);

const single = ["timeout", "concurrencyLimit", "retry", "circuitBreaker", "observe"];
const lines = [
  `| runtime | direct call | through the five layers | added by the five | ${single.map((s) => `+ ${s}`).join(" | ")} |`,
  `|---|---|---|---|${single.map(() => "---").join("|")}|`,
];
// Each round measures every variant back to back: the cost a layer adds is
// taken per round (against serviceFn, or the direct call for the stack), and
// the median of those is reported.
const added = (res: Result, name: string, base: string) => {
  const xs = res.results[name]!;
  const b = res.results[base]!;
  return median(xs.map((x, i) => x - b[i]!));
};
for (const res of all) {
  const stackAdded = added(res, "five", "direct");
  lines.push(
    `| ${res.runtime} | ${fmt(median(res.results.direct!))} | ${fmt(median(res.results.five!))} | **${fmt(stackAdded)}** | ${
      single.map((s) => fmt(added(res, s, "serviceFn"))).join(" | ")
    } |`,
  );
}
const rounds = Number(flag("rounds") ?? 7);
const table = [
  ...lines,
  "",
  note(
    `Medians of ${rounds} alternating rounds of ${flag("calls") ?? 200_000} sequential calls, in ns per call; ` +
      "“added” is the median of each round's difference (a single layer's against serviceFn alone)",
  ),
].join("\n");
console.log("\n" + table);
if (flag("json")) writeFileSync(flag("json")!, JSON.stringify({ machine: machine(), rounds, results: all }, null, 1));
if (args.includes("--write-readme")) {
  writeReadme("service", lines.slice(0, 2), lines.slice(2), table.split("\n").at(-1)!);
}
