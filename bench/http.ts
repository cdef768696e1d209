/**
 * `npm run bench:http`: a hello-world HTTP/1.1 handler — weft's serveHttp()
 * (with standard Requests and Responses, with a FastResponse, and with
 * FastResponse and lazyRequests) against the runtime's own server on the
 * same runtime (`node:http` on Node 20 and 24, `Deno.serve` on Deno,
 * `Bun.serve` on Bun) and against a hand-written responder on the runtime's
 * socket API (the ceiling) — measured with wrk (`-t1 -c50 -d4s`,
 * keep-alive), alternating, repeated; prints medians, ratios to the native
 * server, the server's CPU time per request, and the targets (≥ 1.5×
 * node:http, ≥ 0.8× Deno.serve and Bun.serve).
 *
 *   npm run bench:http                             all runtimes, 5 rounds of 4 s
 *   npm run bench:http -- --only=deno,node24 --rounds=3 --duration=3
 *   npm run bench:http -- --write-readme           also put the table into README.md
 *
 * The servers run pinned to one core, wrk to another. Every run of wrk must
 * end without socket errors or non-2xx responses, or the benchmark stops.
 */
import { args, cpuSeconds, flag, fmt, note, runClient, runtimes, startWorker, writeReadme } from "./_orchestrate.ts";
import { median } from "./_stats.ts";

const rounds = Number(flag("rounds") ?? 5);
const duration = parseInt(flag("duration") ?? "4", 10); // seconds; "--duration=3s" too
if (!(duration > 0)) throw new Error(`--duration must be a whole number of seconds, got ${flag("duration")}`);
const warmup = Math.min(2, duration);
const THREADS = 1;
const CONNECTIONS = 50;
const BODY = "Hello, World!";

/** What the native server is, and the ratio weft should reach, per runtime. */
const NATIVE: Record<string, { name: string; target: number }> = {
  node: { name: "node:http", target: 1.5 },
  deno: { name: "Deno.serve", target: 0.8 },
  bun: { name: "Bun.serve", target: 0.8 },
};

interface Result {
  rps: number;
  requests: number;
  p50: string;
  p99: string;
}

/** One wrk run against `port` for `seconds`: requests/s and latency percentiles; throws on errors or non-2xx responses. */
async function wrk(port: number, seconds: number): Promise<Result> {
  const url = `http://127.0.0.1:${port}/`;
  const out = await runClient("wrk", [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency", url]);
  if (/Non-2xx or 3xx responses/.test(out) || /Socket errors/.test(out)) {
    throw new Error(`wrk against ${url} saw errors:\n${out}`);
  }
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)?.[1];
  if (rps === undefined || !(Number(rps) > 0)) throw new Error(`wrk printed no requests/s:\n${out}`);
  const percentile = (p: string) => new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m").exec(out)?.[1] ?? "?";
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  return { rps: Number(rps), requests, p50: percentile("50"), p99: percentile("99") };
}

/** Both servers must answer the same before they are compared (a missing content-type is only worth a warning). */
async function check(name: string, port: number): Promise<void> {
  const url = `http://127.0.0.1:${port}/`;
  const res = await fetch(url, { headers: { connection: "close" } });
  const body = await res.text();
  if (res.status !== 200 || body !== BODY) throw new Error(`${name} at ${url} answered ${res.status} ${JSON.stringify(body)}`);
  const type = res.headers.get("content-type");
  if (type?.toLowerCase() !== "text/plain;charset=utf-8") process.stderr.write(`  warning: ${name} answers with content-type ${type}\n`);
}

/** The servers a worker runs, in the order they are measured and shown. */
const SERVERS = ["native", "raw", "weft", "fastResponse", "fast"] as const;
type Server = (typeof SERVERS)[number];
const LABEL: Record<Server, (native: string) => string> = {
  native: (name) => name,
  raw: () => "hand-written responder on the socket API",
  weft: () => "weft: Request, Response",
  fastResponse: () => "weft: Request, FastResponse",
  fast: () => "weft: lazyRequests, FastResponse",
};

interface Row {
  runtime: string;
  rps: Record<Server, number[]>;
  /** The server's CPU time per request, in microseconds: steadier than throughput on a shared machine. */
  cpu: Record<Server, number[]>;
}

const each = <T>(make: () => T) => Object.fromEntries(SERVERS.map((s) => [s, make()])) as Record<Server, T>;
// Node 24 too by default: it is the Node most will run, and its undici differs from Node 20's.
const chosen = runtimes(true);
const rows: Row[] = [];
for (const r of chosen) {
  process.stderr.write(`\n${r.name}:\n`);
  // One process per server, all pinned to the same core.
  const workers = [] as { info: { runtime: string; port: number }; pid: number; stop(): Promise<void> }[];
  try {
    for (const s of SERVERS) workers.push(await startWorker<{ runtime: string; port: number }>(r, "bench/http_worker.ts", [`--server=${s}`]));
    const at = (s: Server) => workers[SERVERS.indexOf(s)]!;
    for (const s of SERVERS) await check(`${r.name} ${s}`, at(s).info.port);
    const row: Row = { runtime: workers[0]!.info.runtime, rps: each(() => []), cpu: each(() => []) };
    for (const s of SERVERS) await wrk(at(s).info.port, warmup);
    for (let i = 0; i < rounds; i++) {
      for (const s of SERVERS) {
        const { info, pid } = at(s);
        const before = cpuSeconds(pid);
        const { rps, requests, p50, p99 } = await wrk(info.port, duration);
        const cpu = ((cpuSeconds(pid) - before) * 1e6) / requests;
        row.rps[s].push(rps);
        row.cpu[s].push(cpu);
        process.stderr.write(`  ${r.name} ${s} #${i + 1}: ${rps.toFixed(0)} requests/s, ${cpu.toFixed(1)} µs CPU/request (latency p50 ${p50}, p99 ${p99})\n`);
      }
    }
    rows.push(row);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

const header = [
  "| runtime | server | requests/s | / native | CPU per request (µs) | target |",
  "|---|---|---|---|---|---|",
];
// Each round measures every server back to back: ratios are the median of the per-round ratios.
const lines = rows.flatMap((row) => {
  const native = NATIVE[row.runtime.split(" ")[0]!]!;
  return SERVERS.map((s) => {
    const ratio = median(row.rps[s].map((x, i) => x / row.rps.native[i]!));
    const shown = s === "native" ? "1" : s === "raw" ? ratio.toFixed(2) : `**${ratio.toFixed(2)}**`;
    const target = s === "native" || s === "raw" ? "" : `≥ ${native.target}`;
    return `| ${row.runtime} | ${LABEL[s](native.name)} | ${fmt(median(row.rps[s]))} | ${shown} | ${median(row.cpu[s]).toFixed(1)} | ${target} |`;
  });
});
const noteText = note(
  `Medians of ${rounds} alternating rounds (ratios: the median of each round's ratio), wrk -t${THREADS} -c${CONNECTIONS} -d${duration}s with keep-alive, ` +
    `GET / answered with 200 "${BODY}" (text/plain;charset=UTF-8), each server in a process of its own, after a ${warmup} s warm-up of each; CPU: the server process's user and system time per request, from /proc`,
);
console.log(["", ...header, ...lines, "", noteText].join("\n"));
if (args.includes("--write-readme")) writeReadme("http", header, lines, noteText);
