/** Helpers shared by the middleware: forwarding, option checks, waits that can be abandoned. */
import { NetError } from "../errors.ts";
import { type Clock, systemClock } from "../service/clock.ts";
import type { CallOptions, Service } from "../service/service.ts";

/** An option's value for a message: strings quoted, so that "4" and 4 differ. */
export function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : typeof value === "function" ? "function" : String(value);
}

/** Checks that `options` is an object (or absent, when `required` is false). */
export function checkOptions(fn: string, options: unknown, required = false): Record<string, unknown> {
  if (options === undefined && !required) return {};
  if (typeof options !== "object" || options === null) throw new TypeError(`Invalid ${fn} options ${show(options)}: expected an object`);
  return options as Record<string, unknown>;
}

/** A count option: a positive integer (or 0 with `allowZero`). */
export function checkCount(fn: string, name: string, value: unknown, fallback?: number, allowZero = false): number {
  if (value === undefined && fallback !== undefined) return fallback;
  const expected = allowZero ? "a non-negative integer" : "a positive integer";
  if (typeof value !== "number") throw new TypeError(`Invalid ${name} ${show(value)} for ${fn}: expected ${expected}`);
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) throw new RangeError(`Invalid ${name} ${show(value)} for ${fn}: expected ${expected}`);
  return value;
}

/** A duration option in milliseconds: positive (or 0 with `allowZero`), finite. */
export function checkMs(fn: string, name: string, value: unknown, fallback?: number, allowZero = false): number {
  if (value === undefined && fallback !== undefined) return fallback;
  const expected = `a ${allowZero ? "non-negative" : "positive"} number of milliseconds`;
  if (typeof value !== "number") throw new TypeError(`Invalid ${name} ${show(value)} for ${fn}: expected ${expected}`);
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !allowZero)) throw new RangeError(`Invalid ${name} ${show(value)} for ${fn}: expected ${expected}`);
  return value;
}

/** A number option within [min, max]. */
export function checkNumber(fn: string, name: string, value: unknown, min: number, max: number, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "number") throw new TypeError(`Invalid ${name} ${show(value)} for ${fn}: expected a number from ${min} to ${max}`);
  if (!(value >= min && value <= max)) throw new RangeError(`Invalid ${name} ${show(value)} for ${fn}: expected a number from ${min} to ${max}`);
  return value;
}

/** A function option. */
export function checkFunction<F>(fn: string, name: string, value: unknown, fallback?: F): F {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "function") throw new TypeError(`Invalid ${name} ${show(value)} for ${fn}: expected a function`);
  return value as F;
}

/** The `clock` option. */
export function checkClock(fn: string, value: unknown): Clock {
  if (value === undefined) return systemClock;
  const c = value as Clock;
  if (typeof c !== "object" || c === null || typeof c.now !== "function" || typeof c.setTimeout !== "function" || typeof c.clearTimeout !== "function") {
    throw new TypeError(`Invalid clock ${show(value)} for ${fn}: expected an object with now(), setTimeout() and clearTimeout()`);
  }
  return c;
}

/** The `random` option: a function returning a number in [0, 1). */
export function checkRandom(fn: string, value: unknown): () => number {
  return checkFunction(fn, "random", value, Math.random);
}

export const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A service that forwards `capacity`, `ready()` and `close()` to `inner`
 * and handles calls with `call`: the shape of most middleware.
 */
export class Forward<Req, Res, OReq, ORes> implements Service<OReq, ORes> {
  readonly inner: Service<Req, Res>;
  readonly call: (req: OReq, options?: CallOptions) => Promise<ORes>;

  constructor(inner: Service<Req, Res>, call: (req: OReq, options?: CallOptions) => Promise<ORes>) {
    this.inner = inner;
    this.call = call;
  }

  get capacity(): number | undefined {
    return this.inner.capacity;
  }

  ready(signal?: AbortSignal): Promise<void> {
    return this.inner.ready ? this.inner.ready(signal) : signal?.aborted ? Promise.reject(signal.reason) : RESOLVED;
  }

  close(): Promise<void> {
    return this.inner.close ? this.inner.close() : RESOLVED;
  }
}

/** Calls `inner`, turning a synchronous throw into a rejection. */
export function callSafely<Req, Res>(inner: Service<Req, Res>, req: Req, options: CallOptions | undefined): Promise<Res> {
  try {
    return inner.call(req, options);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The error of a call to a closed service. */
export function closedError(fn: string): NetError {
  return new NetError("closed", `Cannot call service: ${fn} is closed`);
}

/** Resolves after `ms` on `clock`; rejects with `signal.reason` (and clears the timer) if `signal` aborts first. */
export function sleep(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  prev: Waiter | undefined;
  next: Waiter | undefined;
}

/**
 * A FIFO of callers waiting for something (a slot, a window, capacity), as a
 * linked list so that an aborted caller leaves from the middle at once. It
 * rejects with `signal.reason`, and `onLeave` (if set) is told, so that a
 * timer kept for the queue can stop.
 */
export class Waiters {
  #first: Waiter | undefined;
  #last: Waiter | undefined;
  #size = 0;
  onLeave: (() => void) | undefined;

  /** Callers waiting. */
  get size(): number {
    return this.#size;
  }

  /** Waits in line; the promise resolves when `wake()` reaches this caller. */
  wait(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const w: Waiter = { resolve, reject, signal, onAbort: undefined, prev: this.#last, next: undefined };
      if (this.#last) this.#last.next = w;
      else this.#first = w;
      this.#last = w;
      this.#size++;
      if (signal) {
        w.onAbort = () => {
          this.#unlink(w);
          reject(signal.reason);
          this.onLeave?.();
        };
        signal.addEventListener("abort", w.onAbort, { once: true });
      }
    });
  }

  /** Wakes the first caller in line; false when nobody waits. */
  wake(): boolean {
    const w = this.#first;
    if (!w) return false;
    this.#unlink(w);
    w.resolve();
    return true;
  }

  /** Wakes everybody. */
  wakeAll(): void {
    while (this.wake());
  }

  /** Rejects everybody with `reason`. */
  rejectAll(reason: unknown): void {
    for (let w = this.#first; w; w = this.#first) {
      this.#unlink(w);
      w.reject(reason);
    }
  }

  #unlink(w: Waiter): void {
    if (w.onAbort) w.signal!.removeEventListener("abort", w.onAbort);
    if (w.prev) w.prev.next = w.next;
    else this.#first = w.next;
    if (w.next) w.next.prev = w.prev;
    else this.#last = w.prev;
    w.prev = w.next = undefined;
    this.#size--;
  }
}

/** An option that takes one of `choices`. */
export function checkChoice<T extends string>(fn: string, name: string, value: unknown, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!choices.includes(value as T)) {
    throw new TypeError(`Invalid ${name} ${show(value)} for ${fn}: expected ${choices.map((c) => `"${c}"`).join(" or ")}`);
  }
  return value as T;
}
