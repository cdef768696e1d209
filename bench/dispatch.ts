/**
 * `npm run bench:dispatch`: a Redis-inline PING server — weft's lines() and
 * pipeline dispatcher behind serve(), against a hand-written server on the
 * same runtime's own socket API — measured with redis-benchmark
 * (`-t ping_inline -c 50`, at `-P 1` and `-P 32`) on Node, Deno and Bun,
 * alternating, repeated; prints medians and ratios.
 *
 *   npm run bench:dispatch                         all runtimes, 5 rounds
 *   npm run bench:dispatch -- --only=deno --rounds=3
 *   npm run bench:dispatch -- --write-readme       also put the table into README.md
 *
 * The servers run pinned to one core, redis-benchmark to another.
 */
import { args, flag, fmt, note, runClient, runtimes, startWorker, writeReadme } from "./_orchestrate.ts";
import { median } from "./_stats.ts";

const rounds = Number(flag("rounds") ?? 5);
const requests: Record<number, number> = { 1: Number(flag("n1") ?? 100_000), 32: Number(flag("n32") ?? 1_000_000) };

async function rps(port: number, pipeline: number): Promise<number> {
  const out = await runClient("redis-benchmark", [
    "-h", "127.0.0.1", "-p", String(port), "-t", "ping_inline", "-c", "50", "-P", String(pipeline), "-n", String(requests[pipeline]), "--csv",
  ]);
  const row = out.split("\n").find((l) => l.startsWith('"PING_INLINE"'));
  if (row === undefined) throw new Error(`redis-benchmark printed no result:\n${out}`);
  return Number(JSON.parse(`[${row}]`)[1]);
}

interface Row {
  runtime: string;
  pipeline: number;
  native: number[];
  weft: number[];
}

const rows: Row[] = [];
for (const r of runtimes()) {
  process.stderr.write(`\n${r.name}:\n`);
  const { info, stop } = await startWorker<{ runtime: string; native: number; weft: number }>(r, "bench/dispatch_worker.ts", []);
  try {
    for (const pipeline of [1, 32]) {
      const row: Row = { runtime: info.runtime, pipeline, native: [], weft: [] };
      await rps(info.native, pipeline); // warm-up, both
      await rps(info.weft, pipeline);
      for (let i = 0; i < rounds; i++) {
        for (const variant of ["native", "weft"] as const) {
          const value = await rps(info[variant], pipeline);
          row[variant].push(value);
          process.stderr.write(`  ${r.name} -P ${pipeline} ${variant} #${i + 1}: ${value.toFixed(0)} requests/s\n`);
        }
      }
      rows.push(row);
    }
  } finally {
    await stop();
  }
}

const header = [
  "| runtime | pipelining | native (requests/s) | weft (requests/s) | weft / native |",
  "|---|---|---|---|---|",
];
// Each round measures both back to back: the median of the per-round ratios.
const lines = rows.map((row) =>
  `| ${row.runtime} | -P ${row.pipeline} | ${fmt(median(row.native))} | ${fmt(median(row.weft))} | **${median(row.weft.map((w, i) => w / row.native[i]!)).toFixed(2)}** |`
);
const noteText = note(`Medians of ${rounds} alternating rounds (ratios: the median of each round's ratio), redis-benchmark -t ping_inline -c 50, ${requests[1]} requests at -P 1 and ${requests[32]} at -P 32`);
console.log(["", ...header, ...lines, "", noteText].join("\n"));
if (args.includes("--write-readme")) writeReadme("dispatch", header, lines, noteText);
