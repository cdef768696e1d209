/** The running server behind serve(): the accept loop, the connections, the shutdown. */
import type { Conn } from "../bytes/conn.ts";
import type { Listener } from "../bytes/listener.ts";
import type { NetAddr } from "../bytes/net_addr.ts";
import { NetError } from "../errors.ts";
import type { Clock } from "../service/clock.ts";
import type { Runner } from "./_dispatch_handler.ts";
import { checkMs, checkOptions, closeQuietly } from "./_private.ts";
import type { ConnInfo, Server, ShutdownOptions } from "./serve.ts";

/** serve()'s options, checked, with the defaults applied. */
export interface Config {
  maxConnections: number;
  idleTimeoutMs: number;
  shutdownTimeoutMs: number;
  onError: (error: unknown, info: ConnInfo | undefined) => void;
  clock: Clock;
}

/** One connection being served. */
interface Live {
  conn: Conn;
  info: ConnInfo;
  /** This connection's drain signal: one per connection, so that a thousand handlers do not pile listeners on one signal. */
  drain: AbortController;
  /** Closed at the shutdown deadline: its later errors are the abort's, not news. */
  aborted: boolean;
}

/**
 * The server. Its life: accepting → draining (shutdown started: listener
 * closed, drain signal aborted) → aborting (deadline passed: connections
 * closed with a reason) → finished (accept loop over, no connection left).
 * A connection leaves `#live` when its runner settles or when it is aborted.
 */
export class Serving implements Server {
  readonly addr: NetAddr;
  readonly finished: Promise<void>;
  #listener: Listener;
  #run: Runner;
  #c: Config;
  #live = new Set<Live>();
  #refused = 0;
  #drain = new AbortController();
  #accepting = true;
  #listenerClosed: Promise<void> | undefined;
  #done = false;
  #deadlineAt = Infinity;
  #deadlineTimer: unknown;
  #signal: AbortSignal | undefined;
  #onSignal = () => void this.shutdown();
  #resolveFinished!: () => void;

  constructor(listener: Listener, run: Runner, config: Config, signal: AbortSignal | undefined) {
    this.addr = listener.addr;
    this.#listener = listener;
    this.#run = run;
    this.#c = config;
    this.finished = new Promise((resolve) => (this.#resolveFinished = resolve));
    this.#signal = signal;
    this.#acceptLoop().catch((error) => this.#report(error, undefined));
    if (signal?.aborted) void this.shutdown();
    else signal?.addEventListener("abort", this.#onSignal, { once: true });
  }

  get connections(): number {
    return this.#live.size;
  }

  get refused(): number {
    return this.#refused;
  }

  shutdown(options?: ShutdownOptions): Promise<void> {
    const o = checkOptions("shutdown()", options);
    const timeoutMs = checkMs("shutdown()", "timeoutMs", o.timeoutMs, this.#c.shutdownTimeoutMs, true);
    if (!this.#drain.signal.aborted) {
      const reason = new NetError("closed", "The server is shutting down");
      this.#drain.abort(reason);
      for (const live of [...this.#live]) live.drain.abort(reason);
      this.#closeListener();
    }
    const clock = this.#c.clock;
    const at = clock.now() + timeoutMs;
    if (!this.#done && at < this.#deadlineAt) {
      this.#deadlineAt = at;
      if (this.#deadlineTimer !== undefined) clock.clearTimeout(this.#deadlineTimer);
      if (timeoutMs === 0) this.#abortAll();
      else if (Number.isFinite(timeoutMs)) this.#deadlineTimer = clock.setTimeout(() => this.#abortAll(), timeoutMs);
    }
    return this.finished;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  async #acceptLoop(): Promise<void> {
    while (this.#accepting) {
      let conn: Conn | undefined;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        // A listener that failed may fail again at once: stop rather than spin.
        this.#report(error, undefined);
        break;
      }
      if (conn === undefined) break;
      if (this.#drain.signal.aborted) closeQuietly(conn, this.#drain.signal.reason);
      else if (this.#live.size >= this.#c.maxConnections) {
        this.#refused++;
        closeQuietly(conn, new NetError("overloaded", `Cannot serve the connection: maxConnections ${this.#c.maxConnections} are being served`));
      } else this.#start(conn);
    }
    await this.#closeListener();
    this.#accepting = false;
    this.#maybeFinished();
  }

  /** Closes the listener once (whoever asks first); its failure goes to onError. */
  #closeListener(): Promise<void> {
    return (this.#listenerClosed ??= (async () => {
      try {
        await this.#listener.close();
      } catch (error) {
        this.#report(error, undefined);
      }
    })());
  }

  #start(conn: Conn): void {
    let info: ConnInfo;
    const drain = new AbortController();
    try {
      info = { localAddr: conn.localAddr, remoteAddr: conn.remoteAddr, signal: drain.signal, idleTimeoutMs: this.#c.idleTimeoutMs };
    } catch (error) {
      this.#report(error, undefined);
      closeQuietly(conn, error);
      return;
    }
    const live: Live = { conn, info, drain, aborted: false };
    this.#live.add(live);
    let running: Promise<void>;
    try {
      running = this.#run(conn, info, (error) => this.#report(error, live));
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      () => {
        closeQuietly(conn);
        this.#end(live);
      },
      (error) => {
        this.#report(error, live);
        closeQuietly(conn, error ?? new NetError("closed", "The connection's handler failed"));
        this.#end(live);
      },
    );
  }

  #report(error: unknown, live: Live | undefined): void {
    if (live?.aborted) return;
    try {
      this.#c.onError(error, live?.info);
    } catch {
      // onError must not take the server down either
    }
  }

  #end(live: Live): void {
    if (!this.#live.delete(live)) return;
    this.#maybeFinished();
  }

  /** The shutdown deadline: close what is left, abortively, and count it gone. */
  #abortAll(): void {
    this.#deadlineTimer = undefined;
    const reason = new NetError("closed", "Cannot finish: the server's shutdown deadline passed");
    for (const live of [...this.#live]) {
      live.aborted = true;
      closeQuietly(live.conn, reason);
      this.#end(live);
    }
  }

  #maybeFinished(): void {
    if (this.#done || this.#accepting || this.#live.size > 0) return;
    this.#done = true;
    if (this.#deadlineTimer !== undefined) this.#c.clock.clearTimeout(this.#deadlineTimer);
    this.#signal?.removeEventListener("abort", this.#onSignal);
    this.#resolveFinished();
  }
}
