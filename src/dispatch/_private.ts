/** Helpers shared by the dispatchers: option checks, connection errors, a FIFO. */
import { FrameError, NetError } from "../errors.ts";
import { RESOLVED } from "../bytes/_fast_streams.ts";
import type { Clock } from "../service/clock.ts";
import { checkClock, checkCount, checkFunction, checkMs, checkOptions } from "../middleware/_private.ts";
import { DEFAULT_CLIENT_MAX_IN_FLIGHT, DEFAULT_MAX_IN_FLIGHT, type DispatchClientOptions, type DispatchServerOptions } from "./dispatch.ts";

export { callSafely, checkFunction, checkOptions, Waiters } from "../middleware/_private.ts";
export { RESOLVED };

/** Server options with their defaults resolved. */
export interface ResolvedServerOptions<Req, Res> {
  maxInFlight: number;
  signal: AbortSignal | undefined;
  idleTimeoutMs: number | undefined;
  errorResponse: ((error: unknown, request: Req) => Res | undefined) | undefined;
  onError: (error: unknown) => void;
  onDiscard: ((response: Res) => void) | undefined;
  clock: Clock;
}

/** Checks a server dispatcher's options once, at the top. */
export function resolveServerOptions<Req, Res>(fn: string, options: DispatchServerOptions<Req, Res> | undefined): ResolvedServerOptions<Req, Res> {
  const o = checkOptions(fn, options) as DispatchServerOptions<Req, Res>;
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError(`Invalid signal ${String(signal)} for ${fn}: expected an AbortSignal`);
  return {
    maxInFlight: checkCount(fn, "maxInFlight", o.maxInFlight, DEFAULT_MAX_IN_FLIGHT),
    signal,
    idleTimeoutMs: o.idleTimeoutMs === undefined ? undefined : checkMs(fn, "idleTimeoutMs", o.idleTimeoutMs),
    errorResponse: o.errorResponse === undefined ? undefined : checkFunction(fn, "errorResponse", o.errorResponse),
    onError: o.onError === undefined ? () => {} : checkFunction(fn, "onError", o.onError),
    onDiscard: o.onDiscard === undefined ? undefined : checkFunction(fn, "onDiscard", o.onDiscard),
    clock: checkClock(fn, o.clock),
  };
}

/** Checks a client dispatcher's options once, at the top. */
export function resolveClientOptions(fn: string, options: DispatchClientOptions | undefined): { max: number; onDiscard: (response: unknown) => void } {
  const o = checkOptions(fn, options) as DispatchClientOptions;
  return {
    max: checkCount(fn, "maxInFlight", o.maxInFlight, DEFAULT_CLIENT_MAX_IN_FLIGHT),
    onDiscard: o.onDiscard === undefined ? () => {} : checkFunction(fn, "onDiscard", o.onDiscard),
  };
}

/** Hands a response nobody will see to `onDiscard`, which must not throw into the read loop. */
export function discard(onDiscard: ((response: never) => void) | undefined, response: unknown): void {
  if (onDiscard === undefined) return;
  try {
    (onDiscard as (response: unknown) => void)(response);
  } catch {
    // a failing discard hook cannot be helped here
  }
}

/** Checks that `framed` has the two streams a dispatcher uses. */
export function checkFramed(fn: string, framed: unknown): void {
  const f = framed as { batches?: unknown; writable?: unknown; close?: unknown } | null;
  if (typeof f !== "object" || f === null || !(f.batches instanceof ReadableStream) || !(f.writable instanceof WritableStream) || typeof f.close !== "function") {
    throw new TypeError(`Invalid framed ${String(framed)} for ${fn}: expected a Framed with batches, writable and close()`);
  }
}

/** Checks that `service` has a call(). */
export function checkService(fn: string, service: unknown): void {
  if (typeof service !== "object" || service === null || typeof (service as { call?: unknown }).call !== "function") {
    throw new TypeError(`Invalid service ${String(service)} for ${fn}: expected an object with call()`);
  }
}

/** Checks the multiplex hooks a side needs, and the optional ones when present. */
export function checkHooks(fn: string, hooks: unknown, needed: string[]): void {
  if (typeof hooks !== "object" || hooks === null) throw new TypeError(`Invalid hooks ${String(hooks)} for ${fn}: expected the MultiplexHooks of the protocol`);
  const h = hooks as Record<string, unknown>;
  for (const name of [...needed, "cancel", "isCancel"]) {
    if ((needed.includes(name) || h[name] !== undefined) && typeof h[name] !== "function") {
      throw new TypeError(`Invalid hooks.${name} ${String(h[name])} for ${fn}: expected a function`);
    }
  }
}

/** Whether a read error means only that the peer's bytes are corrupt (the connection itself still works). */
export function isFrameError(error: unknown): boolean {
  return error instanceof FrameError;
}

/** The error pending calls see when the connection fails with `error`: a NetError that says why. */
export function connectionError(error: unknown): NetError {
  if (error instanceof NetError) return error;
  return new NetError("unknown", `The connection failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

/** The error of a protocol violation by the peer. */
export function protocolError(message: string): NetError {
  return new NetError("protocol-error", message);
}

/** Writes `frame` without waiting; a failed write (the frame or the connection) goes to `onFailed`. */
export function writeFrame<T>(writer: WritableStreamDefaultWriter<T>, frame: T, onFailed: (error: unknown) => void): void {
  let p: Promise<void>;
  try {
    p = writer.write(frame);
  } catch (error) {
    onFailed(error);
    return;
  }
  // framed()'s writer hands back one shared resolved promise when the frame
  // is buffered: then there is nothing to watch, and no callback to allocate.
  if (p !== RESOLVED) p.then(undefined, onFailed);
}

/** Whether `writer` has room (or failed: then the next write says so). */
export function hasRoom<T>(writer: WritableStreamDefaultWriter<T>): boolean {
  const size = writer.desiredSize;
  return size === null || size > 0;
}

/**
 * A first-in first-out queue on a growing ring: push and shift without
 * moving the other items, and no allocation once it has grown to its size.
 */
export class Fifo<T> {
  #items: (T | undefined)[] = new Array(16);
  #head = 0;
  #size = 0;

  get length(): number {
    return this.#size;
  }

  push(item: T): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#size) % this.#items.length] = item;
    this.#size++;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#items.length;
    this.#size--;
    return item;
  }

  /** Removes `item` from wherever it is (a rare path: a request that never left). */
  remove(item: T): boolean {
    const all = this.takeAll();
    const at = all.indexOf(item);
    if (at >= 0) all.splice(at, 1);
    for (const x of all) this.push(x);
    return at >= 0;
  }

  /** Empties the queue, returning its items in order. */
  takeAll(): T[] {
    const out: T[] = [];
    for (let x = this.shift(); x !== undefined; x = this.shift()) out.push(x);
    return out;
  }

  #grow(): void {
    const items: (T | undefined)[] = new Array(this.#items.length * 2);
    for (let i = 0; i < this.#size; i++) items[i] = this.#items[(this.#head + i) % this.#items.length];
    this.#items = items;
    this.#head = 0;
  }
}

/**
 * A server connection's idle timeout: one timer at a time, re-armed for what
 * is left of the idle time rather than reset per request. `touch()` marks
 * activity (a batch read, the last call answered); once nothing is busy and
 * nothing has happened for `ms`, `onIdle` runs.
 */
export class IdleWatch {
  #clock: Clock;
  #timer: unknown;
  #last: number;

  constructor(clock: Clock, ms: number, busy: () => boolean, onIdle: () => void) {
    this.#clock = clock;
    this.#last = clock.now();
    const check = () => {
      this.#timer = undefined;
      const idleFor = clock.now() - this.#last;
      if (!busy() && idleFor >= ms) return onIdle();
      this.#timer = clock.setTimeout(check, busy() ? ms : ms - idleFor);
    };
    this.#timer = clock.setTimeout(check, ms);
  }

  /** Something happened now. */
  touch(): void {
    this.#last = this.#clock.now();
  }

  /** No more checks. */
  stop(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
