import { NetError } from "../errors.ts";
import type { CallOptions } from "../service/service.ts";
import type { Framed } from "../transport/framed.ts";
import type { DispatchClient, DispatchClientOptions } from "./dispatch.ts";
import { checkFramed, connectionError, discard, Fifo, protocolError, RESOLVED, resolveClientOptions, Waiters, writeFrame } from "./_private.ts";

const WAITING = 0;
const ABORTED = 1; // the caller gave up: the response is read and dropped
const UNSENT = 2; // the request never left (its encoder refused it): no response will come

interface Pending<Res> {
  resolve(res: Res): void;
  reject(error: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  state: number;
}

/**
 * The client side of a pipelined protocol: a {@link DispatchClient} whose
 * calls are written to `framed` in order and answered in the same order.
 *
 * Aborting a call rejects it at once with `signal.reason`; if its request is
 * on the wire, its response is still read and dropped, so the connection stays
 * in sync (it counts in `pending` until then). When the connection breaks or
 * the peer closes it, every pending call rejects with a {@link NetError} that
 * says why (`connection-reset`, `closed`, ...), later calls reject with
 * `closed`, and `closed` resolves. A response that no call asked for is a
 * `protocol-error`: the connection is closed.
 *
 * @example Calls answered in order
 * ```ts
 * import { framed, lines, memoryPipe, pipelineClient, pipelineServer, serviceFn } from "weft";
 *
 * const [a, b] = memoryPipe();
 * pipelineServer(framed(b, lines()), serviceFn(async (s: string) => s.length.toString()));
 * const client = pipelineClient<string, string>(framed(a, lines()));
 * const answers = await Promise.all(["a", "bb", "ccc"].map((s) => client.call(s)));
 * console.assert(answers.join() === "1,2,3");
 * await client.close();
 * ```
 */
export function pipelineClient<Req, Res>(framed: Framed<Res, Req>, options?: DispatchClientOptions): DispatchClient<Req, Res> {
  checkFramed("pipelineClient()", framed);
  const { max, onDiscard } = resolveClientOptions("pipelineClient()", options);
  return new PipelineClient(framed, max, onDiscard);
}

class PipelineClient<Req, Res> implements DispatchClient<Req, Res> {
  readonly closed: Promise<void>;
  #framed: Framed<Res, Req>;
  #max: number;
  #onDiscard: (response: unknown) => void;
  #reader: ReadableStreamDefaultReader<Res[]>;
  #writer: WritableStreamDefaultWriter<Req>;
  #queue = new Fifo<Pending<Res>>();
  #ready = new Waiters();
  #closing = false;
  #done = false;
  #drained: (() => void) | undefined;
  #resolveClosed!: () => void;

  constructor(framed: Framed<Res, Req>, max: number, onDiscard: (response: unknown) => void) {
    this.#framed = framed;
    this.#max = max;
    this.#onDiscard = onDiscard;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#reader = framed.batches.getReader();
    this.#writer = framed.writable.getWriter();
    this.#read();
  }

  get pending(): number {
    return this.#queue.length;
  }

  get capacity(): number {
    return this.#done || this.#closing ? 0 : this.#max - this.#queue.length;
  }

  ready(signal?: AbortSignal): Promise<void> {
    if (this.capacity > 0 || this.#done || this.#closing) return signal?.aborted ? Promise.reject(signal.reason) : RESOLVED;
    return this.#ready.wait(signal);
  }

  call(req: Req, options?: CallOptions): Promise<Res> {
    if (this.#done || this.#closing) return Promise.reject(new NetError("closed", "Cannot call: the pipelined connection is closed"));
    if (this.#queue.length >= this.#max) {
      return Promise.reject(new NetError("overloaded", `Cannot call: ${this.#max} calls are pending, the client's maxInFlight`));
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Res>((resolve, reject) => {
      const call: Pending<Res> = { resolve, reject, signal, onAbort: undefined, state: WAITING };
      this.#queue.push(call);
      writeFrame(this.#writer, req, (error) => this.#writeFailed(call, error));
      if (signal) {
        call.onAbort = () => {
          if (call.state !== WAITING) return;
          call.state = ABORTED;
          call.reject(signal.reason);
        };
        signal.addEventListener("abort", call.onAbort, { once: true });
      }
    });
  }

  async close(): Promise<void> {
    if (!this.#closing && !this.#done) {
      this.#closing = true;
      this.#ready.wakeAll();
      if (this.#queue.length > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
      if (!this.#done) {
        await this.#writer.close().catch(() => {});
        await this.#finish(undefined);
      }
    }
    return this.closed;
  }

  /** Reads responses, one read per chunk, and hands each to the oldest pending call. */
  async #read(): Promise<void> {
    let failure: unknown;
    try {
      for (;;) {
        const r = await this.#reader.read();
        if (r.done) break;
        const batch = r.value;
        for (let i = 0; i < batch.length; i++) {
          const call = this.#queue.shift();
          if (call === undefined) throw protocolError("Received a response that no call is waiting for");
          if (call.state !== WAITING) {
            discard(this.#onDiscard, batch[i]); // aborted: dropped, the connection stays in sync
            continue;
          }
          if (call.onAbort) call.signal!.removeEventListener("abort", call.onAbort);
          call.state = ABORTED;
          call.resolve(batch[i]!);
        }
        this.#freed();
      }
    } catch (error) {
      failure = error;
    }
    if (failure === undefined && this.#queue.length > 0) {
      failure = new NetError("closed", `The connection closed with ${this.#queue.length} calls pending`);
    }
    await this.#finish(failure);
  }

  /** Calls left the queue: wake those waiting for capacity, and close() once it is empty. */
  #freed(): void {
    if (this.#queue.length < this.#max && this.#ready.size > 0) this.#ready.wakeAll();
    if (this.#queue.length === 0 && this.#drained) this.#drained();
  }

  #writeFailed(call: Pending<Res>, error: unknown): void {
    if (this.#writer.desiredSize === null) {
      // The connection is broken: every pending call fails, not only this one.
      this.#finish(error);
      return;
    }
    // The encoder refused this request, and nothing of it was sent.
    if (call.state === WAITING) {
      if (call.onAbort) call.signal!.removeEventListener("abort", call.onAbort);
      call.reject(error);
    }
    call.state = UNSENT;
    this.#queue.remove(call);
    this.#freed();
  }

  /** Ends the client: pending calls reject with `failure` (or `closed`), the connection is closed. */
  async #finish(failure: unknown): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    const error = failure === undefined ? undefined : connectionError(failure);
    const left = this.#queue.takeAll();
    const rejection = error ?? new NetError("closed", "The pipelined connection was closed");
    for (const call of left) {
      if (call.state !== WAITING) continue;
      if (call.onAbort) call.signal!.removeEventListener("abort", call.onAbort);
      call.state = ABORTED;
      call.reject(rejection);
    }
    this.#ready.wakeAll();
    this.#drained?.();
    this.#reader.cancel(error).catch(() => {});
    try {
      await this.#framed.close(error);
    } finally {
      this.#resolveClosed();
    }
  }
}
