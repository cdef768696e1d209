/**
 * The framing benchmark's inputs and its baselines without weft: the two
 * workloads as 64 KiB chunks, the tight synchronous loops (the JS limit, no
 * streams) and the per-line TransformStream written the obvious way.
 *
 * Every variant returns what it produced as a {@link Tally} (frames and the
 * total length of their contents), so the worker can check that nothing was
 * skipped and the work cannot be optimized away.
 */

/** Bytes per chunk fed to every variant. */
export const CHUNK_BYTES = 64 * 1024;

/** How many frames a variant produced, and their total length (string length or payload bytes). */
export interface Tally {
  frames: number;
  length: number;
}

/** A workload: its chunks, the size of a frame on the wire and of what a variant counts of it. */
export interface Workload {
  chunks: Uint8Array[];
  frameBytes: number;
  /** Characters of a line, bytes of a payload. */
  contentLength: number;
}

/** What every variant must produce from the first `chunkCount` chunks of `w` (frames never straddle the end). */
export function expected(w: Workload, chunkCount = w.chunks.length): Tally {
  const frames = (chunkCount * CHUNK_BYTES) / w.frameBytes;
  return { frames, length: frames * w.contentLength };
}

/** Fills `bytes` with printable ASCII from a fixed seed (xorshift), so every run sees the same input. */
function fillAscii(bytes: Uint8Array, seed = 0x9e3779b9): void {
  let x = seed | 0;
  for (let i = 0; i < bytes.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = 0x21 + ((x >>> 0) % 94); // "!" to "~": never "\n" or "\r"
  }
}

/** Cuts `all` into fresh chunks of {@link CHUNK_BYTES} (copies, so no chunk shares another's buffer). */
function chunked(all: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < all.length; at += CHUNK_BYTES) chunks.push(all.slice(at, at + CHUNK_BYTES));
  return chunks;
}

/** `chunkCount` (a multiple of 25, so that frames end with the last chunk) chunks of 40-byte lines: 39 printable ASCII characters and "\n". */
export function linesWorkload(chunkCount: number): Workload {
  const all = new Uint8Array(chunkCount * CHUNK_BYTES);
  fillAscii(all);
  for (let i = 39; i < all.length; i += 40) all[i] = 0x0a;
  return { chunks: chunked(all), frameBytes: 40, contentLength: 39 };
}

/** `chunkCount` chunks of 100-byte frames: a 4-byte big-endian length (96) and 96 bytes of payload. */
export function lengthPrefixedWorkload(chunkCount: number): Workload {
  const all = new Uint8Array(chunkCount * CHUNK_BYTES);
  fillAscii(all);
  const view = new DataView(all.buffer);
  for (let i = 0; i < all.length; i += 100) view.setUint32(i, 96);
  return { chunks: chunked(all), frameBytes: 100, contentLength: 96 };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Where the tight loops leave each chunk's frames. */
const escaped: { last: unknown } = { last: undefined };

/**
 * Hands a chunk's frames to the consumer, as every variant does: the tight
 * loops collect each chunk's frames in an array (so the frames exist as
 * values, as they must for any reader; a loop that only counted would let the
 * JIT skip making them) and the consumer tallies them with the same loop as
 * readBatches(). Returns a fresh array for the next chunk.
 */
function handOver<T extends { length: number }>(frames: T[], tally: Tally): T[] {
  // Kept where the JIT cannot see it end: the frames must really be made.
  escaped.last = frames;
  tally.frames += frames.length;
  for (let i = 0; i < frames.length; i++) tally.length += frames[i]!.length;
  return [];
}

/**
 * Lines as bytes in one synchronous pass: `indexOf` finds each "\n", a line
 * is a view of its chunk, and a line that spans chunks is joined once. A "\r"
 * before the "\n" is dropped, as `lines()` does.
 */
export function tightLines(chunks: Uint8Array[]): Tally {
  const tally = { frames: 0, length: 0 };
  let carry: Uint8Array | undefined;
  let out: Uint8Array[] = [];
  const emit = (line: Uint8Array) => void out.push(line);
  for (const chunk of chunks) {
    if (out.length > 0) out = handOver(out, tally);
    let start = 0;
    let nl = chunk.indexOf(0x0a);
    if (carry !== undefined) {
      if (nl === -1) {
        carry = concat(carry, chunk);
        continue;
      }
      const line = concat(carry, chunk.subarray(0, nl));
      carry = undefined;
      emit(line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line);
      start = nl + 1;
      nl = chunk.indexOf(0x0a, start);
    }
    while (nl !== -1) {
      emit(chunk.subarray(start, nl > start && chunk[nl - 1] === 0x0d ? nl - 1 : nl));
      start = nl + 1;
      nl = chunk.indexOf(0x0a, start);
    }
    if (start < chunk.length) carry = chunk.subarray(start);
  }
  if (carry !== undefined) emit(carry);
  handOver(out, tally);
  return tally;
}

/**
 * Lines as strings in one synchronous pass, the fastest way found in plain JS:
 * the complete lines of each chunk are decoded with one TextDecoder call and
 * each line is a slice of that text (a line that spans chunks is joined and
 * decoded alone). On V8 this is 4-6 times faster than a decode per line.
 */
export function tightLinesPerChunk(chunks: Uint8Array[]): Tally {
  const decoder = new TextDecoder();
  const tally = { frames: 0, length: 0 };
  let carry: Uint8Array | undefined;
  let out: string[] = [];
  const emitText = (text: string) => void out.push(text);
  const strip = (line: Uint8Array) => (line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line);
  for (const chunk of chunks) {
    if (out.length > 0) out = handOver(out, tally);
    let start = 0;
    if (carry !== undefined) {
      const nl = chunk.indexOf(0x0a);
      if (nl === -1) {
        carry = concat(carry, chunk);
        continue;
      }
      emitText(decoder.decode(strip(concat(carry, chunk.subarray(0, nl)))));
      carry = undefined;
      start = nl + 1;
    }
    const last = chunk.lastIndexOf(0x0a);
    if (last >= start) {
      const text = decoder.decode(chunk.subarray(start, last + 1));
      let at = 0;
      for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", at)) {
        emitText(text.slice(at, nl > at && text.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl));
        at = nl + 1;
      }
      start = last + 1;
    }
    if (start < chunk.length) carry = chunk.subarray(start);
  }
  if (carry !== undefined) emitText(decoder.decode(strip(carry)));
  handOver(out, tally);
  return tally;
}

/**
 * Length-prefixed frames in one synchronous pass: read the 4-byte big-endian
 * length, take a view of the payload, and carry a partial frame (or a partial
 * length) into the next chunk, joined once.
 */
export function tightLengthPrefixed(chunks: Uint8Array[]): Tally {
  const tally = { frames: 0, length: 0 };
  let carry: Uint8Array | undefined;
  let out: Uint8Array[] = [];
  const be32 = (b: Uint8Array, at: number) => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  for (const chunk of chunks) {
    if (out.length > 0) out = handOver(out, tally);
    let pos = 0;
    if (carry !== undefined) {
      if (carry.length < 4) {
        pos = Math.min(4 - carry.length, chunk.length);
        carry = concat(carry, chunk.subarray(0, pos));
        if (carry.length < 4) continue;
      }
      const need = 4 + be32(carry, 0) - carry.length;
      if (need > chunk.length - pos) {
        carry = concat(carry, chunk.subarray(pos));
        continue;
      }
      const frame = concat(carry, chunk.subarray(pos, pos + need));
      carry = undefined;
      pos += need;
      out.push(frame.subarray(4));
    }
    while (pos + 4 <= chunk.length) {
      const n = be32(chunk, pos);
      if (pos + 4 + n > chunk.length) break;
      out.push(chunk.subarray(pos + 4, pos + 4 + n));
      pos += 4 + n;
    }
    if (pos < chunk.length) carry = chunk.subarray(pos);
  }
  if (carry !== undefined) throw new Error(`tight loop: ${carry.length} bytes of an incomplete frame at the end`);
  handOver(out, tally);
  return tally;
}

/**
 * A line splitter written the obvious way, in the shape of Deno std's
 * TextLineStream: each chunk is decoded to text with a streaming TextDecoder,
 * split on "\n" keeping the unfinished remainder, and every line enqueued.
 */
export class ObviousLineStream extends TransformStream<Uint8Array, string> {
  constructor() {
    const decoder = new TextDecoder();
    let rest = "";
    const strip = (line: string) => (line.endsWith("\r") ? line.slice(0, -1) : line);
    super({
      transform(chunk, controller) {
        const parts = (rest + decoder.decode(chunk, { stream: true })).split("\n");
        rest = parts.pop()!;
        for (const line of parts) controller.enqueue(strip(line));
      },
      flush(controller) {
        rest += decoder.decode();
        if (rest.length > 0) controller.enqueue(strip(rest));
      },
    });
  }
}

/** A ReadableStream that hands out `chunks` one per pull. */
export function streamOfChunks(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]!);
      else controller.close();
    },
  });
}

/** Reads `readable` to the end, one frame per read, tallying with `size`. */
export async function readFrames<T>(readable: ReadableStream<T>, size: (frame: T) => number): Promise<Tally> {
  const reader = readable.getReader();
  let frames = 0;
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { frames, length };
    frames++;
    length += size(value);
  }
}

/** Reads `readable` to the end, one array of frames per read, tallying with `size`. */
export async function readBatches<T>(readable: ReadableStream<T[]>, size: (frame: T) => number): Promise<Tally> {
  const reader = readable.getReader();
  let frames = 0;
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { frames, length };
    frames += value.length;
    for (let i = 0; i < value.length; i++) length += size(value[i]!);
  }
}
