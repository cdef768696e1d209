import type { Clock } from "./clock.ts";

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
}

/** Lets every promise callback that is ready run: one turn of the platform's task queue. */
function settle(): Promise<void> {
  return new Promise((done) => setTimeout(done, 0));
}

/**
 * A {@link Clock} that moves only when told: `advance(ms)` fires the timers
 * that fall due, in order, and lets promise callbacks run after each one, so
 * a test of a 30 s timeout takes a few milliseconds and no timing is left to
 * chance.
 *
 * @example
 * ```ts
 * import { ManualClock } from "weft";
 *
 * const clock = new ManualClock();
 * const fired: number[] = [];
 * clock.setTimeout(() => fired.push(clock.now()), 2000);
 * clock.setTimeout(() => fired.push(clock.now()), 1000);
 * console.assert(clock.pending === 2);
 * await clock.advance(1500);
 * console.assert(fired.join() === "1000" && clock.now() === 1500);
 * await clock.advance(500);
 * console.assert(fired.join() === "1000,2000" && clock.pending === 0);
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Map<number, Timer>();

  /** Starts at `startMs` (default 0). */
  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const seq = ++this.#seq;
    this.#timers.set(seq, { at: this.#now + Math.max(0, ms), seq, callback });
    return seq;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** How many timers are waiting: a test's way to show that nothing was left behind. */
  get pending(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward by `ms`, firing each timer that falls due at its own
   * time, earliest (then oldest) first, and letting promise callbacks run
   * before and after each; timers set by those callbacks fire too when due.
   */
  async advance(ms = 0): Promise<void> {
    if (typeof ms !== "number" || !(ms >= 0)) throw new RangeError(`Invalid ms ${String(ms)}: expected a non-negative number of milliseconds`);
    const target = this.#now + ms;
    await settle();
    for (;;) {
      let next: Timer | undefined;
      for (const t of this.#timers.values()) {
        if (t.at <= target && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      this.#timers.delete(next.seq);
      this.#now = Math.max(this.#now, next.at);
      next.callback();
      await settle();
    }
    this.#now = target;
    await settle();
  }
}
