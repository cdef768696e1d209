/**
 * The reading half of a SocketConn: the bytes a socket delivers, queued up to
 * a high-water mark, and handed to whichever reader asks.
 *
 * Three ways in, one queue. The `readable` is a real byte `ReadableStream`, so
 * `pipeTo`, `pipeThrough`, `tee`, `new Response()` and BYOB readers work
 * through the platform's machinery (its `pull` takes from the queue, or fills
 * a BYOB reader's buffer; the stream's own queue stays empty, high-water mark
 * 0). Its default reader, though, takes the short cut of a FastReadable
 * (see _fast_streams.ts): `read()` takes a chunk straight from the queue, or
 * waits for the socket's next one, with one promise per read. That is what
 * keeps a read per message near the cost of the runtime's own socket API.
 *
 * An adapter whose runtime reads into one reused buffer (Deno) delivers
 * *borrowed* chunks, valid only during the call: they are copied only where
 * they are kept, and a waiting BYOB read gets the bytes copied straight into
 * its own buffer, so bulk transfers need no allocation per read.
 */

import { type ByobResult, DONE, type FastByobSource, FastReadable, type FastSource, type ReadResult } from "./_fast_streams.ts";

/** What the read side asks of its owner. */
export interface ReadHooks {
  /** Stop reading from the socket. */
  pause(): void;
  /** Read from the socket again. */
  resume(): void;
  /** The reader cancelled the readable. */
  cancelled(): void;
  /** The readable ended (FIN taken, or the error reported). */
  ended(): void;
}


type Result = ReadResult<Uint8Array> | ByobResult;

interface Waiter {
  resolve(result: Result): void;
  reject(error: unknown): void;
  view: Uint8Array | undefined; // a BYOB read's buffer
}

/** The queue and state of a socket's incoming bytes. For SocketConn. */
export class ReadSide implements FastSource<Uint8Array>, FastByobSource {
  readonly readable: ReadableStream<Uint8Array>;
  readAhead: boolean;
  #hooks: ReadHooks;
  #highWaterMark: number;
  #rc!: ReadableByteStreamController;
  // Bytes read and not yet taken; #head is the first live index, so taking a
  // chunk is O(1) without Array#shift.
  #queue: (Uint8Array | undefined)[] = [];
  #head = 0;
  #bytes = 0;
  #paused = true;
  #pullWaits = false; // the stream's pull() waits for a chunk
  // The default reader's read() waiting for a chunk: its promise's functions, kept
  // in two fields and captured by one executor bound once, so that a read
  // that waits allocates nothing but its promise.
  #resolve: ((result: Result) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;
  #capture = (resolve: (result: Result) => void, reject: (error: unknown) => void): void => {
    this.#resolve = resolve;
    this.#reject = reject;
  };
  // The buffer of the waiting read when it is a BYOB reader's: the bytes go
  // into it (or a read fills it directly), never through a chunk of our own.
  #view: Uint8Array | undefined;
  // Reads asked for while another already waits, answered in order after it
  // (rare: most readers await each read before the next).
  #more: Waiter[] | undefined;
  #eof = false;
  #error: unknown = undefined; // reported once the queued bytes are taken
  #hasError = false;
  #done = false; // ended, cancelled or failed: nothing more is delivered
  #storedError: unknown = undefined;
  #failed = false;

  constructor(hooks: ReadHooks, readAhead: boolean, highWaterMark: number) {
    this.#hooks = hooks;
    this.readAhead = readAhead;
    this.#highWaterMark = highWaterMark;
    this.readable = new FastReadable<Uint8Array>(
      {
        type: "bytes",
        start: (c: ReadableByteStreamController) => {
          this.#rc = c;
        },
        pull: () => this.#pull(),
        cancel: () => this.#cancel(),
      },
      { highWaterMark: 0 },
      this,
      this,
    );
  }

  /** Bytes read from the socket and not taken yet. */
  get bufferedBytes(): number {
    return this.#bytes;
  }

  /** Whether the peer's FIN arrived. */
  get eof(): boolean {
    return this.#eof;
  }

  /** Whether the readable is over (ended, cancelled or failed). */
  get done(): boolean {
    return this.#done;
  }

  /** Starts reading ahead if the mode allows. */
  start(): void {
    if (this.readAhead) this.#resume();
  }

  /** Switches read-ahead on (Deno, once the socket can no longer be upgraded). */
  enableReadAhead(): void {
    if (this.readAhead) return;
    this.readAhead = true;
    if (!this.#eof && this.#bytes < this.#highWaterMark) this.#resume();
  }

  /**
   * A chunk from the socket. The read side owns it from now on, unless it is
   * `borrowed`: then it is valid only during this call, and whatever is kept
   * of it is copied.
   */
  data(chunk: Uint8Array, borrowed = false): void {
    if (this.#done || chunk.byteLength === 0) return; // cancelled: read and discard
    if (this.#resolve !== undefined) {
      const view = this.#view;
      // Fast path: the default reader waits, so the chunk goes straight to it.
      if (view === undefined) return this.#answer({ done: false, value: borrowed ? chunk.slice() : chunk });
      // A BYOB reader waits: the bytes go into its buffer, the rest goes on.
      const n = Math.min(view.byteLength, chunk.byteLength);
      view.set(n === chunk.byteLength ? chunk : chunk.subarray(0, n));
      this.#answer({ done: false, value: view.subarray(0, n) });
      if (n < chunk.byteLength) this.data(chunk.subarray(n), borrowed);
      return;
    }
    if (this.#pullWaits) {
      this.#pullWaits = false;
      const request = this.#rc.byobRequest;
      if (request) {
        // A BYOB read waits: copy into its buffer; keep what does not fit.
        const view = request.view as Uint8Array;
        const n = Math.min(view.byteLength, chunk.byteLength);
        view.set(n === chunk.byteLength ? chunk : chunk.subarray(0, n));
        if (n < chunk.byteLength) this.#keep(chunk.subarray(n), true);
        request.respond(n);
      } else {
        this.#rc.enqueue(transferable(chunk, borrowed));
      }
      if (!this.readAhead) this.#pause();
      return;
    }
    this.#keep(chunk, borrowed);
  }

  /** A waiting BYOB reader's buffer, for a read to fill directly (RawSocketEvents.target). */
  target(): Uint8Array | undefined {
    if (this.#view !== undefined) return this.#view;
    if (!this.#pullWaits || this.#done) return undefined;
    return (this.#rc.byobRequest?.view as Uint8Array | undefined) ?? undefined;
  }

  /** A read filled `n` bytes of a buffer {@link target} gave. */
  filled(target: Uint8Array, n: number): void {
    if (this.#done || n === 0) return;
    // Zero-copy path: the read went straight into the waiting reader's buffer.
    if (target === this.#view) return this.#answer({ done: false, value: target.subarray(0, n) });
    const request = this.#pullWaits ? this.#rc.byobRequest : null;
    if (request !== null && request.view!.buffer === target.buffer && request.view!.byteOffset === target.byteOffset) {
      // Zero-copy path: the read went straight into the reader's buffer.
      this.#pullWaits = false;
      request.respond(n);
      if (!this.readAhead) this.#pause();
      return;
    }
    // The BYOB read went away meanwhile: the bytes are delivered as usual.
    this.data(target.subarray(0, n), true);
  }

  #keep(chunk: Uint8Array, borrowed: boolean): void {
    this.#queue.push(borrowed ? chunk.slice() : chunk);
    this.#bytes += chunk.byteLength;
    if (!this.readAhead || this.#bytes >= this.#highWaterMark) this.#pause();
  }

  /** The peer's FIN. */
  end(): void {
    if (this.#eof) return;
    this.#eof = true;
    if (!this.#done && this.#head === this.#queue.length) this.#finish();
  }

  /** The connection broke: the reader gets the queued bytes, then `error` (unless the FIN came first). */
  fail(error: unknown): void {
    if (this.#done || this.#eof || this.#hasError) return;
    this.#error = error;
    this.#hasError = true;
    if (this.#head === this.#queue.length) this.#finish();
  }

  /** Ends the readable now: with `reason` as its error, or done. Queued bytes are dropped. */
  stop(reason?: unknown): void {
    this.#drop();
    if (this.#done) return;
    this.#done = true;
    if (reason === undefined) this.#close();
    else this.#errorWith(reason);
  }

  /** Takes every queued byte (for a protocol switch) and ends the readable with `reason`. */
  take(reason: unknown): Uint8Array {
    const out = concat(this.#queue, this.#head, this.#bytes);
    this.stop(reason);
    return out;
  }

  /** Keeps reading (and discarding) until the peer's FIN, whatever the reader does. */
  discardToEnd(): void {
    this.#drop();
    this.#resume();
  }

  // ── the default reader's side (FastSource) ──────────────────────────────

  /** The default reader's read(): a chunk, the end, or the stored error. */
  read(): Promise<ReadResult<Uint8Array>> {
    if (this.#done) return this.#failed ? Promise.reject(this.#storedError) : Promise.resolve(DONE);
    const chunk = this.#shift();
    if (chunk !== undefined) {
      const result = Promise.resolve({ done: false as const, value: chunk });
      // The last chunk before the FIN: the stream closes now, as a platform stream would.
      if (this.#eof && this.#head === this.#queue.length) this.#finish();
      return result;
    }
    if (this.#eof || this.#hasError) {
      this.#finish();
      return this.#failed ? Promise.reject(this.#storedError) : Promise.resolve(DONE);
    }
    return this.#wait(undefined) as Promise<ReadResult<Uint8Array>>;
  }

  /** A BYOB reader's read(): bytes copied into `view` (or read straight into it), or the end. */
  readInto(view: Uint8Array): Promise<ByobResult> {
    if (this.#done) return this.#failed ? Promise.reject(this.#storedError) : Promise.resolve({ done: true, value: view.subarray(0, 0) });
    if (this.#head < this.#queue.length) {
      const result = Promise.resolve({ done: false, value: view.subarray(0, this.#fill(view)) });
      if (this.#eof && this.#head === this.#queue.length) this.#finish();
      return result;
    }
    if (this.#eof || this.#hasError) {
      this.#finish();
      return this.readInto(view);
    }
    return this.#wait(view) as Promise<ByobResult>;
  }

  /** Puts bytes a BYOB reader could not use (part of an element) back in front; false once the readable is over. */
  unread(bytes: Uint8Array): boolean {
    if (this.#done) return false;
    if (this.#head > 0) this.#queue[--this.#head] = bytes;
    else this.#queue.unshift(bytes);
    this.#bytes += bytes.byteLength;
    return true;
  }

  /** A read that waits for the socket, after those already waiting. */
  #wait(view: Uint8Array | undefined): Promise<Result> {
    if (this.#resolve !== undefined) {
      return new Promise<Result>((resolve, reject) => (this.#more ??= []).push({ resolve, reject, view }));
    }
    this.#view = view;
    const waiting = new Promise<Result>(this.#capture);
    this.#resume();
    return waiting;
  }

  /** A reader's releaseLock(): pending reads fail as the spec says. */
  release(): void {
    if (this.#reject === undefined) return;
    this.#endWaiters(true, new TypeError("Cannot read: the reader was released"));
    if (!this.readAhead) this.#pause();
  }

  /** Answers the first waiting read; the next one in line waits now (none left: without read-ahead, pause). */
  #answer(result: Result): void {
    const resolve = this.#resolve!;
    const next = this.#more?.shift();
    this.#resolve = next?.resolve;
    this.#reject = next?.reject;
    this.#view = next?.view;
    resolve(result);
    if (!this.readAhead && this.#resolve === undefined) this.#pause();
  }

  /** Every waiting read ends: done (`fail` false) or rejected with `error`. */
  #endWaiters(fail: boolean, error?: unknown): void {
    const first: Waiter | undefined = this.#resolve && { resolve: this.#resolve, reject: this.#reject!, view: this.#view };
    const more = this.#more;
    this.#resolve = this.#reject = this.#more = this.#view = undefined;
    for (const w of first ? [first, ...(more ?? [])] : []) {
      if (fail) w.reject(error);
      else w.resolve(w.view ? { done: true, value: w.view.subarray(0, 0) } : DONE);
    }
  }

  #pull(): void {
    if (this.#head < this.#queue.length) {
      const request = this.#rc.byobRequest;
      if (request) request.respond(this.#fill(request.view as Uint8Array));
      else this.#rc.enqueue(transferable(this.#shift()!, false));
      if (this.#eof && this.#head === this.#queue.length) this.#finish();
      return;
    }
    if (this.#eof || this.#hasError) return this.#finish();
    this.#pullWaits = true;
    this.#resume();
  }

  /** Copies queued bytes into `view` (a BYOB read's buffer), as many as fit; returns the count. */
  #fill(view: Uint8Array): number {
    let n = 0;
    while (n < view.byteLength && this.#head < this.#queue.length) {
      const head = this.#queue[this.#head]!;
      const take = Math.min(head.byteLength, view.byteLength - n);
      view.set(take === head.byteLength ? head : head.subarray(0, take), n);
      n += take;
      if (take === head.byteLength) this.#shift();
      else {
        this.#queue[this.#head] = head.subarray(take);
        this.#bytes -= take;
      }
    }
    if (this.readAhead && this.#bytes < this.#highWaterMark && !this.#eof) this.#resume();
    return n;
  }

  /** Takes the next queued chunk, if any. */
  #shift(): Uint8Array | undefined {
    if (this.#head === this.#queue.length) return undefined;
    const chunk = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined;
    this.#bytes -= chunk.byteLength;
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    }
    if (this.readAhead && this.#bytes < this.#highWaterMark && !this.#eof) this.#resume();
    return chunk;
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#eof || !this.#hasError) this.#close();
    else this.#errorWith(this.#error);
    this.#hooks.ended();
  }

  #close(): void {
    this.#pullWaits = false;
    this.#rc.close();
    // A BYOB read still waiting ends (done) once its request is answered with 0.
    this.#rc.byobRequest?.respond(0);
    this.#endWaiters(false);
  }

  #errorWith(reason: unknown): void {
    this.#pullWaits = false;
    this.#failed = true;
    this.#storedError = reason;
    this.#rc.error(reason);
    this.#endWaiters(true, reason);
  }

  #cancel(): void {
    const wasDone = this.#done;
    this.#done = true;
    this.#drop();
    this.#endWaiters(false);
    if (!wasDone) this.#hooks.cancelled();
  }

  #drop(): void {
    this.#queue.length = 0;
    this.#head = 0;
    this.#bytes = 0;
  }

  #pause(): void {
    if (!this.#paused) {
      this.#paused = true;
      this.#hooks.pause();
    }
  }

  #resume(): void {
    if (this.#paused) {
      this.#paused = false;
      this.#hooks.resume();
    }
  }
}

/**
 * A chunk the platform may transfer (a byte stream's `enqueue()` detaches the
 * chunk's buffer): one that owns its whole ArrayBuffer, or else a copy.
 */
function transferable(chunk: Uint8Array, borrowed: boolean): Uint8Array<ArrayBuffer> {
  if (borrowed || chunk.byteOffset !== 0 || chunk.byteLength !== chunk.buffer.byteLength || !(chunk.buffer instanceof ArrayBuffer)) {
    return chunk.slice() as Uint8Array<ArrayBuffer>;
  }
  return chunk as Uint8Array<ArrayBuffer>;
}

function concat(chunks: (Uint8Array | undefined)[], from: number, total: number): Uint8Array {
  if (chunks.length - from === 1) return chunks[from]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (let i = from; i < chunks.length; i++) {
    out.set(chunks[i]!, at);
    at += chunks[i]!.byteLength;
  }
  return out;
}
