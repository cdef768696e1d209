import type { Service } from "../service/service.ts";
import type { Framed } from "../transport/framed.ts";
import type { DispatchServerOptions, MultiplexHooks } from "./dispatch.ts";
import {
  callSafely,
  checkFramed,
  checkHooks,
  checkService,
  connectionError,
  discard,
  hasRoom,
  isFrameError,
  protocolError,
  resolveServerOptions,
  type ResolvedServerOptions,
  IdleWatch,
  writeFrame,
} from "./_private.ts";

/**
 * Serves a multiplexed protocol on one connection: every frame carries a
 * request id (where, `hooks` say), up to `maxInFlight` calls run at once, and
 * each response leaves as soon as its call ends, with its request's id. The
 * connection keeps being read while handlers run, so a slow call never holds
 * up the others or a cancel.
 *
 * A cancel frame (`hooks.isCancel`) aborts the signal of the call with its id,
 * and no response is sent for it. A request whose id is still in flight is a
 * `protocol-error` (the connection is closed). Otherwise it ends like
 * {@link pipelineServer}: the peer's FIN, `signal` or the idle timeout let the
 * calls in flight finish and their responses leave before the connection
 * closes; a broken connection aborts them. A failed call without an
 * `errorResponse` stops reading and closes the connection once the other calls
 * have answered (its caller would wait for ever otherwise).
 *
 * @example Responses leave as their calls end, tagged with the request's id
 * ```ts
 * import { framed, jsonLines, memoryPipe, multiplexServer, serviceFn, type MultiplexHooks } from "weft";
 *
 * type Frame = { id: number; n: number };
 * const hooks: MultiplexHooks<Frame, Frame> = {
 *   requestId: (f) => f.id,
 *   responseId: (f) => f.id,
 *   withRequestId: (f, id) => ({ ...f, id }),
 *   withResponseId: (f, id) => ({ ...f, id }),
 * };
 * const [a, b] = memoryPipe();
 * const slow = serviceFn(async (f: Frame) => {
 *   if (f.n === 1) await new Promise((r) => setTimeout(r, 20));
 *   return { id: 0, n: f.n * 10 };
 * });
 * multiplexServer(framed(b, jsonLines<Frame>()), slow, hooks);
 *
 * const peer = framed(a, jsonLines<Frame>());
 * const writer = peer.writable.getWriter();
 * writer.write({ id: 7, n: 1 });
 * writer.write({ id: 8, n: 2 });
 * const reader = peer.readable.getReader();
 * const first = (await reader.read()).value!;
 * const second = (await reader.read()).value!;
 * console.assert(first.id === 8 && first.n === 20 && second.id === 7 && second.n === 10);
 * await peer.close();
 * ```
 */
export function multiplexServer<Req, Res>(
  framed: Framed<Req, Res>,
  service: Service<Req, Res>,
  hooks: MultiplexHooks<Req, Res>,
  options?: DispatchServerOptions<Req, Res>,
): Promise<void> {
  const fn = "multiplexServer()";
  checkFramed(fn, framed);
  checkService(fn, service);
  checkHooks(fn, hooks, ["requestId", "withResponseId"]);
  return new MultiplexServer(framed, service, hooks, resolveServerOptions(fn, options)).finished;
}

/** A call in flight. Its controller exists only when the protocol has cancel frames. */
class Call<Req> {
  readonly id: number;
  readonly req: Req;
  readonly controller: AbortController | undefined;
  cancelled = false;
  constructor(id: number, req: Req, controller: AbortController | undefined) {
    this.id = id;
    this.req = req;
    this.controller = controller;
  }
}

class MultiplexServer<Req, Res> {
  readonly finished: Promise<void>;
  #framed: Framed<Req, Res>;
  #service: Service<Req, Res>;
  #hooks: MultiplexHooks<Req, Res>;
  #o: ResolvedServerOptions<Req, Res>;
  #reader: ReadableStreamDefaultReader<Req[]>;
  #writer: WritableStreamDefaultWriter<Res>;
  #byId = new Map<number, Call<Req>>(); // calls that will answer (not cancelled)
  #running = 0; // calls whose handler has not settled, cancelled ones included
  #reading = true;
  #done = false;
  #failedCall = false; // a call failed with no response: finish once the others have answered
  #calls = new AbortController(); // every call's signal follows it
  #shared = { signal: this.#calls.signal };
  #room: (() => void) | undefined;
  #idle: IdleWatch | undefined;
  #resolve!: () => void;
  #onDrain = () => this.#stopReading();
  #onWriteFailed = (error: unknown) => this.#break(error);

  constructor(framed: Framed<Req, Res>, service: Service<Req, Res>, hooks: MultiplexHooks<Req, Res>, o: ResolvedServerOptions<Req, Res>) {
    this.#framed = framed;
    this.#service = service;
    this.#hooks = hooks;
    this.#o = o;
    this.finished = new Promise((resolve) => (this.#resolve = resolve));
    this.#reader = framed.batches.getReader();
    this.#writer = framed.writable.getWriter();
    if (o.signal?.aborted) this.#reading = false;
    o.signal?.addEventListener("abort", this.#onDrain);
    if (o.idleTimeoutMs !== undefined) this.#idle = new IdleWatch(o.clock, o.idleTimeoutMs, () => this.#running !== 0, () => this.#stopReading());
    this.#read();
  }

  async #read(): Promise<void> {
    try {
      while (this.#reading) {
        if (!hasRoom(this.#writer)) await this.#writer.ready;
        if (!this.#reading) break;
        const r = await this.#reader.read();
        if (r.done) break;
        const batch = r.value;
        this.#idle?.touch();
        for (let i = 0; i < batch.length && !this.#failedCall; i++) {
          const frame = batch[i]!;
          if (this.#hooks.isCancel?.(frame)) {
            this.#cancel(this.#hooks.requestId(frame));
            continue;
          }
          if (this.#running >= this.#o.maxInFlight) await new Promise<void>((resolve) => (this.#room = resolve));
          if (this.#done) return;
          this.#dispatch(frame);
        }
      }
    } catch (error) {
      if (this.#done) return;
      if (!isFrameError(error)) return this.#break(error);
      this.#o.onError(error);
    }
    this.#reading = false;
    this.#maybeFinish();
  }

  #dispatch(req: Req): void {
    const id = this.#hooks.requestId(req);
    if (this.#byId.has(id)) return this.#break(protocolError(`Received request id ${id} while a call with that id is in flight`));
    const controller = this.#hooks.isCancel ? new AbortController() : undefined;
    const call = new Call(id, req, controller);
    this.#byId.set(id, call);
    this.#running++;
    callSafely(this.#service, req, controller ? { signal: controller.signal } : this.#shared).then(
      (res) => this.#settled(call, res, undefined, false),
      (error) => this.#settled(call, undefined, error, true),
    );
  }

  #cancel(id: number): void {
    const call = this.#byId.get(id);
    if (call === undefined) return; // answered already: the cancel crossed the response
    this.#byId.delete(id);
    call.cancelled = true;
    call.controller?.abort(new DOMException(`Call ${id} was cancelled by the peer`, "AbortError"));
  }

  #settled(call: Call<Req>, res: Res | undefined, error: unknown, failed: boolean): void {
    if (this.#done) return void (failed || discard(this.#o.onDiscard, res));
    this.#running--;
    if (!call.cancelled) {
      this.#byId.delete(call.id);
      if (!failed) writeFrame(this.#writer, this.#hooks.withResponseId(res!, call.id), this.#onWriteFailed);
      else this.#answerFailure(call, error);
    } else if (!failed) {
      discard(this.#o.onDiscard, res);
    }
    if (this.#room !== undefined && this.#running < this.#o.maxInFlight) {
      const room = this.#room;
      this.#room = undefined;
      room();
    }
    if (this.#running === 0) this.#idle?.touch();
    this.#maybeFinish();
  }

  #answerFailure(call: Call<Req>, error: unknown): void {
    this.#o.onError(error);
    let res: Res | undefined;
    try {
      res = this.#o.errorResponse?.(error, call.req);
    } catch (e) {
      this.#o.onError(e);
    }
    if (res !== undefined) return writeFrame(this.#writer, this.#hooks.withResponseId(res, call.id), this.#onWriteFailed);
    this.#failedCall = true;
    this.#stopReading();
  }

  #stopReading(): void {
    if (!this.#reading) return;
    this.#reading = false;
    this.#reader.cancel().catch(() => {});
    this.#maybeFinish();
  }

  #maybeFinish(): void {
    if (!this.#done && !this.#reading && this.#running === 0) this.#finish();
  }

  async #finish(): Promise<void> {
    this.#end();
    try {
      await this.#writer.close();
    } catch (error) {
      this.#o.onError(connectionError(error));
    }
    await this.#framed.close();
    this.#resolve();
  }

  #break(error: unknown): void {
    if (this.#done) return;
    this.#end();
    const reason = connectionError(error);
    this.#calls.abort(reason);
    for (const call of this.#byId.values()) call.controller?.abort(reason);
    this.#byId.clear();
    this.#o.onError(reason);
    this.#reader.cancel(reason).catch(() => {});
    this.#writer.abort(reason).catch(() => {});
    this.#framed.close(reason).then(this.#resolve, this.#resolve);
  }

  #end(): void {
    this.#done = true;
    this.#reading = false;
    this.#o.signal?.removeEventListener("abort", this.#onDrain);
    this.#idle?.stop();
    const room = this.#room;
    this.#room = undefined;
    room?.();
  }
}
