/**
 * The fuzz harness: one fast-check property per decoder (and option set),
 * fed random and mutated inputs (./_inputs.ts) the way framed() and
 * DecoderStream feed a decoder — push a chunk, decode until `undefined`, and
 * at the end `decodeEof` until `undefined` — on a fresh decoder per run.
 *
 * What every case checks:
 *
 * | invariant | how |
 * |---|---|
 * | only FrameErrors | whatever decode, decodeMany or decodeEof throws is a `FrameError` with a known code; the run stops there, as a stream does |
 * | no loops | at most 2 × bytes + 3 × chunks + 8 decode calls; no two frames in a row without taking a byte; decodeMany appends at most 2 × bytes + 2 frames |
 * | "need more bytes" holds | after `undefined`, decoding again with no new bytes gives `undefined` and takes nothing |
 * | bounded memory | after `undefined`, the buffer holds at most the target's `heldBytes` (its limits, set small); a decoder that keeps parts of a frame has taken at most `pendingBytes` since the last frame |
 * | frames within limits | the target's `check` (sizes, counts, depth, the message grammar of HTTP) |
 * | input untouched | the chunks hold the same bytes after decoding |
 * | decodeMany = decode | the same frames, and the same FrameError code |
 * | the split does not matter | the same frames (HTTP body chunks joined) as the input in one chunk, and an error in both or in neither |
 *
 * WEFT_FUZZ_RUNS sets the cases per property: 200 in `npm test`, 100,000 in `npm run fuzz`.
 */
import fc from "fast-check";
import type { Test } from "uvu";
import { type Decoder, FrameError, ReadBuffer } from "../../mod.ts";
import { concat, type FuzzInput, inputs } from "./_inputs.ts";

/** Cases per property: WEFT_FUZZ_RUNS, else 200. */
export const FUZZ_RUNS = Number(process.env.WEFT_FUZZ_RUNS ?? 200);

/** A decoder of one stream and the checks of what it decodes. */
export interface FuzzSession {
  decoder: Decoder<unknown>;
  /** Throws an Error when a frame breaks the codec's limits or format; called on each frame in order (it may keep state). */
  check?(frame: unknown): void;
}

/** One property: a decoder with its options, its bounds, and valid streams to mutate. */
export interface FuzzTarget {
  name: string;
  /** A fresh decoder (with small limits, so that the bounds are reached). */
  open(): FuzzSession;
  /** The most bytes the buffer may hold after decode returns `undefined`: from the codec's documented limits. */
  heldBytes: number;
  /** The most bytes taken since the last frame, where a decoder keeps a frame in parts (RESP's aggregates). */
  pendingBytes?: number;
  /** Valid wire bytes, built by the codec's encoder or by hand. */
  valid: fc.Arbitrary<Uint8Array>;
  /** Tokens of the format, for the token runs and the mutations that insert one. */
  tokens: readonly (string | Uint8Array)[];
  /** Frames in the form in which splits must not matter (default: as they are). */
  normalize?(frames: unknown[]): unknown[];
}

/** An invariant broken: what the property fails with. */
export class Broken extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "Broken";
  }
}

const CODES = new Set(["frame-too-large", "unexpected-eof", "invalid-frame", "invalid-utf8", "invalid-json"]);

/** What decoding a stream gave: frames, then maybe the FrameError it ended with. */
export interface Outcome {
  frames: unknown[];
  error?: FrameError;
}

/** An array that fails the case when a decodeMany appends more than `cap` frames: a loop. */
class Capped<T> extends Array<T> {
  cap = Infinity;
  override push(...items: T[]): number {
    if (this.length + items.length > this.cap) throw new Broken(`decodeMany loops: more than ${this.cap} frames`);
    return super.push(...items);
  }
}

/** Decodes `chunks` with a fresh decoder of `target`, as a stream would, checking the invariants as it goes. */
export function decodeStream(target: FuzzTarget, chunks: readonly Uint8Array[], many = false): Outcome {
  const run = new StreamRun(target, chunks, many);
  try {
    for (const chunk of chunks) run.feed(chunk);
    return run.end();
  } catch (error) {
    if (error instanceof Broken) throw error;
    if (error instanceof FrameError && CODES.has(error.code) && typeof error.message === "string" && error.message.length > 0) {
      return { frames: run.frames, error };
    }
    throw new Broken(`decoding threw ${describe(error)}, not a FrameError`, { cause: error });
  }
}

/** One stream through one decoder: the loop of framed() and DecoderStream, with the checks between the calls. */
class StreamRun {
  readonly frames: unknown[] = [];
  #target: FuzzTarget;
  #session: FuzzSession;
  #many: boolean;
  #src = new ReadBuffer();
  #bytes = 0;
  #budget: number;
  #calls = 0;
  #idle = 0; // frames in a row that took no byte
  #pushed = 0;
  #framedAt = 0; // bytes taken when the last frame was given

  constructor(target: FuzzTarget, chunks: readonly Uint8Array[], many: boolean) {
    this.#target = target;
    this.#session = target.open();
    this.#many = many && this.#session.decoder.decodeMany !== undefined;
    for (const c of chunks) this.#bytes += c.length;
    this.#budget = 2 * this.#bytes + 3 * chunks.length + 8;
  }

  /** Pushes a chunk and decodes what it completes; then checks what is held, and that "need more bytes" holds. */
  feed(chunk: Uint8Array): void {
    const src = this.#src;
    src.push(chunk);
    this.#pushed += chunk.length;
    if (this.#many) this.#decodeMany();
    else this.#drain(() => this.#session.decoder.decode(src));
    const taken = this.#pushed - src.length - this.#framedAt;
    if (this.#target.pendingBytes !== undefined && taken > this.#target.pendingBytes) {
      throw new Broken(`the decoder took ${taken} bytes of a frame it has not given yet, over the bound ${this.#target.pendingBytes}`);
    }
    if (src.length > this.#target.heldBytes) {
      throw new Broken(`the buffer holds ${src.length} bytes waiting for more, over the bound ${this.#target.heldBytes}`);
    }
    const held = src.length;
    const again: unknown[] = [];
    try {
      if (this.#many) this.#session.decoder.decodeMany!(src, again);
      else if (this.#decode() !== undefined) again.push(0);
    } catch (error) {
      throw new Broken(`decode said "need more bytes", then with no new bytes threw ${describe(error)}`, { cause: error });
    }
    if (again.length > 0 || src.length !== held) {
      throw new Broken(`decode said "need more bytes", then with no new bytes gave ${again.length} frames and took ${held - src.length} bytes`);
    }
  }

  /** The end of the stream: decodeEof until `undefined`; bytes no frame took are an unexpected-eof, as in decodeRest(). */
  end(): Outcome {
    const { decoder } = this.#session;
    const src = this.#src;
    if (decoder.decodeEof) this.#drain(() => decoder.decodeEof!(src));
    if (src.length > 0) return { frames: this.frames, error: new FrameError("unexpected-eof", `${src.length} bytes left over`) };
    return { frames: this.frames };
  }

  #decode(): unknown {
    return this.#call(() => this.#session.decoder.decode(this.#src));
  }

  /** Calls `next` (decode or decodeEof) until it gives `undefined`. */
  #drain(next: () => unknown): void {
    for (;;) {
      const before = this.#src.length;
      const frame = this.#call(next);
      if (frame === undefined) return;
      this.#took(frame, before);
    }
  }

  /** The path the streams take: every frame the chunk completes in one call, into an array that stops a loop. */
  #decodeMany(): void {
    const out = new Capped<unknown>();
    out.cap = 2 * this.#bytes + 2 - this.frames.length;
    try {
      this.#call(() => this.#session.decoder.decodeMany!(this.#src, out));
    } finally {
      for (const f of out) {
        this.#session.check?.(f);
        this.frames.push(f);
      }
    }
    if (out.length > 0) this.#framedAt = this.#pushed - this.#src.length;
  }

  #call<T>(fn: () => T): T {
    if (++this.#calls > this.#budget) throw new Broken(`decode loops: more than ${this.#budget} calls for ${this.#bytes} bytes`);
    return fn();
  }

  /** A frame, given while the buffer went from `before` bytes to what it holds now. */
  #took(frame: unknown, before: number): void {
    const now = this.#src.length;
    if (now > before) throw new Broken(`decode added ${now - before} bytes to the buffer`);
    if (now === before && ++this.#idle > 1) throw new Broken("decode gave two frames in a row without taking a byte");
    if (now < before) this.#idle = 0;
    this.#session.check?.(frame);
    this.frames.push(frame);
    this.#framedAt = this.#pushed - now;
  }
}

/** The property of `target`: every invariant of the table above, on one input. */
export function fuzzProperty(target: FuzzTarget): fc.IPropertyWithHooks<[FuzzInput]> {
  const hasMany = target.open().decoder.decodeMany !== undefined;
  const normalize = target.normalize ?? ((f: unknown[]) => f);
  return fc.property(inputs(target.valid, target.tokens), ({ bytes, chunks }) => {
    const copy = bytes.slice();
    const split = decodeStream(target, chunks);
    const whole = decodeStream(target, bytes.length > 0 ? [bytes] : []);
    const splitFrames = canon(normalize(split.frames));
    if (splitFrames !== canon(normalize(whole.frames)) || (split.error === undefined) !== (whole.error === undefined)) {
      throw new Broken(
        `the split changed the outcome: in ${chunks.length} chunks ${show(split)}, in one chunk ${show(whole)}`,
      );
    }
    if (hasMany) {
      const many = decodeStream(target, chunks, true);
      if (canon(many.frames) !== canon(split.frames) || many.error?.code !== split.error?.code) {
        throw new Broken(`decodeMany gave ${show(many)} where decode gave ${show(split)}`);
      }
    }
    const after = concat(chunks);
    if (!sameBytes(copy, bytes) || !sameBytes(copy, after)) throw new Broken("decoding changed the input bytes");
  });
}

/** Registers the short run of each target on `test`. */
export function fuzzTests(test: Test, targets: readonly FuzzTarget[]): void {
  for (const target of targets) {
    test(`${target.name}: frames or a FrameError, bounded work and memory`, () => {
      fc.assert(fuzzProperty(target), { numRuns: FUZZ_RUNS });
    });
  }
}

/** What the long run reports of one property. */
export interface FuzzReport {
  name: string;
  cases: number;
  ms: number;
  seed: number;
  failed: boolean;
  /** The failure, for replay: seed, path, the shrunk input and the error. */
  path?: string;
  counterexample?: string;
  error?: string;
}

/** Runs `target`'s property `numRuns` times (or replays one case with `seed` and `path`). */
export function runTarget(target: FuzzTarget, options: { numRuns: number; seed?: number; path?: string }): FuzzReport {
  const started = performance.now();
  const d = fc.check(fuzzProperty(target), { numRuns: options.numRuns, seed: options.seed, path: options.path });
  const report: FuzzReport = { name: target.name, cases: d.numRuns, ms: Math.round(performance.now() - started), seed: d.seed, failed: d.failed };
  if (d.failed) {
    report.path = d.counterexamplePath ?? undefined;
    report.counterexample = fc.stringify(d.counterexample);
    const e = d.errorInstance;
    report.error = e instanceof Error ? `${e.message}${e.cause ? ` (cause: ${describe(e.cause)})` : ""}` : String(e);
  }
  return report;
}

/** Frames as one string, comparable by content: bytes, Maps, Sets, classes, NaN and -0 included. */
export function canon(value: unknown): string {
  if (value === null || value === undefined || typeof value === "boolean") return String(value);
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") return JSON.stringify(value);
  if (value instanceof Uint8Array) return `<${Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("")}>`;
  if (value instanceof FrameError) return `FrameError(${value.code})`;
  if (value instanceof Error) return `${value.name}(${JSON.stringify(value.message)})`; // a RespError; its stack differs by call site
  if (Array.isArray(value)) return `[${value.map(canon).join(",")}]`;
  if (value instanceof Map) return `Map{${Array.from(value, ([k, v]) => `${canon(k)}=>${canon(v)}`).join(",")}}`;
  if (value instanceof Set) return `Set{${Array.from(value, canon).join(",")}}`;
  if (typeof value === "object") {
    const keys = Object.getOwnPropertyNames(value).sort();
    const name = (value as object).constructor?.name ?? "Object";
    return `${name}{${keys.map((k) => `${k}:${canon((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return String(value);
}

function show(outcome: Outcome): string {
  const frames = canon(outcome.frames);
  const text = frames.length > 300 ? `${frames.slice(0, 300)}...` : frames;
  return `${text}${outcome.error ? ` then ${outcome.error.code} (${outcome.error.message})` : ""}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
