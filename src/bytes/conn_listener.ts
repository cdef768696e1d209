import { NetError } from "../errors.ts";
import type { Conn } from "./conn.ts";
import type { Listener } from "./listener.ts";
import type { NetAddr } from "./net_addr.ts";

/** Options of {@link ConnListener}. */
export interface ConnListenerOptions {
  /** Connections held for `accept()`; past it, new ones are closed at once. */
  backlog: number;
  /** Aborting it closes the listener. */
  signal?: AbortSignal | undefined;
  /** Stops the runtime's listener; called once, by `close()`. */
  close: () => void | Promise<void>;
}

/**
 * The {@link Listener} of every socket adapter: the runtime pushes accepted
 * connections in, `accept()` and async iteration take them out. The queue is
 * bounded by `backlog`; a connection that arrives when it is full is closed and
 * counted in `dropped`, so a server that stops accepting holds no more than that.
 *
 * @example Connections from a memory pipe
 * ```ts
 * import { ConnListener, memoryPipe } from "weft";
 *
 * const listener = new ConnListener({ transport: "memory" }, { backlog: 8, close() {} });
 * const [client, server] = memoryPipe();
 * listener.push(server);
 * const accepted = await listener.accept();
 * console.assert(accepted === server);
 * await listener.close();
 * console.assert(await listener.accept() === undefined);
 * await Promise.all([client.close(), server.close()]);
 * ```
 */
export class ConnListener<C extends Conn = Conn> implements Listener<C> {
  readonly addr: NetAddr;
  #queue: C[] = [];
  #waiters: { resolve(conn: C | undefined): void; reject(error: unknown): void }[] = [];
  #backlog: number;
  #stop: () => void | Promise<void>;
  #closing: Promise<void> | undefined;
  #error: unknown = undefined;
  #dropped = 0;
  #signal: AbortSignal | undefined;
  #onAbort = () => void this.close();

  constructor(addr: NetAddr, options: ConnListenerOptions) {
    this.addr = addr;
    this.#backlog = options.backlog;
    this.#stop = options.close;
    this.#signal = options.signal;
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** Connections closed because the backlog was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Whether `close()` was called or the listener failed. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Hands an accepted connection to the next `accept()`. Returns `false` if it was closed instead. */
  push(conn: C): boolean {
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve(conn);
      return true;
    }
    if (this.#closing || this.#queue.length >= this.#backlog) {
      if (!this.#closing) this.#dropped++;
      conn.close().catch(() => {});
      return false;
    }
    this.#queue.push(conn);
    return true;
  }

  /** Reports that the runtime's listener broke: the next `accept()` rejects with `error`, then the listener is closed. */
  fail(error: unknown): void {
    if (this.#closing) return;
    const waiter = this.#waiters.shift();
    if (waiter) waiter.reject(error);
    else this.#error = error;
    void this.close();
  }

  accept(): Promise<C | undefined> {
    const conn = this.#queue.shift();
    if (conn) return Promise.resolve(conn);
    if (this.#error !== undefined) {
      const error = this.#error;
      this.#error = undefined;
      return Promise.reject(error);
    }
    if (this.#closing) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<C> {
    for (;;) {
      const conn = await this.accept();
      if (conn === undefined) return;
      yield conn;
    }
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    const queued = this.#queue;
    this.#queue = [];
    for (const conn of queued) conn.close().catch(() => {});
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.resolve(undefined);
    this.#closing = (async () => {
      try {
        await this.#stop();
      } catch (error) {
        throw new NetError("unknown", "Cannot close the listener", { cause: error });
      }
    })();
    this.#closing.catch(() => {});
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
