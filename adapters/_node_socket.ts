/**
 * The raw socket of weft's Node adapter: a `net.Socket` (or `tls.TLSSocket`)
 * as a {@link RawSocket}, and the mapping of Node's errors to {@link NetError}.
 *
 * @module
 */
import * as net from "node:net";
import * as tls from "node:tls";
import {
  codeFromErrno,
  type Endpoint,
  formatAddr,
  type NetAddr,
  NetError,
  type RawSocket,
  type RawSocketEvents,
  type ResolvedConnOptions,
  type TlsInfo,
  unixAddresses,
} from "../mod.ts";

const EMPTY = new Uint8Array(0);

/**
 * The one buffer every socket of this adapter reads into (Node's `onread`).
 * Node reads into it and calls back at once, on its one thread, and the
 * bytes are copied out (or straight into a waiting BYOB reader's buffer)
 * before the callback returns, so one buffer serves them all: an idle
 * connection holds none. 64 KiB: what Node asks of each read anyway.
 */
const SHARED_READ_BUFFER = new Uint8Array(64 * 1024);

/**
 * Node's `onread`: the socket reads into {@link SHARED_READ_BUFFER} and hands
 * each read to `callback`, skipping the Readable's machinery and the buffer
 * Node allocates per read. Each read is lent to the conn, which copies what
 * it keeps. Bytes that come before the NodeSocket opens are kept for it.
 */
export class UserBufferInput {
  events: Pick<RawSocketEvents, "data"> | undefined;
  #early: Uint8Array[] = [];

  /** The `onread` option of a `net.Socket` that reads through this input. */
  readonly option = {
    buffer: SHARED_READ_BUFFER,
    // true: reading goes on; the conn pauses the socket itself when its queue is full.
    callback: (n: number, buffer: Uint8Array): boolean => {
      const chunk = buffer.subarray(0, n);
      const events = this.events;
      if (events !== undefined) events.data(chunk, true);
      else this.#early.push(chunk.slice());
      return true;
    },
  };

  /** Starts delivering to `events`, the early bytes first. */
  open(events: Pick<RawSocketEvents, "data">): void {
    this.events = events;
    const early = this.#early;
    this.#early = [];
    for (const chunk of early) events.data(chunk);
  }
}

/**
 * A plain accepted socket, moved to a `net.Socket` that reads through an
 * input (a server's sockets cannot take `onread` themselves). Node keeps its
 * handle in `_handle` and takes one in the `handle` option, as its cluster
 * module does; where that is not so (a TLS socket, another Node), the socket
 * comes back as it is, without an input, and reads through `data` events.
 */
export function adopt(socket: net.Socket): [net.Socket, UserBufferInput | undefined] {
  const s = socket as net.Socket & { _handle?: { useUserBuffer?: unknown } | null };
  const handle = s._handle;
  if (socket instanceof tls.TLSSocket || typeof handle?.useUserBuffer !== "function" || socket.destroyed) return [socket, undefined];
  const input = new UserBufferInput();
  s._handle = null;
  const adopted = new net.Socket({ handle, allowHalfOpen: true, onread: input.option } as net.SocketConstructorOpts);
  adopted.pause();
  // The old socket, without its handle, only settles the server's count of connections.
  socket.destroy();
  return [adopted, input];
}

interface Pending {
  resolve(): void;
  reject(error: unknown): void;
}

/** A `net.Socket` (or `tls.TLSSocket`) as a {@link RawSocket}. */
export class NodeSocket implements RawSocket {
  readonly localAddr: NetAddr;
  readonly remoteAddr: NetAddr;
  readonly tls: TlsInfo | undefined;
  readonly socket: net.Socket;
  // A write Node could not finish at once (SocketConn sends one such write at
  // a time) waits for the callback of an empty write queued behind it.
  #waiting: Pending | undefined;
  #events: RawSocketEvents | undefined;
  #detached = false;
  #input: UserBufferInput | undefined;

  readonly options: ResolvedConnOptions;

  /** `input`: the `onread` the socket was made with, if any; else it reads through `data` events. */
  constructor(socket: net.Socket, options: ResolvedConnOptions, addrs: [NetAddr, NetAddr], input?: UserBufferInput) {
    this.socket = socket;
    this.options = options;
    this.#input = input;
    [this.localAddr, this.remoteAddr] = addrs;
    if (socket instanceof tls.TLSSocket) this.tls = { alpnProtocol: socket.alpnProtocol || null };
  }

  open(events: RawSocketEvents): void {
    this.#events = events;
    const s = this.socket;
    s.pause();
    if (this.#input !== undefined) this.#input.open(events);
    else s.on("data", this.#onData);
    s.on("end", this.#onEnd);
    s.on("error", this.#onError);
    s.on("close", this.#onClose);
    // A socket that broke before it was wrapped reports it now.
    if (s.destroyed) queueMicrotask(this.#onClose);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  write(chunk: Uint8Array): void | Promise<void> {
    const s = this.socket;
    if (s.destroyed || s.writableEnded) throw new NetError("closed", "Cannot write: the connection is closed");
    s.write(chunk);
    // Fast path: Node handed every byte to the kernel synchronously, so the
    // caller may reuse `chunk` now; no callback was needed (a callback per
    // write costs Node a tick). Otherwise Node still holds a reference to the
    // chunk: an empty write's callback tells when everything before it is out.
    if (s.writableLength === 0) return;
    return new Promise<void>((resolve, reject) => {
      this.#waiting = { resolve, reject };
      s.write(EMPTY, this.#onFlushed);
    });
  }

  shutdown(): Promise<void> {
    const s = this.socket;
    return new Promise<void>((resolve, reject) => {
      if (s.writableFinished) return resolve();
      const onFinish = () => {
        s.off("close", onClose);
        resolve();
      };
      const onClose = () => {
        s.off("finish", onFinish);
        reject(new NetError("closed", "Cannot close the writable: the connection is closed"));
      };
      s.once("finish", onFinish);
      s.once("close", onClose);
      s.end();
    });
  }

  destroy(reset = false): void {
    const s = this.socket;
    if (s.destroyed) return;
    if (!reset) return void s.destroy();
    // Only a TCP handle can be reset; a Unix or TLS socket is just closed.
    try {
      s.resetAndDestroy();
    } catch {
      s.destroy();
    }
  }

  /**
   * Stops delivering events and returns the socket with the bytes Node had
   * buffered but not emitted, and `onData` to take the bytes that come next.
   */
  detach(): { socket: net.Socket; buffered: Uint8Array[]; onData(listener: (chunk: Uint8Array) => void): void } {
    this.#detached = true;
    const s = this.socket;
    if (this.#input !== undefined) this.#input.events = undefined;
    s.off("data", this.#onData);
    s.off("end", this.#onEnd);
    s.off("error", this.#onError);
    s.off("close", this.#onClose);
    s.pause();
    const buffered: Uint8Array[] = [];
    for (let b: Buffer | null; (b = s.read() as Buffer | null) !== null; ) buffered.push(b);
    const input = this.#input;
    const onData = input === undefined
      ? (listener: (chunk: Uint8Array) => void) => void s.on("data", listener)
      : (listener: (chunk: Uint8Array) => void) => input.open({ data: (chunk, borrowed) => listener(borrowed ? chunk.slice() : chunk) });
    return { socket: s, buffered, onData };
  }

  #onData = (chunk: Buffer): void => {
    // A plain Uint8Array view, so that slice() copies on every runtime.
    this.#events!.data(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  };

  #onEnd = (): void => this.#events!.end();

  #onError = (error: Error): void => {
    this.#failWrites(error);
    this.#events!.error(toNetError(error, `Connection to "${formatAddr(this.remoteAddr)}" failed`));
  };

  #onClose = (): void => {
    if (this.#detached) return;
    this.#failWrites(new Error("closed"));
    this.#events!.close();
  };

  #onFlushed = (error?: Error | null): void => {
    const w = this.#waiting;
    this.#waiting = undefined;
    if (error) w?.reject(toNetError(error, "Cannot write"));
    else w?.resolve();
  };

  #failWrites(error: Error): void {
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.reject(toNetError(error, "Cannot write"));
  }
}

export function addresses(socket: net.Socket, endpoint: Endpoint | undefined, local: boolean): [NetAddr, NetAddr] {
  if (endpoint?.transport === "unix") {
    return unixAddresses(endpoint.path, local);
  }
  return [
    { transport: "tcp", hostname: socket.localAddress ?? "", port: socket.localPort ?? 0 },
    { transport: "tcp", hostname: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 },
  ];
}

export function toNetError(error: unknown, what: string): NetError {
  if (error instanceof NetError) return error;
  const e = error as NodeJS.ErrnoException;
  const code = codeFromErrno(e?.code) ?? (e?.message === "closed" ? "closed" : "unknown");
  const detail = e?.code ? `${e.message ?? e.code}` : String(e?.message ?? e);
  return new NetError(code, `${what}: ${detail}`, { cause: error });
}
