import { NetError } from "../errors.ts";
import type { DispatchClient } from "../dispatch/dispatch.ts";
import type { Clock } from "../service/clock.ts";
import type { CallOptions, Service } from "../service/service.ts";
import { checkClock, checkCount, checkFunction, checkMs, checkOptions } from "./_private.ts";

/** Connections a pool opens at most by default: a pipelined connection carries many calls, a few spread them over the server's cores. */
export const DEFAULT_POOL_SIZE = 8;
/** A pooled connection with no call for this long is closed: half the server's default, so the client closes first and never sends on a connection the server is closing. */
export const DEFAULT_POOL_IDLE_TIMEOUT_MS = 30_000;

/** Options of {@link pool}. */
export interface PoolOptions<Req, Res> {
  /**
   * Opens one connection and returns its client (`pipelineClient()` or
   * `multiplexClient()` over a framed connection). `signal` aborts when the
   * pool no longer wants it. A rejection fails the calls waiting for it.
   */
  connect(signal: AbortSignal): Promise<DispatchClient<Req, Res>>;
  /** Connections open (or opening) at most. Default {@link DEFAULT_POOL_SIZE}. */
  size?: number;
  /** A connection with no call for this long is closed; `Infinity` for never. Default {@link DEFAULT_POOL_IDLE_TIMEOUT_MS}. */
  idleTimeoutMs?: number;
  /** Time source for the idle timeout. Default the system clock. */
  clock?: Clock;
}

/** A pool of client connections that is itself a {@link Service}: what {@link pool} returns. */
export interface Pool<Req, Res> extends Service<Req, Res> {
  /** Connections open now (not counting those being opened). */
  readonly connections: number;
  /** Calls made through the pool that have not settled (those waiting for a connection included). */
  readonly pending: number;
  /**
   * `undefined` while the pool may open another connection; at `size`, the
   * room left in the open connections (the sum of their `capacity`).
   */
  readonly capacity: number | undefined;
  /** Resolves when `capacity` may have become positive (a call ended, a connection opened or went away). */
  ready(signal?: AbortSignal): Promise<void>;
  /** Refuses new calls, lets the calls made so far finish, then closes every connection. */
  close(): Promise<void>;
}

/**
 * A client pool: a {@link Service} over up to `size` connections, opened on
 * demand with `connect`.
 *
 * Each call goes to an open connection with nothing pending if there is one;
 * otherwise, below `size`, a new connection is opened and the call waits for
 * it; at `size` it goes to the connection with the fewest calls pending, as
 * pipelined and multiplexed connections carry many calls at once. (The first
 * connection with the fewest is chosen, so that under light load the later
 * ones go idle and close.) A connection that fails to open rejects the calls
 * waiting for it with its error and is forgotten; the next call tries again.
 * A connection whose `closed` settles, or that reports no capacity with
 * nothing pending, is dropped; its pending calls reject through its client,
 * and later calls use (or open) another. The pool retries nothing: put
 * `retry()` outside it for that.
 *
 * @example Pipelined connections to a line server
 * ```ts
 * import { framed, lines, memoryListener, pipelineClient, pool, serve, serviceFn } from "weft";
 *
 * const listener = memoryListener();
 * const server = serve(listener, { codec: () => lines(), mode: "pipeline", service: serviceFn(async (s: string) => `+${s}`) });
 * const client = pool({
 *   size: 2,
 *   connect: async () => pipelineClient<string, string>(framed(await listener.connect(), lines())),
 * });
 * const answers = await Promise.all(["a", "b", "c", "d"].map((s) => client.call(s)));
 * console.assert(answers.join() === "+a,+b,+c,+d" && client.connections === 2);
 * await client.close();
 * await server.shutdown();
 * ```
 */
export function pool<Req, Res>(options: PoolOptions<Req, Res>): Pool<Req, Res> {
  const fn = "pool()";
  const o = checkOptions(fn, options, true);
  return new ClientPool<Req, Res>({
    connect: checkFunction<PoolOptions<Req, Res>["connect"]>(fn, "connect", o.connect, true)!,
    size: checkCount(fn, "size", o.size, DEFAULT_POOL_SIZE),
    idleTimeoutMs: checkMs(fn, "idleTimeoutMs", o.idleTimeoutMs, DEFAULT_POOL_IDLE_TIMEOUT_MS),
    clock: checkClock(fn, o.clock),
  });
}

interface Config<Req, Res> {
  connect: (signal: AbortSignal) => Promise<DispatchClient<Req, Res>>;
  size: number;
  idleTimeoutMs: number;
  clock: Clock;
}

/** One connection of the pool, from its connect to its drop. */
interface Entry<Req, Res> {
  client: DispatchClient<Req, Res> | undefined; // undefined while connecting
  connecting: Promise<DispatchClient<Req, Res>>;
  attempt: AbortController;
  waiters: number; // calls waiting for the connect
  inUse: number; // calls sent on it through the pool and not settled
  idleTimer: unknown;
  dropped: boolean;
}

class ClientPool<Req, Res> implements Pool<Req, Res> {
  #c: Config<Req, Res>;
  #entries: Entry<Req, Res>[] = [];
  #pending = 0;
  #ready = new Set<() => void>();
  #closing: Promise<void> | undefined;
  #clients = new Set<DispatchClient<Req, Res>>(); // every client whose closed has not settled

  constructor(config: Config<Req, Res>) {
    this.#c = config;
  }

  get connections(): number {
    this.#prune();
    let n = 0;
    for (const e of this.#entries) if (e.client) n++;
    return n;
  }

  get pending(): number {
    return this.#pending;
  }

  get capacity(): number | undefined {
    if (this.#closing) return 0;
    this.#prune();
    if (this.#entries.length < this.#c.size) return undefined;
    let room = 0;
    for (const e of this.#entries) {
      const capacity = e.client?.capacity;
      if (e.client && capacity === undefined) return undefined;
      room += capacity ?? 0;
    }
    return room;
  }

  ready(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const capacity = this.capacity;
    if (capacity === undefined || capacity > 0 || this.#closing) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        this.#ready.delete(wake);
        resolve();
      };
      const onAbort = () => {
        this.#ready.delete(wake);
        reject(signal!.reason);
      };
      this.#ready.add(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  call(req: Req, options?: CallOptions): Promise<Res> {
    if (this.#closing) return Promise.reject(new NetError("closed", "Cannot call service: pool() is closed"));
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const entry = this.#pick();
    if (entry === undefined) {
      return Promise.reject(new NetError("overloaded", `Cannot call: all ${this.#c.size} connections of the pool are at their maxInFlight`));
    }
    this.#pending++;
    const result = entry.client ? this.#send(entry, entry.client, req, options) : this.#wait(entry, req, options);
    result.then(this.#settled, this.#settled);
    return result;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#wakeReady();
      // Connections being opened: the calls waiting for one are sent as it opens.
      await Promise.all(this.#entries.map((e) => {
        if (e.client) return;
        if (e.waiters === 0) e.attempt.abort(new NetError("closed", "The pool is closed"));
        return e.connecting.then(() => {}, () => {});
      }));
      for (const e of [...this.#entries]) this.#drop(e);
      // Every client not yet closed, idle ones already closing included: each lets its calls finish.
      const closeOne = async (client: DispatchClient<Req, Res>) => {
        await client.close().catch(() => {});
        await client.closed.catch(() => {});
      };
      await Promise.all([...this.#clients].map(closeOne));
    })();
    return this.#closing;
  }

  /** The connection for the next call (see the class comment for the order); undefined when all are full. */
  #pick(): Entry<Req, Res> | undefined {
    this.#prune();
    let best: Entry<Req, Res> | undefined;
    let bestPending = Infinity;
    let connecting: Entry<Req, Res> | undefined;
    for (const e of this.#entries) {
      const client = e.client;
      if (client === undefined) {
        if (connecting === undefined || e.waiters < connecting.waiters) connecting = e;
      } else if (client.capacity === undefined || client.capacity > 0) {
        const pending = client.pending;
        if (pending < bestPending) {
          best = e;
          bestPending = pending;
        }
      }
    }
    if (best && bestPending === 0) return best;
    if (this.#entries.length < this.#c.size) return this.#open();
    return best ?? connecting;
  }

  /** Drops the clients that are finished: no capacity with nothing pending means closing or closed. */
  #prune(): void {
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const e = this.#entries[i]!;
      const client = e.client;
      if (client && finished(client)) this.#drop(e); // removes index i only
    }
  }

  #open(): Entry<Req, Res> {
    const attempt = new AbortController();
    const entry: Entry<Req, Res> = { client: undefined, connecting: undefined!, attempt, waiters: 0, inUse: 0, idleTimer: undefined, dropped: false };
    let connecting: Promise<DispatchClient<Req, Res>>;
    try {
      connecting = Promise.resolve(this.#c.connect(attempt.signal));
    } catch (error) {
      connecting = Promise.reject(error);
    }
    entry.connecting = connecting.then(
      (client) => {
        if (typeof client !== "object" || client === null || typeof client.call !== "function" || !(client.closed instanceof Promise)) {
          this.#drop(entry);
          throw new TypeError("Invalid client from pool()'s connect: expected a DispatchClient");
        }
        entry.client = client;
        this.#clients.add(client);
        const gone = () => {
          this.#clients.delete(client);
          this.#drop(entry);
        };
        client.closed.then(gone, gone);
        if (entry.dropped) client.close().catch(() => {}); // the pool was done with it before it came
        this.#idle(entry);
        // The calls that waited for this connection go first, in their order: the last of them wakes the
        // calls waiting for room (a buffer() in front), which would otherwise be sent ahead of them.
        if (entry.waiters === 0) this.#wakeReady();
        return client;
      },
      (error) => {
        this.#drop(entry);
        throw error instanceof NetError ? error : new NetError("unknown", `Cannot connect: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      },
    );
    entry.connecting.catch(() => {}); // its waiters see the error
    this.#entries.push(entry);
    return entry;
  }

  /** Waits for `entry`'s connect, then sends in the same turn (so that close() finds the call pending). */
  #wait(entry: Entry<Req, Res>, req: Req, options: CallOptions | undefined): Promise<Res> {
    const signal = options?.signal;
    entry.waiters++;
    return new Promise<Res>((resolve, reject) => {
      let waiting = true;
      const leave = () => {
        waiting = false;
        entry.waiters--;
        signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        leave();
        reject(signal!.reason);
        this.#idle(entry);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      entry.connecting.then(
        (client) => {
          if (waiting) {
            leave();
            this.#sendWhenRoom(entry, client, req, options).then(resolve, reject);
          }
          if (entry.waiters === 0) this.#wakeReady();
        },
        (error) => {
          if (!waiting) return;
          leave();
          reject(error);
        },
      );
    });
  }

  /**
   * Sends once `client` has room: the calls that waited for a connection to
   * open may be more than it takes at once (its `maxInFlight`).
   */
  async #sendWhenRoom(entry: Entry<Req, Res>, client: DispatchClient<Req, Res>, req: Req, options: CallOptions | undefined): Promise<Res> {
    if (client.capacity !== undefined && client.capacity <= 0 && client.ready !== undefined) {
      entry.waiters++; // not idle while calls wait for it
      try {
        while (client.capacity !== undefined && client.capacity <= 0) {
          // A client with no room and nothing pending is finished: its ready() would resolve at once, forever.
          if (finished(client)) throw new NetError("closed", "The connection closed before the call could be sent");
          await client.ready(options?.signal);
        }
      } finally {
        entry.waiters--;
        this.#idle(entry);
      }
    }
    return this.#send(entry, client, req, options);
  }

  #send(entry: Entry<Req, Res>, client: DispatchClient<Req, Res>, req: Req, options: CallOptions | undefined): Promise<Res> {
    entry.inUse++;
    if (entry.idleTimer !== undefined) {
      this.#c.clock.clearTimeout(entry.idleTimer);
      entry.idleTimer = undefined;
    }
    let result: Promise<Res>;
    try {
      result = client.call(req, options);
    } catch (error) {
      result = Promise.reject(error);
    }
    const done = () => {
      entry.inUse--;
      this.#idle(entry);
    };
    result.then(done, done);
    return result;
  }

  #settled = (): void => {
    this.#pending--;
    this.#wakeReady();
  };

  /** Starts `entry`'s idle timer if nothing uses or awaits it. */
  #idle(entry: Entry<Req, Res>): void {
    if (entry.dropped || !entry.client || entry.inUse > 0 || entry.waiters > 0 || this.#closing) return;
    if (entry.idleTimer !== undefined || !Number.isFinite(this.#c.idleTimeoutMs)) return;
    entry.idleTimer = this.#c.clock.setTimeout(() => {
      entry.idleTimer = undefined;
      if (entry.inUse > 0 || entry.waiters > 0 || this.#closing) return;
      this.#drop(entry);
      entry.client!.close().catch(() => {});
    }, this.#c.idleTimeoutMs);
  }

  #drop(entry: Entry<Req, Res>): void {
    if (entry.dropped) return;
    entry.dropped = true;
    if (entry.idleTimer !== undefined) this.#c.clock.clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
    const at = this.#entries.indexOf(entry);
    if (at >= 0) this.#entries.splice(at, 1);
    this.#wakeReady();
  }

  #wakeReady(): void {
    if (this.#ready.size === 0) return;
    for (const wake of [...this.#ready]) wake();
  }
}

/** A client that takes no more calls and has none pending: its connection is over. */
function finished(client: DispatchClient<unknown, unknown>): boolean {
  return client.capacity === 0 && client.pending === 0;
}
