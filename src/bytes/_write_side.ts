/**
 * The writing half of a SocketConn.
 *
 * Like the read side, it has two ways in. The `writable` is a real
 * `WritableStream` whose sink hands each chunk to the raw socket, so `pipeTo`
 * and `pipeThrough` work through the platform. Its default writer, though,
 * takes the short cut of a FastWritable (see _fast_streams.ts): `write()`
 * hands the chunk to the socket at once when nothing is queued, and
 * returns an already-settled promise when the runtime took every byte; only
 * when the socket pushes back are chunks queued, up to the high-water mark,
 * with `ready` and `desiredSize` telling the truth about it.
 */

import { describe, FastWritable, type FastTarget, RESOLVED, rejected } from "./_fast_streams.ts";

/** What the write side asks of its owner. */
export interface WriteHooks {
  /** Hand bytes to the socket: nothing when it took them all, or a promise. */
  write(chunk: Uint8Array): void | Promise<void>;
  /** `writable.close()`: send FIN once the queued bytes are out. */
  close(): Promise<void>;
  /** `writable.abort(reason)`. */
  abort(reason: unknown): void;
  /** A write failed: the connection is broken. */
  failed(error: unknown): void;
}

interface Pending {
  chunk: Uint8Array;
  resolve(): void;
  reject(error: unknown): void;
}


/** The queue and state of a socket's outgoing bytes. For SocketConn. */
export class WriteSide implements FastTarget<Uint8Array> {
  readonly writable: WritableStream<Uint8Array>;
  #hooks: WriteHooks;
  #highWaterMark: number;
  #wc!: WritableStreamDefaultController;
  #queue: Pending[] = [];
  #bytes = 0; // queued plus in flight, as a platform stream counts them
  #busy = false; // a write to the socket is in flight
  #closing = false;
  #failed = false;
  #error: unknown = undefined;
  #ready: { promise: Promise<void>; resolve(): void; reject(error: unknown): void } | undefined;
  #idle: (() => void)[] = [];

  constructor(hooks: WriteHooks, highWaterMark: number) {
    this.#hooks = hooks;
    this.#highWaterMark = highWaterMark;
    this.writable = new FastWritable<Uint8Array>(
      {
        start: (c) => {
          this.#wc = c;
        },
        write: (chunk) => {
          if (!(chunk instanceof Uint8Array)) {
            throw new TypeError(`Cannot write ${describe(chunk)}: expected a Uint8Array`);
          }
          if (chunk.byteLength === 0) return;
          // Bytes a released default writer left queued go first.
          if (this.#busy || this.#queue.length > 0) {
            return new Promise<void>((r) => this.#idle.push(r)).then(() => this.#send(chunk));
          }
          return this.#send(chunk);
        },
        close: () => hooks.close(),
        abort: (reason) => hooks.abort(reason),
      },
      { highWaterMark, size: (chunk) => (chunk instanceof Uint8Array ? chunk.byteLength : 0) },
      this,
    );
  }

  /** Whether the writable failed or was closed by the connection. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Fails the writable with `error`: queued writes reject, later ones too. */
  fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#error = error;
    const queue = this.#queue;
    this.#queue = [];
    this.#bytes = 0;
    for (const p of queue) p.reject(error);
    this.#ready?.reject(error);
    this.#ready = undefined;
    this.#wakeIdle();
    try {
      this.#wc.error(error);
    } catch {
      // already closed
    }
  }

  // ── the writer's side ──────────────────────────────────────────────────

  /** the default writer's write(). */
  write(chunk: Uint8Array): Promise<void> {
    if (this.#failed) return rejected(this.#error);
    if (this.#closing) return rejected(new TypeError("Cannot write: the writable is closing or closed"));
    if (!(chunk instanceof Uint8Array)) {
      return rejected(new TypeError(`Cannot write ${describe(chunk)}: expected a Uint8Array`));
    }
    if (chunk.byteLength === 0) return RESOLVED;
    if (!this.#busy && this.#queue.length === 0) {
      // Fast path: nothing ahead of this chunk, so it goes to the socket now,
      // and a write the runtime took whole costs no promise of our own.
      const pending = this.#send(chunk);
      return pending === undefined ? RESOLVED : pending;
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ chunk, resolve, reject });
      this.#bytes += chunk.byteLength;
    });
  }

  /** the default writer's ready. */
  get ready(): Promise<void> {
    if (this.#failed) return rejected(this.#error);
    if (this.#bytes < this.#highWaterMark) return RESOLVED;
    if (!this.#ready) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      promise.catch(() => {});
      this.#ready = { promise, resolve, reject };
    }
    return this.#ready.promise;
  }

  /** the default writer's desiredSize. */
  get desiredSize(): number | null {
    if (this.#failed) return null;
    if (this.#closing) return 0;
    return this.#highWaterMark - this.#bytes;
  }

  /** the default writer's close(): waits for the queue, then closes the platform stream (which sends FIN). */
  async closing(): Promise<void> {
    if (this.#failed) throw this.#error;
    if (this.#closing) throw new TypeError("Cannot close: the writable is closing or closed");
    this.#closing = true;
    if (this.#busy || this.#queue.length > 0) await new Promise<void>((r) => this.#idle.push(r));
    if (this.#failed) throw this.#error;
  }

  /** Hands `chunk` to the socket; undefined when it was taken at once. */
  #send(chunk: Uint8Array): Promise<void> | undefined {
    let pending: void | Promise<void>;
    try {
      pending = this.#hooks.write(chunk);
    } catch (error) {
      this.#hooks.failed(error);
      return rejected(error);
    }
    if (pending === undefined) return undefined;
    this.#busy = true;
    this.#bytes += chunk.byteLength;
    // The bookkeeping reacts to the runtime's promise, and the caller gets
    // that same promise: both reactions run in one microtask turn, with no
    // promise chained in between (the bookkeeping runs first). Its own
    // derived promise never rejects, so a failure is reported to the caller
    // alone.
    pending.then(
      () => {
        this.#busy = false;
        this.#bytes -= chunk.byteLength;
        this.#next();
      },
      (error) => {
        this.#busy = false;
        this.#hooks.failed(error);
      },
    );
    return pending;
  }

  /** Sends queued chunks until one has to wait. */
  #next(): void {
    while (!this.#busy && !this.#failed && this.#queue.length > 0) {
      const p = this.#queue.shift()!;
      this.#bytes -= p.chunk.byteLength;
      const pending = this.#send(p.chunk);
      if (pending === undefined) p.resolve();
      else pending.then(p.resolve, p.reject);
    }
    if (this.#ready && this.#bytes < this.#highWaterMark) {
      this.#ready.resolve();
      this.#ready = undefined;
    }
    if (!this.#busy && this.#queue.length === 0) this.#wakeIdle();
  }

  #wakeIdle(): void {
    const idle = this.#idle;
    this.#idle = [];
    for (const wake of idle) wake();
  }
}
