import { NetError } from "../errors.ts";
import type { Clock } from "../service/clock.ts";
import type { CallOptions, Service } from "../service/service.ts";
import { type Backoff, backoff } from "./backoff.ts";
import { callSafely, checkClock, checkFunction, checkOptions, closedError, RESOLVED, sleep } from "./_private.ts";

/** The first wait before making the service again after a failure: 100 ms before jitter, doubling to 30 s. */
export const DEFAULT_RECONNECT_BASE_MS = 100;
/** The longest wait between attempts to make the service. */
export const DEFAULT_RECONNECT_MAX_MS = 30_000;

/** Errors that mean the service is broken and must be made again: its connection is gone. */
const BROKEN_CODES = new Set(["connection-reset", "connection-aborted", "broken-pipe", "closed"]);

/** Options of {@link reconnect}. */
export interface ReconnectOptions<Target> {
  /** What the maker is called with (an address). Default undefined. */
  target?: Target;
  /** The wait before attempt `n` to make the service again, in milliseconds. Default 100 ms doubling to 30 s, jittered. */
  backoff?: Backoff;
  /**
   * Whether an error of a call means the service is broken: it is closed and
   * made again on the next call. Default: a NetError `connection-reset`,
   * `connection-aborted`, `broken-pipe` or `closed`.
   */
  isBroken?(error: unknown): boolean;
  /** Where time comes from. Default: the platform's clock. */
  clock?: Clock;
}

/**
 * Keeps a service made on demand: a layer over a maker, a service whose
 * response is a service (tower's MakeService, such as a function that connects
 * and returns a client). The first call makes it; calls share it; an error
 * that means it broke drops it, and the next call makes a new one. When
 * making fails, the calls waiting for it reject with that error, and the next
 * attempt waits a jittered, growing backoff. A caller that aborts while
 * waiting leaves at once; when nobody waits any more, the attempt stops.
 *
 * @example
 * ```ts
 * import { NetError, reconnect, serviceFn } from "weft";
 *
 * let made = 0;
 * const connect = serviceFn(async (addr: string) => {
 *   const id = ++made;
 *   let calls = 0;
 *   return serviceFn(async (req: string) => {
 *     if (++calls > 2) throw new NetError("connection-reset", "reset by peer"); // each connection breaks after 2 calls
 *     return `${addr} #${id}: ${req}`;
 *   });
 * });
 * const client = reconnect({ target: "db:5432" })(connect);
 * console.assert(await client.call("a") === "db:5432 #1: a" && await client.call("b") === "db:5432 #1: b");
 * await client.call("c").catch(() => {}); // broken: dropped
 * console.assert(await client.call("d") === "db:5432 #2: d" && made === 2);
 * ```
 */
export function reconnect<Target = undefined>(options?: ReconnectOptions<Target>): <Req, Res>(maker: Service<Target, Service<Req, Res>>) => Service<Req, Res> {
  const o = checkOptions("reconnect()", options);
  const config: Config<Target> = {
    target: o.target as Target,
    backoff: checkFunction<Backoff>("reconnect()", "backoff", o.backoff, backoff({ baseMs: DEFAULT_RECONNECT_BASE_MS, maxMs: DEFAULT_RECONNECT_MAX_MS })),
    isBroken: checkFunction("reconnect()", "isBroken", o.isBroken, (e: unknown) => e instanceof NetError && BROKEN_CODES.has(e.code)),
    clock: checkClock("reconnect()", o.clock),
  };
  return <Req, Res>(maker: Service<Target, Service<Req, Res>>) => new Reconnect(maker, config);
}

interface Config<Target> {
  target: Target;
  backoff: Backoff;
  isBroken: (error: unknown) => boolean;
  clock: Clock;
}

class Reconnect<Target, Req, Res> implements Service<Req, Res> {
  #maker: Service<Target, Service<Req, Res>>;
  #c: Config<Target>;
  #current: Service<Req, Res> | undefined;
  #making: Promise<Service<Req, Res>> | undefined;
  #attempt: AbortController | undefined;
  #waiting = 0; // calls waiting for #making
  #failures = 0; // in a row
  #retryAt = -Infinity;
  #closing = false;

  constructor(maker: Service<Target, Service<Req, Res>>, config: Config<Target>) {
    this.#maker = maker;
    this.#c = config;
  }

  get capacity(): number | undefined {
    if (this.#current) return this.#current.capacity;
    return this.#c.clock.now() < this.#retryAt ? 0 : undefined;
  }

  ready(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#current?.ready) return this.#current.ready(signal);
    const wait = this.#retryAt - this.#c.clock.now();
    return !this.#current && wait > 0 ? sleep(this.#c.clock, wait, signal) : RESOLVED;
  }

  call(req: Req, options?: CallOptions): Promise<Res> {
    if (this.#closing) return Promise.reject(closedError("reconnect()"));
    const current = this.#current;
    if (current) return this.#use(current, req, options);
    return this.#get(options?.signal).then((svc) => this.#use(svc, req, options));
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#attempt?.abort(closedError("reconnect()"));
    const current = this.#current;
    this.#current = undefined;
    await current?.close?.();
  }

  #use(svc: Service<Req, Res>, req: Req, options: CallOptions | undefined): Promise<Res> {
    return callSafely(svc, req, options).catch((error) => {
      if (svc === this.#current && this.#c.isBroken(error)) {
        this.#current = undefined;
        svc.close?.().catch(() => {});
      }
      throw error;
    });
  }

  /** The service being made, shared by every caller; a caller's abort only takes that caller out. */
  #get(signal: AbortSignal | undefined): Promise<Service<Req, Res>> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const making = (this.#making ??= this.#make());
    this.#waiting++;
    return new Promise((resolve, reject) => {
      const leave = () => {
        signal?.removeEventListener("abort", onAbort);
        if (--this.#waiting === 0 && this.#making === making && !this.#current) {
          // Nobody waits any more: stop the attempt (its backoff timer too).
          this.#attempt?.abort(signal?.reason);
        }
      };
      const onAbort = () => {
        leave();
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      making.then(
        (svc) => {
          if (signal?.aborted) return;
          leave();
          resolve(svc);
        },
        (error) => {
          if (signal?.aborted) return;
          leave();
          reject(error);
        },
      );
    });
  }

  #make(): Promise<Service<Req, Res>> {
    const attempt = (this.#attempt = new AbortController());
    const wait = this.#retryAt - this.#c.clock.now();
    const done = () => {
      if (this.#attempt === attempt) this.#attempt = undefined;
      this.#making = undefined;
    };
    const make = () => callSafely(this.#maker, this.#c.target, { signal: attempt.signal });
    return (wait > 0 ? sleep(this.#c.clock, wait, attempt.signal).then(make) : make())
      .then(
        (svc) => {
          done();
          if (attempt.signal.aborted) {
            svc.close?.().catch(() => {}); // made after everyone left: not wanted
            throw attempt.signal.reason;
          }
          this.#current = svc;
          this.#failures = 0;
          this.#retryAt = -Infinity;
          return svc;
        },
        (error) => {
          done();
          if (!attempt.signal.aborted) this.#retryAt = this.#c.clock.now() + this.#c.backoff(++this.#failures);
          throw error;
        },
      );
  }
}
