import { NetError } from "../errors.ts";

/** Options of {@link withDeadline}. */
export interface DeadlineOptions<T> {
  /** The caller's signal; aborting it rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** Reject with a `timed-out` NetError after this long; `Infinity` for never. */
  timeoutMs: number;
  /** What is being waited for, for the timeout's message: `"Cannot connect to 10.0.0.1:80"`. */
  what: string;
  /** Called with a result that arrives after the deadline or the abort, to release it (close a late socket). */
  discard?: (value: T) => void;
}

/**
 * Runs an attempt under a caller's `AbortSignal` and a timeout. The attempt gets
 * its own signal, aborted when either fires, so it can stop its work; a result
 * that arrives too late is passed to `discard` instead of leaking. For adapter
 * authors.
 *
 * @example
 * ```ts
 * import { withDeadline, NetError } from "weft";
 *
 * const never = (signal: AbortSignal) => new Promise<number>((_, reject) => {
 *   signal.addEventListener("abort", () => reject(signal.reason));
 * });
 * try {
 *   await withDeadline(never, { timeoutMs: 10, what: "Cannot wait" });
 * } catch (e) {
 *   console.assert(e instanceof NetError && e.code === "timed-out");
 * }
 * ```
 */
export function withDeadline<T>(attempt: (signal: AbortSignal) => Promise<T>, options: DeadlineOptions<T>): Promise<T> {
  const { signal, timeoutMs, what, discard } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const inner = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = (reason: unknown) => {
      if (settled) return;
      settled = true;
      cleanup();
      inner.abort(reason);
      reject(reason);
    };
    const onAbort = () => stop(signal!.reason);
    const cleanup = () => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    if (Number.isFinite(timeoutMs)) {
      timer = setTimeout(() => stop(new NetError("timed-out", `${what}: timed out after ${timeoutMs} ms`)), timeoutMs);
    }
    let started: Promise<T>;
    try {
      started = attempt(inner.signal);
    } catch (error) {
      stop(error);
      return;
    }
    started.then(
      (value) => {
        if (settled) {
          discard?.(value);
          return;
        }
        settled = true;
        cleanup();
        resolve(value);
      },
      (error) => {
        if (settled) return;
        settled = true;
        cleanup();
        reject(error);
      },
    );
  });
}
