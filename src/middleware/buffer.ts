import { NetError } from "../errors.ts";
import type { Middleware } from "../service/layer.ts";
import type { CallOptions, Service } from "../service/service.ts";
import { callSafely, checkCount, checkOptions, closedError } from "./_private.ts";

/** Options of {@link buffer}. */
export interface BufferOptions {
  /** Calls that may wait for the inner service's capacity; one more is refused. Required. */
  capacity: number;
}

interface Queued<Req, Res> {
  req: Req;
  options: CallOptions | undefined;
  resolve: (res: Res | Promise<Res>) => void;
  reject: (reason: unknown) => void;
  onAbort: (() => void) | undefined;
}

/**
 * A bounded queue in front of a service: calls wait, in order, until the inner
 * service has capacity (its `capacity` and `ready()`); when `capacity` calls
 * already wait, the next is refused at once with an `overloaded` NetError. A
 * waiting call whose signal aborts leaves the queue at once.
 *
 * Where it stands matters: `buffer()` outside a `concurrencyLimit()` bounds how
 * many callers wait for the limit; inside it, the buffer only ever sees calls
 * the limit has let through, so it never holds any.
 *
 * @example
 * ```ts
 * import { buffer, concurrencyLimit, NetError, serviceFn, stack } from "weft";
 *
 * const gates: (() => void)[] = [];
 * const svc = stack(buffer({ capacity: 1 }), concurrencyLimit({ max: 1 }))(
 *   serviceFn((n: number) => new Promise<number>((r) => gates.push(() => r(n)))),
 * );
 * const running = svc.call(1); // runs
 * const queued = svc.call(2); // waits in the buffer
 * const refused = await svc.call(3).catch((e) => e); // the buffer is full
 * console.assert(refused instanceof NetError && refused.code === "overloaded");
 * gates.shift()!();
 * await running;
 * await new Promise((r) => setTimeout(r, 0));
 * gates.shift()!();
 * console.assert(await queued === 2);
 * ```
 */
export function buffer(options: BufferOptions): Middleware {
  const o = checkOptions("buffer()", options, true);
  const capacity = checkCount("buffer()", "capacity", o.capacity);
  return <Req, Res>(inner: Service<Req, Res>): Service<Req, Res> => new Buffer(inner, capacity);
}

class Buffer<Req, Res> implements Service<Req, Res> {
  #inner: Service<Req, Res>;
  #max: number;
  #queue: Queued<Req, Res>[] = [];
  #waking: AbortController | undefined; // the pending inner.ready(), cancelled when the queue empties
  #closing = false;
  #idle: (() => void) | undefined;

  constructor(inner: Service<Req, Res>, max: number) {
    this.#inner = inner;
    this.#max = max;
  }

  get capacity(): number | undefined {
    const inner = this.#inner.capacity;
    if (inner === undefined) return undefined;
    return (this.#queue.length === 0 ? inner : 0) + this.#max - this.#queue.length;
  }

  ready(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#queue.length < this.#max) return Promise.resolve();
    return this.#inner.ready ? this.#inner.ready(signal) : Promise.resolve();
  }

  call(req: Req, options?: CallOptions): Promise<Res> {
    if (this.#closing) return Promise.reject(closedError("buffer()"));
    if (this.#queue.length === 0 && this.#hasRoom()) return callSafely(this.#inner, req, options);
    if (this.#queue.length >= this.#max) {
      return Promise.reject(new NetError("overloaded", `Cannot call service: buffer() is full (${this.#max} calls waiting)`));
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Res>((resolve, reject) => {
      const entry: Queued<Req, Res> = { req, options, resolve, reject, onAbort: undefined };
      if (signal) {
        entry.onAbort = () => {
          const at = this.#queue.indexOf(entry);
          if (at >= 0) this.#queue.splice(at, 1);
          reject(signal.reason);
          this.#afterChange();
        };
        signal.addEventListener("abort", entry.onAbort, { once: true });
      }
      this.#queue.push(entry);
      this.#wait();
    });
  }

  close(): Promise<void> {
    this.#closing = true;
    const idle = this.#queue.length === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.#idle = resolve));
    return idle.then(() => this.#inner.close?.());
  }

  #hasRoom(): boolean {
    const c = this.#inner.capacity;
    return c === undefined || c > 0;
  }

  /** Sends waiting calls on while the inner service has room. */
  #dispatch(): void {
    while (this.#queue.length > 0 && this.#hasRoom()) {
      const entry = this.#queue.shift()!;
      if (entry.onAbort) entry.options!.signal!.removeEventListener("abort", entry.onAbort);
      const result = callSafely(this.#inner, entry.req, entry.options);
      entry.resolve(result);
      // An inner without ready() is woken by the end of the calls it took from here.
      if (!this.#inner.ready) result.then(() => this.#dispatch(), () => this.#dispatch());
    }
    this.#afterChange();
    if (this.#queue.length > 0) this.#wait();
  }

  /** Waits (once) for the inner service to have room again. */
  #wait(): void {
    if (this.#waking || !this.#inner.ready) return;
    const waking = (this.#waking = new AbortController());
    this.#inner.ready(waking.signal).then(
      () => {
        if (this.#waking !== waking) return;
        this.#waking = undefined;
        this.#dispatch();
      },
      (error) => {
        if (this.#waking !== waking) return; // cancelled: the queue emptied
        this.#waking = undefined;
        for (const entry of this.#queue.splice(0)) {
          if (entry.onAbort) entry.options!.signal!.removeEventListener("abort", entry.onAbort);
          entry.reject(error);
        }
        this.#afterChange();
      },
    );
  }

  #afterChange(): void {
    if (this.#queue.length > 0) return;
    this.#waking?.abort();
    this.#waking = undefined;
    this.#idle?.();
  }
}
