/**
 * `npm run bench:http`: a hello-world HTTP/1.1 handler — weft's serveHttp()
 * against the runtime's own server on the same runtime (`node:http` on Node,
 * `Deno.serve` on Deno, `Bun.serve` on Bun) — measured with wrk
 * (`-t1 -c50 -d5s`, keep-alive) on Node, Deno and Bun, alternating,
 * repeated; prints medians, ratios and the targets (≥ 1.5× node:http,
 * ≥ 0.8× Deno.serve and Bun.serve).
 *
 *   npm run bench:http                             all runtimes, 5 rounds of 5 s
 *   npm run bench:http -- --only=deno,node24 --rounds=3 --duration=3
 *   npm run bench:http -- --write-readme           also put the table into README.md
 *
 * The servers run pinned to one core, wrk to another. Every run of wrk must
 * end without socket errors or non-2xx responses, or the benchmark stops.
 */
import { args, cpuSeconds, flag, fmt, note, runClient, runtimes, startWorker, writeReadme } from "./_orchestrate.ts";
import { median } from "./_stats.ts";

const rounds = Number(flag("rounds") ?? 5);
const duration = parseInt(flag("duration") ?? "5", 10); // seconds; "--duration=3s" too
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

interface Row {
  runtime: string;
  native: number[];
  weft: number[];
  lazy: number[];
  /** The server's CPU time per request, in microseconds: steadier than throughput on a shared machine. */
  cpu: { native: number[]; weft: number[]; lazy: number[] };
}

const rows: Row[] = [];
for (const r of runtimes()) {
  process.stderr.write(`\n${r.name}:\n`);
  const { info, pid, stop } = await startWorker<{ runtime: string; native: number; weft: number; lazy: number }>(r, "bench/http_worker.ts", []);
  try {
    await check(`${r.name} native`, info.native);
    await check(`${r.name} weft`, info.weft);
    await check(`${r.name} weft lazyRequests`, info.lazy);
    const row: Row = { runtime: info.runtime, native: [], weft: [], lazy: [], cpu: { native: [], weft: [], lazy: [] } };
    await wrk(info.native, warmup); // warm-up, all three
    await wrk(info.weft, warmup);
    await wrk(info.lazy, warmup);
    for (let i = 0; i < rounds; i++) {
      for (const variant of ["native", "weft", "lazy"] as const) {
        const before = cpuSeconds(pid);
        const { rps, requests, p50, p99 } = await wrk(info[variant], duration);
        const cpu = ((cpuSeconds(pid) - before) * 1e6) / requests;
        row[variant].push(rps);
        row.cpu[variant].push(cpu);
        process.stderr.write(`  ${r.name} ${variant} #${i + 1}: ${rps.toFixed(0)} requests/s, ${cpu.toFixed(1)} µs CPU/request (latency p50 ${p50}, p99 ${p99})\n`);
      }
    }
    rows.push(row);
  } finally {
    await stop();
  }
}

const header = [
  "| runtime | native server | native (requests/s) | weft (requests/s) | weft / native | weft, lazyRequests (requests/s) | lazyRequests / native | target | server CPU per request: native / weft / lazyRequests (µs) |",
  "|---|---|---|---|---|---|---|---|---|",
];
// Each round measures both back to back: the median of the per-round ratios.
const lines = rows.map((row) => {
  const native = NATIVE[row.runtime.split(" ")[0]!]!;
  const ratio = median(row.weft.map((w, i) => w / row.native[i]!));
  const lazyRatio = median(row.lazy.map((w, i) => w / row.native[i]!));
  return `| ${row.runtime} | ${native.name} | ${fmt(median(row.native))} | ${fmt(median(row.weft))} | **${ratio.toFixed(2)}** | ${fmt(median(row.lazy))} | **${lazyRatio.toFixed(2)}** | ≥ ${native.target} | ${median(row.cpu.native).toFixed(1)} / ${median(row.cpu.weft).toFixed(1)} / ${median(row.cpu.lazy).toFixed(1)} |`;
});
const noteText = note(
  `Medians of ${rounds} alternating rounds (ratios: the median of each round's ratio), wrk -t${THREADS} -c${CONNECTIONS} -d${duration}s with keep-alive, ` +
    `GET / answered with 200 "${BODY}" (text/plain;charset=UTF-8), after a ${warmup} s warm-up of each server`,
);
console.log(["", ...header, ...lines, "", noteText].join("\n"));
if (args.includes("--write-readme")) writeReadme("http", header, lines, new Set(rows.map((r) => r.runtime.split(" ")[0]!)), noteText);
