/**
 * `npm run bench:tcp`: loopback TCP on Node, Deno and Bun — weft's Conn against
 * each runtime's own socket API (and, on Node, stream.Duplex.toWeb) in the same
 * run, alternating, repeated; prints medians and ratios.
 *
 *   npm run bench:tcp                              all runtimes, 5 rounds, 1 GiB
 *   npm run bench:tcp -- --only=deno --rounds=3 --gib=0.25
 *   npm run bench:tcp -- --write-readme            also put the table into README.md
 *   npm run bench:tcp -- --json=results.json       also save every measurement
 *
 * Scenarios: discard and echo move `--gib` GiB over one connection in 64 KiB
 * chunks; pingpong runs 50 connections with one 32-byte message in flight each.
 * Each runtime runs in its own process (bench/tcp_worker.ts).
 */
import { writeFileSync } from "node:fs";
import { args, flag, fmt, machine, note, runAll, writeReadme } from "./_orchestrate.ts";
import { median } from "./_stats.ts";

const pass = args.filter((a) => /^--(rounds|gib|scenarios|trips|conns)=/.test(a));

interface Result {
  runtime: string;
  scenario: string;
  unit: string;
  results: Record<string, number[]>;
}

const all = await runAll<Result>("bench/tcp_worker.ts", pass);

const lines = [
  "| runtime | scenario | native | weft | weft / native | weft BYOB / native | Duplex.toWeb / native |",
  "|---|---|---|---|---|---|---|",
];
// Each round measures every variant back to back, so a ratio is taken per
// round and the median of those is reported: a machine that speeds up or
// slows down between rounds then moves both sides of each ratio alike.
const ratio = (res: Result, name: string) => {
  const xs = res.results[name];
  const native = res.results.native!;
  return xs ? median(xs.map((x, i) => x / native[i]!)).toFixed(2) : "";
};
for (const res of all) {
  const native = median(res.results.native!);
  lines.push(
    `| ${res.runtime} | ${res.scenario} (${res.unit}) | ${fmt(native)} | ${fmt(median(res.results.weft!))} | **${ratio(res, "weft")}** | ${ratio(res, "weft BYOB")} | ${ratio(res, "Duplex.toWeb")} |`,
  );
}
const rounds = Number(flag("rounds") ?? 5);
const table = [
  ...lines,
  "",
  note(`Medians of ${rounds} alternating rounds (ratios: the median of each round's ratio), ${flag("gib") ?? 1} GiB per discard/echo round`),
].join("\n");
console.log("\n" + table);
if (flag("json")) writeFileSync(flag("json")!, JSON.stringify({ machine: machine(), rounds, results: all }, null, 1));
if (args.includes("--write-readme")) {
  writeReadme("tcp", lines.slice(0, 2), lines.slice(2), table.split("\n").at(-1)!);
}
