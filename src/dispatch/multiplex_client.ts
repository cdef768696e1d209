import { NetError } from "../errors.ts";
import type { CallOptions } from "../service/service.ts";
import type { Framed } from "../transport/framed.ts";
import type { DispatchClient, DispatchClientOptions, MultiplexHooks } from "./dispatch.ts";
import { checkHooks, connectionError, discard, protocolError, RESOLVED, resolveClientOptions, Waiters, writeFrame } from "./_private.ts";

/** The largest request id by default: ids fit in 32 bits. */
export const DEFAULT_MAX_REQUEST_ID = 2 ** 32 - 1;

const WAITING = 0;
const ABORTED = 1;

interface Pending<Res> {
  id: number;
  resolve(res: Res): void;
  reject(error: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  state: number;
}

/**
 * The client side of a multiplexed protocol: a {@link DispatchClient} that
 * tags each request with a fresh id (through `hooks`) and matches responses,
 * which may come back in any order, by id. Ids count up and wrap around
 * below `hooks.maxId`, skipping ids still in flight.
 *
 * Aborting a call rejects it at once with `signal.reason`. If the protocol has
 * a cancel frame (`hooks.cancel`), it is sent and the id is freed; a response
 * that crosses the cancel is dropped. Without one, the id stays taken (and
 * counts in `pending`) until its response arrives and is dropped. A response
 * with an id no call has is a `protocol-error`: the connection is closed and
 * every pending call rejects, as when the connection breaks.
 *
 * @example Two calls, answered in the other order
 * ```ts
 * import { framed, jsonLines, memoryPipe, multiplexClient, multiplexServer, serviceFn, type MultiplexHooks } from "weft";
 *
 * type Frame = { id: number; n: number };
 * const hooks: MultiplexHooks<Frame, Frame> = {
 *   requestId: (f) => f.id,
 *   responseId: (f) => f.id,
 *   withRequestId: (f, id) => ({ ...f, id }),
 *   withResponseId: (f, id) => ({ ...f, id }),
 * };
 * const [a, b] = memoryPipe();
 * let release!: () => void;
 * const gate = new Promise<void>((r) => (release = r));
 * multiplexServer(framed(b, jsonLines<Frame>()), serviceFn(async (f: Frame) => {
 *   if (f.n === 1) await gate;
 *   return { id: 0, n: f.n * 10 };
 * }), hooks);
 *
 * const client = multiplexClient(framed(a, jsonLines<Frame>()), hooks);
 * const slow = client.call({ id: 0, n: 1 });
 * console.assert((await client.call({ id: 0, n: 2 })).n === 20);
 * release();
 * console.assert((await slow).n === 10);
 * await client.close();
 * ```
 */
export function multiplexClient<Req, Res>(
  framed: Framed<Res, Req>,
  hooks: MultiplexHooks<Req, Res>,
  options?: DispatchClientOptions,
): DispatchClient<Req, Res> {
  const fn = "multiplexClient()";
  checkHooks(fn, hooks, ["responseId", "withRequestId"]);
  const { max, onDiscard } = resolveClientOptions(fn, options);
  const maxId = hooks.maxId ?? DEFAULT_MAX_REQUEST_ID;
  if (!Number.isSafeInteger(maxId) || maxId < 0) throw new RangeError(`Invalid hooks.maxId ${maxId} for ${fn}: expected a non-negative integer`);
  return new MultiplexClient(framed, hooks, max, maxId, onDiscard);
}

class MultiplexClient<Req, Res> implements DispatchClient<Req, Res> {
  readonly closed: Promise<void>;
  #framed: Framed<Res, Req>;
  #hooks: MultiplexHooks<Req, Res>;
  #max: number;
  #maxId: number;
  #onDiscard: (response: unknown) => void;
  #nextId = 0;
  #reader: ReadableStreamDefaultReader<Res[]>;
  #writer: WritableStreamDefaultWriter<Req>;
  #calls = new Map<number, Pending<Res>>();
  #cancelled = new Set<number>(); // ids cancelled on the wire: a crossing response is dropped (at most maxInFlight kept)
  #ready = new Waiters();
  #closing = false;
  #done = false;
  #drained: (() => void) | undefined;
  #resolveClosed!: () => void;

  constructor(framed: Framed<Res, Req>, hooks: MultiplexHooks<Req, Res>, max: number, maxId: number, onDiscard: (response: unknown) => void) {
    this.#framed = framed;
    this.#onDiscard = onDiscard;
    this.#hooks = hooks;
    this.#max = max;
    this.#maxId = maxId;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#reader = framed.batches.getReader();
    this.#writer = framed.writable.getWriter();
    this.#read();
  }

  get pending(): number {
    return this.#calls.size;
  }

  get capacity(): number {
    return this.#done || this.#closing ? 0 : Math.min(this.#max, this.#maxId + 1 - this.#cancelled.size) - this.#calls.size;
  }

  ready(signal?: AbortSignal): Promise<void> {
    if (this.capacity > 0 || this.#done || this.#closing) return signal?.aborted ? Promise.reject(signal.reason) : RESOLVED;
    return this.#ready.wait(signal);
  }

  call(req: Req, options?: CallOptions): Promise<Res> {
    if (this.#done || this.#closing) return Promise.reject(new NetError("closed", "Cannot call: the multiplexed connection is closed"));
    if (this.capacity <= 0) {
      return Promise.reject(new NetError("overloaded", `Cannot call: ${this.#calls.size} calls are pending, the client's maxInFlight or the id space`));
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = this.#allocate();
    let frame: Req;
    try {
      frame = this.#hooks.withRequestId(req, id);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<Res>((resolve, reject) => {
      const call: Pending<Res> = { id, resolve, reject, signal, onAbort: undefined, state: WAITING };
      this.#calls.set(id, call);
      writeFrame(this.#writer, frame, (error) => this.#writeFailed(call, error));
      if (signal) {
        call.onAbort = () => this.#abort(call, signal.reason);
        signal.addEventListener("abort", call.onAbort, { once: true });
      }
    });
  }

  async close(): Promise<void> {
    if (!this.#closing && !this.#done) {
      this.#closing = true;
      this.#ready.wakeAll();
      if (this.#calls.size > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
      if (!this.#done) {
        await this.#writer.close().catch(() => {});
        await this.#finish(undefined);
      }
    }
    return this.closed;
  }

  /** The next id not in flight, counting up and wrapping around. */
  #allocate(): number {
    for (;;) {
      const id = this.#nextId;
      this.#nextId = id === this.#maxId ? 0 : id + 1;
      if (!this.#calls.has(id) && !this.#cancelled.has(id)) return id;
    }
  }

  #abort(call: Pending<Res>, reason: unknown): void {
    if (call.state !== WAITING) return;
    call.state = ABORTED;
    call.reject(reason);
    const cancel = this.#hooks.cancel;
    if (cancel === undefined || this.#done) return; // the response is read and dropped when it comes
    this.#calls.delete(call.id);
    if (this.#cancelled.size >= this.#max) this.#cancelled.delete(this.#cancelled.values().next().value!);
    this.#cancelled.add(call.id);
    let frame: Req;
    try {
      frame = cancel(call.id);
    } catch (error) {
      return void this.#finish(error);
    }
    writeFrame(this.#writer, frame, (error) => this.#writeFailed(undefined, error));
    this.#freed();
  }

  async #read(): Promise<void> {
    let failure: unknown;
    try {
      for (;;) {
        const r = await this.#reader.read();
        if (r.done) break;
        const batch = r.value;
        for (let i = 0; i < batch.length; i++) {
          const id = this.#hooks.responseId(batch[i]!);
          const call = this.#calls.get(id);
          if (call === undefined) {
            if (this.#cancelled.delete(id)) {
              discard(this.#onDiscard, batch[i]); // crossed its cancel
              continue;
            }
            throw protocolError(`Received a response with id ${id}, which no call has`);
          }
          this.#calls.delete(id);
          if (call.state !== WAITING) {
            discard(this.#onDiscard, batch[i]);
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
    if (failure === undefined && this.#calls.size > 0) {
      failure = new NetError("closed", `The connection closed with ${this.#calls.size} calls pending`);
    }
    await this.#finish(failure);
  }

  #freed(): void {
    if (this.#ready.size > 0 && this.capacity > 0) this.#ready.wakeAll();
    if (this.#calls.size === 0 && this.#drained) this.#drained();
  }

  #writeFailed(call: Pending<Res> | undefined, error: unknown): void {
    if (call === undefined || this.#writer.desiredSize === null) return void this.#finish(error);
    // The encoder refused this request: nothing of it was sent.
    if (call.state === WAITING) {
      if (call.onAbort) call.signal!.removeEventListener("abort", call.onAbort);
      call.state = ABORTED;
      call.reject(error);
    }
    this.#calls.delete(call.id);
    this.#freed();
  }

  async #finish(failure: unknown): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    const error = failure === undefined ? undefined : connectionError(failure);
    const rejection = error ?? new NetError("closed", "The multiplexed connection was closed");
    for (const call of this.#calls.values()) {
      if (call.state !== WAITING) continue;
      if (call.onAbort) call.signal!.removeEventListener("abort", call.onAbort);
      call.state = ABORTED;
      call.reject(rejection);
    }
    this.#calls.clear();
    this.#cancelled.clear();
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
