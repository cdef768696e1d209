/** What a caller may pass with each call. */
export interface CallOptions {
  /**
   * Aborting it abandons the call: every layer passes it (or a signal that
   * follows it) down to the innermost service, and a call still waiting in a
   * queue leaves the queue and rejects with `signal.reason`.
   */
  signal?: AbortSignal | undefined;
}

/**
 * A request/response service: the one interface between application logic and
 * everything around it (middleware, dispatchers, servers, clients). It knows
 * no protocol and no socket.
 *
 * **Capacity, without reservations.** A service that can only take so many
 * calls at a time (a concurrency limit, a rate limit, an open circuit) says so
 * through `capacity` and `ready()`, so that `loadShed()` can refuse at once and
 * `balance()` can pick a backend that has room. Neither reserves anything.
 * tower's `poll_ready` reserves a slot when it reports readiness, and a caller
 * that then drops the service without calling it leaks that slot for good.
 * JavaScript runs one turn at a time, so nothing can take a slot between
 * reading `capacity` and calling `call()` in the same synchronous turn:
 * `call()` takes the slot itself, synchronously, and releases it when its call
 * ends, fails or is aborted. A probe that is never followed by a call costs
 * nothing, and a slot is held only by a call that exists.
 *
 * @example A service and its capacity
 * ```ts
 * import { concurrencyLimit, type Service } from "weft";
 *
 * const upper: Service<string, string> = { call: async (s) => s.toUpperCase() };
 * const limited = concurrencyLimit({ max: 1 })(upper);
 * console.assert(upper.capacity === undefined && limited.capacity === 1);
 * const pending = limited.call("a"); // takes the slot at once
 * console.assert(limited.capacity === 0);
 * console.assert(await pending === "A" && limited.capacity === 1);
 * ```
 */
export interface Service<Req, Res> {
  /** Handles one request. The promise settles once, with the response or the error. */
  call(req: Req, options?: CallOptions): Promise<Res>;
  /**
   * Stops taking calls: later calls reject with a `closed` NetError; calls in
   * flight finish; resolves once they have, and the services inside are closed.
   */
  close?(): Promise<void>;
  /**
   * How many calls the service would start right now without making them
   * wait or refusing them; `undefined` (or absent) for no limit. Reading it
   * reserves nothing: a call made in the same synchronous turn is sure to
   * find the room it saw.
   */
  readonly capacity?: number | undefined;
  /**
   * Resolves when `capacity` may have become positive again (at once when it
   * is). Reserves nothing, so check `capacity` again after it. Rejects with
   * `signal.reason` when `signal` aborts. Every service with a `capacity`
   * has it.
   */
  ready?(signal?: AbortSignal): Promise<void>;
}
