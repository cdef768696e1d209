/**
 * `npm run bench:framing`: decoding frames in memory on Node, Deno and Bun —
 * weft's two stream paths against a tight synchronous loop (the JS limit),
 * split2, it-length-prefixed and a per-line TransformStream written the
 * obvious way, in the same run, alternating, repeated; prints medians and ratios.
 *
 *   npm run bench:framing                          all runtimes, 5 rounds, 100 MB
 *   npm run bench:framing -- --only=bun --rounds=3 --mb=20
 *   npm run bench:framing -- --write-readme        also put the table into README.md
 *
 * Workloads: `lines`, 40-byte lines as strings; `lines-bytes`, the same lines
 * as bytes; `length`, 100-byte frames behind a 4-byte big-endian length. All
 * in 64 KiB chunks. Each runtime runs in its own process
 * (bench/framing_worker.ts).
 */
import { args, flag, fmt, note, runAll, writeReadme } from "./_orchestrate.ts";
import { median } from "./_stats.ts";

interface Result {
  runtime: string;
  workload: string;
  frameBytes: number;
  bytes: number;
  results: Record<string, number[]>;
}

const pass = args.filter((a) => /^--(rounds|warm-up|mb|workloads|variants)=/.test(a));
const all = await runAll<Result>("bench/framing_worker.ts", pass);

const header = [
  "| runtime | frames | tight loop | weft batch | batch / tight loop | batch / split2 | batch / it-length-prefixed | weft DecoderStream | DecoderStream / obvious TransformStream |",
  "|---|---|---|---|---|---|---|---|---|",
];
const workloadNames: Record<string, string> = {
  lines: "40-byte lines, text",
  "lines-bytes": "40-byte lines, bytes",
  length: "100-byte, 4-byte length",
};
// Every round measures all variants back to back: a ratio is taken per round
// and the median of those reported, so a machine that changes speed between
// rounds moves both sides of each ratio alike.
const ratio = (res: Result, a: string, b: string) => {
  const xs = res.results[a];
  const ys = res.results[b];
  return xs && ys ? median(xs.map((x, i) => x / ys[i]!)).toFixed(2) : "—";
};
const rows = all.map((res) => {
  const m = (name: string) => (res.results[name] ? fmt(median(res.results[name]!)) : "—");
  return `| ${res.runtime} | ${workloadNames[res.workload] ?? res.workload} | ${m("tight loop")} | ${m("weft batch")} | ` +
    `**${ratio(res, "weft batch", "tight loop")}** | ${ratio(res, "weft batch", "split2")} | ${ratio(res, "weft batch", "it-length-prefixed")} | ` +
    `${m("weft DecoderStream")} | ${ratio(res, "weft DecoderStream", "obvious TransformStream")} |`;
});
const rounds = Number(flag("rounds") ?? 5);
const mb = flag("mb") ?? "100";
const noteText = note(`Medians of ${rounds} alternating rounds (MB/s of input; ratios: the median of each round's ratio), ${mb} MB per run in 64 KiB chunks`);
console.log(["", ...header, ...rows, "", noteText].join("\n"));
if (args.includes("--write-readme")) writeReadme("framing", header, rows, noteText);
