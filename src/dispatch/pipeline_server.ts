import type { Service } from "../service/service.ts";
import type { Framed } from "../transport/framed.ts";
import type { DispatchServerOptions } from "./dispatch.ts";
import {
  callSafely,
  checkFramed,
  checkService,
  connectionError,
  discard,
  hasRoom,
  isFrameError,
  resolveServerOptions,
  type ResolvedServerOptions,
  IdleWatch,
  writeFrame,
} from "./_private.ts";

/**
 * Serves a pipelined protocol on one connection: requests are read from
 * `framed`, up to `maxInFlight` calls of `service` run at once, and their
 * responses are written in request order. At the limit, or while the
 * connection's write buffer is full, it stops reading, so a fast peer waits
 * on its own socket.
 *
 * The promise resolves (it never rejects) once the connection is finished:
 * the peer closed and every response was written, or `signal` (a graceful
 * drain) finished, or the idle timeout passed, or the connection broke. It
 * closes the connection then. Calls in flight when the connection breaks see
 * their signal abort. Failed calls and broken connections go to `onError`; a
 * failed call without an `errorResponse` closes the connection after the
 * responses before it, since a pipelined protocol cannot skip a response.
 *
 * | event | reading | calls in flight | then |
 * |---|---|---|---|
 * | `maxInFlight` calls running, or the write buffer full | paused | run | reads again when one is written |
 * | peer's FIN | ends | finish, responses written | half-close, close |
 * | `signal` aborts, or idle for `idleTimeoutMs` | ends | finish, responses written | half-close, close |
 * | a call fails, no `errorResponse` | ends | responses before it written; later ones aborted | half-close, close |
 * | corrupt frame (FrameError) | ends | finish, responses written | half-close, close |
 * | connection error | ends | signal aborted, responses dropped | close |
 *
 * @example A line protocol over a memory pipe
 * ```ts
 * import { framed, lines, memoryPipe, pipelineServer, serviceFn } from "weft";
 *
 * const [client, server] = memoryPipe();
 * const upper = serviceFn(async (line: string) => line.toUpperCase());
 * const served = pipelineServer(framed(server, lines()), upper);
 *
 * const peer = framed(client, lines());
 * const writer = peer.writable.getWriter();
 * for (const word of ["one", "two", "three"]) writer.write(word);
 * await writer.close();
 * const got: string[] = [];
 * for await (const line of peer.readable) got.push(line);
 * console.assert(got.join() === "ONE,TWO,THREE");
 * await served;
 * ```
 */
export function pipelineServer<Req, Res>(
  framed: Framed<Req, Res>,
  service: Service<Req, Res>,
  options?: DispatchServerOptions<Req, Res>,
): Promise<void> {
  checkFramed("pipelineServer()", framed);
  checkService("pipelineServer()", service);
  const resolved = resolveServerOptions("pipelineServer()", options);
  return new PipelineServer(framed, service, resolved).finished;
}

const EMPTY = 0;
const RUNNING = 1;
const ANSWERED = 2;
const FAILED = 3;

/**
 * One place in the ring of responses. Call `seq` uses slot `seq % maxInFlight`;
 * its callbacks are made once per slot, so a request allocates nothing here
 * beyond the promise its `.then` returns.
 */
class Slot<Req, Res> {
  seq = -1;
  state = EMPTY;
  req: Req | undefined;
  res: Res | undefined;
  error: unknown;
  readonly onAnswer: (res: Res) => void;
  readonly onFail: (error: unknown) => void;

  constructor(server: PipelineServer<Req, Res>) {
    this.onAnswer = (res) => {
      if (this.state !== RUNNING) return server.discard(res);
      this.state = ANSWERED;
      this.res = res;
      server.settled(this.seq);
    };
    this.onFail = (error) => {
      if (this.state !== RUNNING) return;
      this.state = FAILED;
      this.error = error;
      server.settled(this.seq);
    };
  }
}

class PipelineServer<Req, Res> {
  readonly finished: Promise<void>;
  #framed: Framed<Req, Res>;
  #service: Service<Req, Res>;
  #o: ResolvedServerOptions<Req, Res>;
  #reader: ReadableStreamDefaultReader<Req[]>;
  #writer: WritableStreamDefaultWriter<Res>;
  #ring: Slot<Req, Res>[] = [];
  #issued = 0; // calls started
  #written = 0; // responses written (the next one to write is #written)
  #stopAt = Infinity; // a failed call with no response: nothing from it on is written
  #reading = true;
  #done = false;
  #calls = new AbortController(); // aborts every call in flight when the connection ends early
  #callOptions = { signal: this.#calls.signal };
  #room: (() => void) | undefined; // the read loop, waiting for a call to finish
  #idle: IdleWatch | undefined;
  #resolve!: () => void;
  #onDrain = () => this.#stopReading();
  #onWriteFailed = (error: unknown) => this.#break(error);

  constructor(framed: Framed<Req, Res>, service: Service<Req, Res>, o: ResolvedServerOptions<Req, Res>) {
    this.#framed = framed;
    this.#service = service;
    this.#o = o;
    this.finished = new Promise((resolve) => (this.#resolve = resolve));
    for (let i = 0; i < o.maxInFlight; i++) this.#ring.push(new Slot(this));
    this.#reader = framed.batches.getReader();
    this.#writer = framed.writable.getWriter();
    if (o.signal?.aborted) this.#reading = false;
    o.signal?.addEventListener("abort", this.#onDrain);
    if (o.idleTimeoutMs !== undefined) this.#idle = new IdleWatch(o.clock, o.idleTimeoutMs, () => this.#written !== this.#issued, () => this.#stopReading());
    this.#read();
  }

  /** The read loop: one read per chunk of bytes, every request of it dispatched at once (up to the limit). */
  async #read(): Promise<void> {
    const max = this.#o.maxInFlight;
    try {
      while (this.#reading) {
        // The peer reads slower than we answer: stop reading until it catches up.
        if (!hasRoom(this.#writer)) await this.#writer.ready;
        if (!this.#reading) break;
        const r = await this.#reader.read();
        if (r.done) break;
        const batch = r.value;
        this.#idle?.touch();
        for (let i = 0; i < batch.length && this.#stopAt === Infinity; i++) {
          if (this.#issued - this.#written >= max) await new Promise<void>((resolve) => (this.#room = resolve));
          if (this.#done) return;
          this.#dispatch(batch[i]!);
        }
      }
    } catch (error) {
      if (this.#done) return;
      if (!isFrameError(error)) return this.#break(error);
      // Corrupt bytes: the connection works, so the answers already due still go out.
      this.#o.onError(error);
    }
    this.#reading = false;
    this.#maybeFinish();
  }

  #dispatch(req: Req): void {
    const seq = this.#issued++;
    const slot = this.#ring[seq % this.#o.maxInFlight]!;
    slot.seq = seq;
    slot.state = RUNNING;
    slot.req = req;
    callSafely(this.#service, req, this.#callOptions).then(slot.onAnswer, slot.onFail);
  }

  /** A response that will never be written. */
  discard(res: Res): void {
    discard(this.#o.onDiscard, res);
  }

  /** A call finished: write every response that is now next in order. */
  settled(seq: number): void {
    if (this.#done || seq !== this.#written) return;
    const ring = this.#ring;
    const max = this.#o.maxInFlight;
    while (this.#written < this.#issued && this.#written < this.#stopAt) {
      const slot = ring[this.#written % max]!;
      if (slot.state === RUNNING) break;
      if (slot.state === ANSWERED) {
        writeFrame(this.#writer, slot.res!, this.#onWriteFailed);
      } else if (!this.#answerFailure(slot)) {
        this.#stopAt = this.#written;
        this.#stopReading();
        break;
      }
      slot.state = EMPTY;
      slot.req = slot.res = slot.error = undefined;
      this.#written++;
    }
    if (this.#done) return;
    if (this.#room !== undefined && this.#issued - this.#written < max) {
      const room = this.#room;
      this.#room = undefined;
      room();
    }
    if (this.#written === this.#issued) this.#idle?.touch();
    this.#maybeFinish();
  }

  /** Writes the error response of a failed call; false when there is none. */
  #answerFailure(slot: Slot<Req, Res>): boolean {
    this.#o.onError(slot.error);
    let res: Res | undefined;
    try {
      res = this.#o.errorResponse?.(slot.error, slot.req!);
    } catch (error) {
      this.#o.onError(error);
    }
    if (res === undefined) return false;
    writeFrame(this.#writer, res, this.#onWriteFailed);
    return true;
  }

  #stopReading(): void {
    if (!this.#reading) return;
    this.#reading = false;
    // Ends a read in flight at once; the connection's bytes are discarded from now on.
    this.#reader.cancel().catch(() => {});
    this.#maybeFinish();
  }

  #maybeFinish(): void {
    if (this.#done || this.#reading) return;
    if (this.#written === this.#issued || this.#written === this.#stopAt) this.#finish();
  }

  /** Every response that will be written is buffered: half-close, then close. */
  async #finish(): Promise<void> {
    this.#end();
    // Calls after a failed one that had no response: nobody will read theirs.
    this.#calls.abort(new DOMException("The connection is closing", "AbortError"));
    try {
      await this.#writer.close();
    } catch (error) {
      this.#o.onError(connectionError(error));
    }
    await this.#framed.close();
    this.#resolve();
  }

  /** The connection failed: calls in flight are aborted, nothing more is written. */
  #break(error: unknown): void {
    if (this.#done) return;
    this.#end();
    const reason = connectionError(error);
    this.#calls.abort(reason);
    this.#o.onError(reason);
    this.#reader.cancel(reason).catch(() => {});
    this.#writer.abort(reason).catch(() => {});
    this.#framed.close(reason).then(this.#resolve, this.#resolve);
  }

  #end(): void {
    this.#done = true;
    // Answers that were waiting for an earlier one will never be written.
    for (const slot of this.#ring) {
      if (slot.state === ANSWERED) this.discard(slot.res!);
      slot.state = EMPTY;
      slot.req = slot.res = slot.error = undefined;
    }
    this.#reading = false;
    this.#o.signal?.removeEventListener("abort", this.#onDrain);
    this.#idle?.stop();
    const room = this.#room;
    this.#room = undefined;
    room?.();
  }
}
