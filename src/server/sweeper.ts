import type { Clock } from "../service/clock.ts";

/** Something a {@link Sweeper} looks at on every tick: a connection checking its own timeouts. */
export interface Swept {
  /** Called on every tick with the clock's time, in milliseconds. */
  sweep(now: number): void;
}

/** The shortest and longest time between two looks, in milliseconds. */
const MIN_TICK_MS = 5;
const MAX_TICK_MS = 1000;

/**
 * One timer for the timeouts of every connection of a server, instead of a
 * timer per request: while anything is added it ticks every quarter of the
 * shortest timeout it was told of (5 ms to 1 s), and each connection checks
 * its own state — a head or a command still arriving, nothing in flight. A
 * timeout therefore fires between one and one and a quarter of its length
 * after it began. serveHttp() and respServer() use it; so can any
 * per-connection handler.
 *
 * @example A connection closed after 100 ms of nothing
 * ```ts
 * import { ManualClock, Sweeper } from "weft";
 *
 * const clock = new ManualClock();
 * const sweeper = new Sweeper(clock);
 * let idleSince = clock.now();
 * let closed = false;
 * const conn = { sweep: (now: number) => { if (now - idleSince >= 100) closed = true; } };
 * sweeper.add(conn, 100);
 * await clock.advance(150);
 * console.assert(closed);
 * sweeper.delete(conn);
 * ```
 */
export class Sweeper {
  #items = new Set<Swept>();
  #clock: Clock | undefined;
  #tick = MAX_TICK_MS;
  #timer: unknown = undefined;

  /** `clock`: the time source (default the platform's timers and `performance.now()`). */
  constructor(clock?: Clock) {
    this.#clock = clock;
  }

  /** Looks at `item` on every tick from now on; `timeoutMs`, its shortest timeout, may shorten the tick. */
  add(item: Swept, timeoutMs: number): void {
    this.#items.add(item);
    const tick = Math.max(MIN_TICK_MS, Math.min(MAX_TICK_MS, timeoutMs / 4));
    if (tick < this.#tick) this.#tick = tick;
    if (this.#timer === undefined) this.#arm();
  }

  /** Stops looking at `item`; with nothing left the timer stops. */
  delete(item: Swept): void {
    this.#items.delete(item);
  }

  #arm(): void {
    const clock = this.#clock;
    const tick = () => {
      this.#timer = undefined;
      const now = clock ? clock.now() : performance.now();
      for (const item of this.#items) item.sweep(now);
      if (this.#items.size > 0) this.#arm();
    };
    if (clock) {
      this.#timer = clock.setTimeout(tick, this.#tick);
      return;
    }
    const timer = setTimeout(tick, this.#tick);
    // A Node timer would keep the process alive for an idle server: the server's own handles do that.
    (timer as { unref?: () => void }).unref?.();
    this.#timer = timer;
  }
}
