/**
 * Runs the framing workloads in memory on the runtime it is started with,
 * alternating the variants, and prints one JSON line per workload:
 * {"runtime","workload","frameBytes","bytes","results":{variant:[MB/s, ...]}}.
 *
 *   <runtime> bench/framing_worker.ts [--rounds=5] [--warm-up=2] [--mb=100] [--workloads=lines,lines-bytes,length]
 *                                     [--variants=weft batch,tight loop]
 *
 * The chunks are generated once and reused by every run; only the decoding is
 * timed, and each run's frame count and length are checked against the input.
 */
import type { Uint8ArrayList } from "uint8arraylist";
import { BatchDecoderStream, type Decoder, DecoderStream, lengthDelimited, lines } from "../mod.ts";
import {
  CHUNK_BYTES,
  expected,
  lengthPrefixedWorkload,
  linesWorkload,
  ObviousLineStream,
  readBatches,
  readFrames,
  streamOfChunks,
  type Tally,
  tightLengthPrefixed,
  tightLines,
  tightLinesPerChunk,
  type Workload,
} from "./_framing.ts";
import { alternate } from "./_stats.ts";
import { arg, runtime, version } from "./_worker.ts";

const rounds = Number(arg("rounds", "5"));
// A multiple of 25 chunks of 64 KiB, so that 40- and 100-byte frames end with the last chunk.
const chunkCount = Math.max(25, Math.round((Number(arg("mb", "100")) * 2 ** 20) / CHUNK_BYTES / 25) * 25);
const workloads = arg("workloads", "lines,lines-bytes,length").split(",");
const onlyVariants = process.argv.find((a) => a.startsWith("--variants="))?.slice(11).split(",");
const WARM_UP_CHUNKS = 100;
const warmUpRounds = Number(arg("warm-up", "2"));

type Run = (chunks: Uint8Array[]) => Tally | Promise<Tally>;
const byLength = (frame: { length: number }) => frame.length;

/** weft's two stream paths over `make()`'s decoder: arrays of frames per read, and one frame per read. */
function weft<T extends { length: number }>(make: () => Decoder<T>): Record<string, Run> {
  return {
    "weft batch": (chunks) => readBatches(streamOfChunks(chunks).pipeThrough(new BatchDecoderStream(make())), byLength),
    "weft DecoderStream": (chunks) => readFrames(streamOfChunks(chunks).pipeThrough(new DecoderStream(make())), byLength),
  };
}

/** split2 behind a Node stream (strings), where the runtime can load it. */
async function split2Variant(): Promise<Run | undefined> {
  try {
    const { Readable } = await import("node:stream");
    const { default: split2 } = await import("split2");
    return (chunks) =>
      new Promise<Tally>((resolve, reject) => {
        let frames = 0;
        let length = 0;
        Readable.from(chunks)
          .pipe(split2())
          .on("data", (line: string) => {
            frames++;
            length += line.length;
          })
          .on("end", () => resolve({ frames, length }))
          .on("error", reject);
      });
  } catch (error) {
    process.stderr.write(`  ${runtime}: split2 unavailable: ${String(error)}\n`);
    return undefined;
  }
}

/** it-length-prefixed's decode over an async iterable of the chunks, reading a 4-byte big-endian length. */
async function itLengthPrefixedVariant(): Promise<Run | undefined> {
  try {
    const lp = await import("it-length-prefixed");
    // Its lengthDecoder reads from the bytes buffered so far and throws a
    // RangeError while they are too few; `bytes` says how long the field was.
    const be32 = Object.assign(
      (buf: Uint8ArrayList) => {
        if (buf.byteLength < 4) throw new RangeError("Need 4 bytes for the length");
        return buf.getUint32(0);
      },
      { bytes: 4 },
    );
    return async (chunks) => {
      async function* source() {
        for (const chunk of chunks) yield chunk;
      }
      let frames = 0;
      let length = 0;
      for await (const frame of lp.decode(source(), { lengthDecoder: be32 })) {
        frames++;
        length += frame.byteLength;
      }
      return { frames, length };
    };
  } catch (error) {
    process.stderr.write(`  ${runtime}: it-length-prefixed unavailable: ${String(error)}\n`);
    return undefined;
  }
}

const linesData = workloads.some((w) => w.startsWith("lines")) ? linesWorkload(chunkCount) : undefined;
const lengthData = workloads.includes("length") ? lengthPrefixedWorkload(chunkCount) : undefined;

async function variantsOf(workload: string): Promise<[Workload, Record<string, Run>]> {
  switch (workload) {
    case "lines": {
      const split2 = await split2Variant();
      return [linesData!, {
        // The fastest plain loop found for text: a TextDecoder call per chunk, lines sliced out.
        "tight loop": tightLinesPerChunk,
        ...weft(() => lines()),
        "obvious TransformStream": (chunks) => readFrames(streamOfChunks(chunks).pipeThrough(new ObviousLineStream()), byLength),
        ...(split2 ? { split2 } : {}),
      }];
    }
    case "lines-bytes":
      return [linesData!, { "tight loop": tightLines, ...weft(() => lines({ as: "bytes" })) }];
    case "length": {
      const itlp = await itLengthPrefixedVariant();
      return [lengthData!, {
        "tight loop": tightLengthPrefixed,
        ...weft(() => lengthDelimited({ lengthFieldBytes: 4 })),
        ...(itlp ? { "it-length-prefixed": itlp } : {}),
      }];
    }
    default:
      throw new Error(`unknown workload ${workload}`);
  }
}

function check(name: string, got: Tally, want: Tally): void {
  if (got.frames !== want.frames || got.length !== want.length) {
    throw new Error(`${name}: ${got.frames} frames of total length ${got.length}, expected ${want.frames} of ${want.length}`);
  }
}

for (const workload of workloads) {
  const [data, all] = await variantsOf(workload);
  const variants = Object.entries(all).filter(([name]) => !onlyVariants || onlyVariants.includes(name));
  const bytes = data.chunks.length * CHUNK_BYTES;
  // Untimed warm-up: a short run per variant checks it, then whole runs
  // alternate until each variant's code is optimized, so that the rounds
  // compare steady states (a tight loop is optimized within its first run,
  // a stream path only after thousands of calls).
  const head = data.chunks.slice(0, WARM_UP_CHUNKS);
  for (const [name, run] of variants) check(name, await run(head), expected(data, head.length));
  for (let r = 0; r < warmUpRounds; r++) for (const [, run] of variants) await run(data.chunks);
  const results = await alternate(
    rounds,
    Object.fromEntries(
      variants.map(([name, run]) => [name, async () => {
        const started = performance.now();
        const tally = await run(data.chunks);
        const seconds = (performance.now() - started) / 1000;
        check(name, tally, expected(data));
        return bytes / seconds / 1e6;
      }]),
    ),
    (name, round, value) => process.stderr.write(`  ${runtime} ${workload} ${name} #${round + 1}: ${value.toFixed(0)} MB/s\n`),
  );
  console.log(JSON.stringify({ runtime: `${runtime} ${version}`, workload, frameBytes: data.frameBytes, bytes, results }));
}
process.exit(0);
