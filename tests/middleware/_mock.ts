/** A mock service whose test decides when, and in what order, each call ends; and small waits that end by themselves. */
import type { CallOptions, Service } from "../../mod.ts";

/** One call the mock received. */
export interface MockCall<Req, Res> {
  req: Req;
  signal: AbortSignal | undefined;
  resolve(res: Res): void;
  reject(error: unknown): void;
  /** Settled, by the test or by an abort. */
  settled: boolean;
}

/** A mock service: every call waits until the test resolves or rejects it, or its signal aborts. */
export class Mock<Req = unknown, Res = unknown> implements Service<Req, Res> {
  calls: MockCall<Req, Res>[] = [];
  /** Whether an aborted signal rejects the call (a well-behaved service); false for one that ignores it. */
  honorAbort = true;
  closed = false;

  call(req: Req, options?: CallOptions): Promise<Res> {
    const signal = options?.signal;
    return new Promise<Res>((resolve, reject) => {
      const onAbort = () => settle(() => reject(signal!.reason));
      const call: MockCall<Req, Res> = {
        req,
        signal,
        settled: false,
        resolve: (res) => settle(() => resolve(res)),
        reject: (error) => settle(() => reject(error)),
      };
      const settle = (f: () => void) => {
        if (call.settled) return;
        call.settled = true;
        signal?.removeEventListener("abort", onAbort);
        f();
      };
      this.calls.push(call);
      if (signal && this.honorAbort) {
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort);
      }
    });
  }

  /** Calls not settled yet. */
  get pending(): MockCall<Req, Res>[] {
    return this.calls.filter((c) => !c.settled);
  }

  /** The `i`-th call (throws if there is none). */
  at(i: number): MockCall<Req, Res> {
    const c = this.calls[i];
    if (!c) throw new Error(`no call #${i} (have ${this.calls.length})`);
    return c;
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

/** A mock with a capacity (what a limit in front of a backend reports). */
export class CapacityMock<Req = unknown, Res = unknown> extends Mock<Req, Res> {
  capacity = 1;
  #ready: (() => void)[] = [];
  ready(signal?: AbortSignal): Promise<void> {
    if (this.capacity > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => resolve();
      this.#ready.push(done);
      signal?.addEventListener("abort", () => {
        this.#ready = this.#ready.filter((d) => d !== done);
        reject(signal.reason);
      });
    });
  }
  /** ready() callers still waiting. */
  get readyWaiters(): number {
    return this.#ready.length;
  }
  setCapacity(n: number): void {
    this.capacity = n;
    if (n > 0) for (const d of this.#ready.splice(0)) d();
  }
}

/** One turn of the task queue: every ready promise callback has run. */
export function tick(): Promise<void> {
  return new Promise((done) => setTimeout(done, 0));
}

/** The outcome of a promise that should have settled by now, without waiting for it. */
export async function state<T>(p: Promise<T>): Promise<{ value: T } | { error: unknown } | "pending"> {
  let out: { value: T } | { error: unknown } | "pending" = "pending";
  p.then((value) => (out = { value }), (error) => (out = { error }));
  await tick();
  return out;
}

/** An AbortController and a reason to abort with. */
export function aborter(): { controller: AbortController; signal: AbortSignal; reason: Error; abort(): void } {
  const controller = new AbortController();
  const reason = new Error("caller gave up");
  return { controller, signal: controller.signal, reason, abort: () => controller.abort(reason) };
}

/** Marks `p` handled now (its outcome is read later with `state`), so that a rejection before then is not reported as unhandled. */
export function hold<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}
