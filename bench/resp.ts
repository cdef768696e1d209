/**
 * `npm run bench:resp`: weft's Redis-compatible server on Node, Deno and Bun
 * against a real redis-server, both measured with redis-benchmark
 * (`-t ping_inline,ping_mbulk,set,get -c 50`, at `-P 1` and `-P 32`) in the
 * same run, alternating, repeated; prints medians and ratios.
 *
 *   npm run bench:resp                            all runtimes, 5 rounds
 *   npm run bench:resp -- --only=bun --rounds=3
 *   npm run bench:resp -- --write-readme          also put the table into README.md
 *
 * The servers run pinned to one core, redis-benchmark to another.
 */
import { args, flag, fmt, note, runClient, runtimes, spawnServer, startWorker, writeReadme } from "./_orchestrate.ts";
import { median } from "./_stats.ts";

const rounds = Number(flag("rounds") ?? 5);
const TESTS = ["PING_INLINE", "PING_MBULK", "SET", "GET"];
const requests: Record<number, number> = { 1: Number(flag("n1") ?? 50_000), 32: Number(flag("n32") ?? 1_000_000) };

/** requests/s per test, from one redis-benchmark run. */
async function rps(port: number, pipeline: number): Promise<Record<string, number>> {
  const out = await runClient("redis-benchmark", [
    "-h", "127.0.0.1", "-p", String(port), "-t", "ping_inline,ping_mbulk,set,get", "-c", "50", "-P", String(pipeline),
    "-n", String(requests[pipeline]), "--csv",
  ]);
  const result: Record<string, number> = {};
  for (const line of out.split("\n")) {
    if (!line.startsWith('"') || line.startsWith('"test"')) continue;
    const [name, value] = JSON.parse(`[${line}]`) as [string, string];
    result[name] = Number(value);
  }
  for (const t of TESTS) if (!(result[t]! > 0)) throw new Error(`redis-benchmark printed no ${t}:\n${out}`);
  return result;
}

async function freePort(): Promise<number> {
  const net = await import("node:net");
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const redisPort = await freePort();
const redis = spawnServer("redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
await new Promise((r) => setTimeout(r, 500));

interface Row {
  runtime: string;
  pipeline: number;
  test: string;
  redis: number[];
  weft: number[];
}
const rows: Row[] = [];
try {
  for (const r of runtimes()) {
    process.stderr.write(`\n${r.name}:\n`);
    const { info, stop } = await startWorker<{ runtime: string; weft: number }>(r, "bench/resp_worker.ts", []);
    try {
      for (const pipeline of [1, 32]) {
        const here = TESTS.map((test) => ({ runtime: info.runtime, pipeline, test, redis: [] as number[], weft: [] as number[] }));
        await rps(info.weft, pipeline); // warm-up
        for (let i = 0; i < rounds; i++) {
          for (const variant of ["redis", "weft"] as const) {
            const got = await rps(variant === "redis" ? redisPort : info.weft, pipeline);
            for (const row of here) row[variant].push(got[row.test]!);
            process.stderr.write(`  ${r.name} -P ${pipeline} ${variant} #${i + 1}: ${TESTS.map((t) => `${t} ${got[t]!.toFixed(0)}`).join(", ")}\n`);
          }
        }
        rows.push(...here);
      }
    } finally {
      await stop();
    }
  }
} finally {
  redis.kill();
}

const header = [
  "| runtime | pipelining | test | redis-server (requests/s) | weft (requests/s) | weft / redis-server |",
  "|---|---|---|---|---|---|",
];
const lines = rows.map((row) =>
  `| ${row.runtime} | -P ${row.pipeline} | ${row.test} | ${fmt(median(row.redis))} | ${fmt(median(row.weft))} | **${median(row.weft.map((w, i) => w / row.redis[i]!)).toFixed(2)}** |`
);
const noteText = note(`Medians of ${rounds} alternating rounds (ratios: the median of each round's ratio), redis-benchmark -c 50, ${requests[1]} requests per test at -P 1 and ${requests[32]} at -P 32, redis-server 7 on the same core as weft`);
console.log(["", ...header, ...lines, "", noteText].join("\n"));
if (args.includes("--write-readme")) writeReadme("resp", header, lines, noteText);
