import type { Clock } from "../service/clock.ts";
import { checkClock, checkMs, checkNumber, checkOptions } from "./_private.ts";

/** How far back the budget looks: tower's and Finagle's 10 s. */
export const DEFAULT_RETRY_WINDOW_MS = 10_000;
/** Retries allowed whatever the traffic, so a quiet client still retries: 10 a second, as in tower and Finagle. */
export const DEFAULT_MIN_RETRIES_PER_SECOND = 10;
/** Retries allowed on top of that, as a share of requests: 20%, as in tower and Finagle. */
export const DEFAULT_RETRY_PERCENT = 20;

const SLOTS = 10; // the window moves in steps of a tenth

/** Options of {@link RetryBudget}. */
export interface RetryBudgetOptions {
  /** The sliding window over which requests and retries are counted, in milliseconds. Default 10 000. */
  windowMs?: number;
  /** Retries a second that are always allowed. Default 10. */
  minRetriesPerSecond?: number;
  /** Retries allowed per 100 requests in the window, on top of the minimum. Default 20. */
  retryPercent?: number;
  /** Where time comes from. Default: the platform's clock. */
  clock?: Clock;
}

/**
 * A retry budget, as in tower and Finagle: every request deposits
 * `retryPercent / 100` of a retry, every retry withdraws one, and a reserve
 * of `minRetriesPerSecond * windowMs / 1000` retries is always there. Over a
 * sliding window, so that during an outage retries add at most 20% to the
 * load instead of multiplying it by `maxAttempts`. Share one budget among the
 * retry layers that call the same backend.
 *
 * @example
 * ```ts
 * import { ManualClock, RetryBudget } from "weft";
 *
 * const clock = new ManualClock();
 * const budget = new RetryBudget({ minRetriesPerSecond: 0, retryPercent: 50, clock });
 * budget.deposit();
 * budget.deposit();
 * console.assert(budget.withdraw() && !budget.withdraw()); // 2 requests pay for 1 retry
 * await clock.advance(10_000); // the window has moved past them
 * budget.deposit();
 * budget.deposit();
 * console.assert(budget.withdraw());
 * ```
 */
export class RetryBudget {
  #clock: Clock;
  #slotMs: number;
  #reserve: number;
  #ratio: number;
  #deposits = new Float64Array(SLOTS);
  #withdrawals = new Float64Array(SLOTS);
  #slot = -1; // the slot number (time / slotMs) of the newest slot

  constructor(options?: RetryBudgetOptions) {
    const o = checkOptions("RetryBudget", options);
    const windowMs = checkMs("RetryBudget", "windowMs", o.windowMs, DEFAULT_RETRY_WINDOW_MS);
    const perSecond = checkNumber("RetryBudget", "minRetriesPerSecond", o.minRetriesPerSecond, 0, Number.MAX_SAFE_INTEGER, DEFAULT_MIN_RETRIES_PER_SECOND);
    const percent = checkNumber("RetryBudget", "retryPercent", o.retryPercent, 0, 1000, DEFAULT_RETRY_PERCENT);
    this.#clock = checkClock("RetryBudget", o.clock);
    this.#slotMs = windowMs / SLOTS;
    this.#reserve = (perSecond * windowMs) / 1000;
    this.#ratio = percent / 100;
  }

  /** Records a request (not a retry). */
  deposit(): void {
    this.#deposits[this.#advance()]! += 1;
  }

  /** Takes one retry from the budget; false when there is none left. */
  withdraw(): boolean {
    const i = this.#advance();
    if (this.balance < 1) return false;
    this.#withdrawals[i]! += 1;
    return true;
  }

  /** Retries the budget allows now. */
  get balance(): number {
    this.#advance();
    let deposits = 0;
    let withdrawals = 0;
    for (let i = 0; i < SLOTS; i++) {
      deposits += this.#deposits[i]!;
      withdrawals += this.#withdrawals[i]!;
    }
    return this.#reserve + deposits * this.#ratio - withdrawals;
  }

  /** The index of the current slot, clearing the slots the window has left. */
  #advance(): number {
    const slot = Math.floor(this.#clock.now() / this.#slotMs);
    if (slot !== this.#slot) {
      const from = this.#slot < 0 ? slot - SLOTS : this.#slot;
      for (let s = Math.max(from + 1, slot - SLOTS + 1); s <= slot; s++) {
        this.#deposits[s % SLOTS] = 0;
        this.#withdrawals[s % SLOTS] = 0;
      }
      this.#slot = slot;
    }
    return slot % SLOTS;
  }
}
