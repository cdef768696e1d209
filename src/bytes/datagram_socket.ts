import { NetError } from "../errors.ts";
import { DONE, FastReadable, type FastSource, type FastTarget, FastWritable, RESOLVED, type ReadResult, rejected } from "./_fast_streams.ts";
import { checkRemoteAddr, type Datagram, resolveBindUdpOptions, type UdpSocket } from "./datagram.ts";
import type { NetAddr } from "./net_addr.ts";
import type { RawDatagramSocket } from "./raw_datagram_socket.ts";

/** Datagrams handed to the runtime and not yet sent before writes queue and `writer.ready` waits: enough to keep a runtime busy, few enough to feel its pushback. */
export const SEND_WINDOW = 64;

/** Options of {@link DatagramSocket}. */
export interface DatagramSocketOptions {
  /** Datagrams held for a slow reader before new ones are dropped. Default 1024. */
  receiveQueue?: number;
  /** The largest datagram sent or received. Default 65 535. */
  maxDatagramBytes?: number;
  /** Aborting it closes the socket. */
  signal?: AbortSignal | undefined;
}

interface Queued {
  data: Uint8Array;
  addr: NetAddr;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * The one state machine behind every {@link UdpSocket}: a
 * {@link RawDatagramSocket} from an adapter, with a bounded receive queue
 * that counts what it drops, and a send window. For adapter authors.
 *
 * Reading: a datagram goes straight to a waiting read, or waits in the queue;
 * a full queue drops the new one (`dropped`). The default reader of
 * `readable` takes from the queue with one promise per read; `pipeTo` and
 * `tee` go through the platform over the same queue.
 *
 * Writing: a datagram goes to the runtime at once while fewer than
 * {@link SEND_WINDOW} are in flight, else waits in order (and `ready` waits).
 */
export class DatagramSocket implements UdpSocket {
  readonly localAddr: NetAddr;
  readonly readable: ReadableStream<Datagram>;
  readonly writable: WritableStream<Datagram>;
  readonly closed: Promise<void>;
  #raw: RawDatagramSocket;
  #capacity: number;
  #max: number;
  #dropped = 0;
  #oversized = 0;
  // received, not read: #queue[#head] is the oldest
  #queue: (Datagram | undefined)[] = [];
  #head = 0;
  #reads: { resolve(r: ReadResult<Datagram>): void; reject(e: unknown): void }[] = []; // reads waiting, oldest first
  #rc!: ReadableStreamDefaultController<Datagram>;
  #wc!: WritableStreamDefaultController;
  #pullWaits = false;
  #cancelled = false; // the readable was cancelled: datagrams are discarded
  #inflight = 0;
  #sendQueue: Queued[] = [];
  #waiters: { resolve(): void; reject(e: unknown): void; idle: boolean }[] = [];
  #writeClosed = false;
  #done = false; // closed or broken: reads end, writes fail
  #error: unknown = undefined; // what reads and writes fail with once done
  #readEnds = true; // a plain close ends reads; close(reason) and a break fail them
  #signal: AbortSignal | undefined;
  #onAbort = () => void this.close();
  #resolveClosed!: () => void;
  #rejectClosed!: (e: unknown) => void;

  constructor(raw: RawDatagramSocket, options: DatagramSocketOptions = {}) {
    // The same checks as bindUdp's (an adapter has made them already; memoryUdp has not).
    const o = resolveBindUdpOptions({ receiveQueue: options.receiveQueue, maxDatagramBytes: options.maxDatagramBytes, signal: options.signal });
    this.#raw = raw;
    this.localAddr = raw.localAddr;
    this.#capacity = o.receiveQueue;
    this.#max = o.maxDatagramBytes;
    this.closed = new Promise((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    this.closed.catch(() => {});
    this.readable = new FastReadable<Datagram>(
      {
        start: (c) => void (this.#rc = c),
        pull: (c) => {
          const d = this.#shift();
          if (d !== undefined) c.enqueue(d);
          else if (!this.#done) this.#pullWaits = true;
        },
        cancel: () => this.#cancel(),
      },
      { highWaterMark: 0 },
      this.#source(),
    );
    this.writable = new FastWritable<Datagram>(
      {
        start: (c) => void (this.#wc = c),
        write: (d) => this.#write(d),
        close: () => this.#closing(),
        abort: () => void (this.#writeClosed = true),
      },
      // One datagram in the platform's queue: at 0, pipeTo would wait for room for ever.
      { highWaterMark: 1 },
      this.#target(),
    );
    raw.open({ message: this.#onMessage, error: (e) => this.#broke(e), close: () => this.#released() });
    this.#signal = o.signal;
    if (this.#signal?.aborted) void this.close();
    else this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** What the readable's default reader reads from: the queue, with one promise per read. */
  #source(): FastSource<Datagram> {
    return { read: () => this.#take(), release: () => this.#release() };
  }

  /** What the writable's default writer writes to: the send window. */
  #target(): FastTarget<Datagram> {
    const self = this;
    return {
      write: (d) => this.#write(d),
      get ready() {
        return self.#ready();
      },
      get desiredSize() {
        return self.#desiredSize();
      },
      closing: () => this.#closing(),
    };
  }

  get dropped(): number {
    return this.#dropped;
  }

  get oversized(): number {
    return this.#oversized;
  }

  close(reason?: unknown): Promise<void> {
    if (!this.#done) {
      this.#finish(reason ?? new NetError("closed", "The UDP socket is closed"), reason !== undefined);
      this.#raw.close();
    }
    return this.closed.then(undefined, () => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ── Receiving ──────────────────────────────────────────────────────────

  #onMessage = (data: Uint8Array, remoteAddr: NetAddr, truncated = false): void => {
    if (this.#done || this.#cancelled) return;
    if (truncated || data.length > this.#max) return void this.#oversized++;
    if (this.#reads.length > 0) return this.#reads.shift()!.resolve({ done: false, value: { data, remoteAddr } });
    if (this.#pullWaits) {
      this.#pullWaits = false;
      return this.#rc.enqueue({ data, remoteAddr });
    }
    if (this.#queue.length - this.#head >= this.#capacity) return void this.#dropped++;
    this.#queue.push({ data, remoteAddr });
  };

  #shift(): Datagram | undefined {
    if (this.#head === this.#queue.length) return undefined;
    const d = this.#queue[this.#head];
    this.#queue[this.#head++] = undefined;
    // Taking from the front is O(1); the array is compacted once it is half spent.
    if (this.#head === this.#queue.length) this.#queue.length = this.#head = 0;
    else if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return d;
  }

  #take(): Promise<ReadResult<Datagram>> {
    const d = this.#shift();
    if (d !== undefined) return Promise.resolve({ done: false, value: d });
    if (this.#done || this.#cancelled) return this.#readEnds || this.#cancelled ? Promise.resolve(DONE) : rejected(this.#error);
    return new Promise((resolve, reject) => this.#reads.push({ resolve, reject }));
  }

  /** The default reader was released: its pending reads fail. */
  #release(): void {
    for (const read of this.#reads.splice(0)) read.reject(new TypeError("The reader was released"));
  }

  #cancel(): void {
    this.#cancelled = true;
    this.#queue.length = this.#head = 0;
    for (const read of this.#reads.splice(0)) read.resolve(DONE);
  }

  // ── Sending ────────────────────────────────────────────────────────────

  /** A datagram from the default writer or the platform's sink: checked, then sent or queued. */
  #write(d: Datagram): Promise<void> {
    if (this.#done) return rejected(this.#error);
    if (this.#writeClosed) return rejected(new TypeError("Cannot write: the datagrams' writable is closing or closed"));
    let addr: NetAddr;
    try {
      if (typeof d !== "object" || d === null || !(d.data instanceof Uint8Array)) {
        throw new TypeError(`Invalid datagram ${d === null ? "null" : typeof d}: expected { data: Uint8Array, remoteAddr: NetAddr }`);
      }
      if (d.data.length > this.#max) {
        throw new RangeError(`Cannot send datagram: ${d.data.length} bytes exceed maxDatagramBytes ${this.#max}`);
      }
      addr = checkRemoteAddr(d.remoteAddr);
    } catch (error) {
      return rejected(error);
    }
    if (this.#inflight < SEND_WINDOW && this.#sendQueue.length === 0) return this.#send(d.data, addr);
    return new Promise<void>((resolve, reject) => this.#sendQueue.push({ data: d.data, addr, resolve, reject }));
  }

  #ready(): Promise<void> {
    if (this.#done) return rejected(this.#error);
    return this.#desiredSize()! > 0 ? RESOLVED : this.#wait(false);
  }

  #desiredSize(): number | null {
    if (this.#done) return null;
    return SEND_WINDOW - this.#inflight - this.#sendQueue.length;
  }

  /** `writer.close()` waits for the datagrams in flight. */
  #closing(): Promise<void> {
    this.#writeClosed = true;
    if (this.#done) return rejected(this.#error);
    return this.#inflight === 0 && this.#sendQueue.length === 0 ? RESOLVED : this.#wait(true);
  }

  #send(data: Uint8Array, addr: NetAddr): Promise<void> {
    let sending: void | Promise<void>;
    try {
      sending = this.#raw.send(data, addr);
    } catch (error) {
      return rejected(error);
    }
    if (sending === undefined) return RESOLVED;
    this.#inflight++;
    return sending.then(
      () => this.#sent(),
      (error) => {
        this.#sent();
        throw error;
      },
    );
  }

  #sent(): void {
    this.#inflight--;
    const next = this.#sendQueue.shift();
    if (next !== undefined) this.#send(next.data, next.addr).then(next.resolve, next.reject);
    if (this.#waiters.length === 0) return;
    const idle = this.#inflight === 0 && this.#sendQueue.length === 0;
    const waiting = this.#waiters;
    this.#waiters = [];
    for (const w of waiting) {
      if (w.idle ? idle : this.#desiredSize()! > 0) w.resolve();
      else this.#waiters.push(w);
    }
  }

  #wait(idle: boolean): Promise<void> {
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject, idle }));
  }

  // ── Ending ─────────────────────────────────────────────────────────────

  /** Ends both streams: reads end (`failReads` false) or fail with `error`; writes fail with it. */
  #finish(error: unknown, failReads: boolean): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = error;
    this.#readEnds = !failReads;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#queue.length = this.#head = 0;
    this.#pullWaits = false;
    const reads = this.#reads.splice(0);
    if (failReads) {
      for (const read of reads) read.reject(error);
      this.#rc.error(error);
    } else {
      for (const read of reads) read.resolve(DONE);
      if (!this.#cancelled) this.#rc.close();
    }
    this.#wc.error(error);
    for (const q of this.#sendQueue.splice(0)) q.reject(error);
    for (const w of this.#waiters.splice(0)) w.reject(error);
  }

  /** The runtime reported the socket broken: everything fails with `error`, and so does `closed`. */
  #broke(error: NetError): void {
    if (this.#done) return;
    this.#finish(error, true);
    this.#rejectClosed(error);
    this.#raw.close();
  }

  #released(): void {
    if (!this.#done) this.#finish(new NetError("closed", "The UDP socket was closed"), false);
    this.#resolveClosed();
  }
}
