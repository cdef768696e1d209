import { NetError } from "../errors.ts";
import type { Conn } from "./conn.ts";
import type { NetAddr } from "./net_addr.ts";
import type { RawSocket, RawSocketEvents } from "./raw_socket.ts";
import { SocketConn, type SocketConnOptions } from "./socket_conn.ts";

/** Bytes one end holds for its reader before the writer waits, as a socket's receive buffer would. */
export const DEFAULT_PIPE_CAPACITY = 64 * 1024;

/** Options of {@link memoryPipe}. */
export interface MemoryPipeOptions extends SocketConnOptions {
  /** Bytes in flight towards each end before the sender's writes wait. Default 64 KiB. */
  capacityBytes?: number;
}

let pipes = 0;

/**
 * Two connected {@link Conn}s in memory, with the semantics of a socket pair:
 * bytes written to one arrive at the other, a slow reader makes the writer wait
 * (backpressure), `writable.close()` is a half-close, `close()` releases, and
 * `close(reason)` resets the connection so the peer sees `connection-reset`.
 * For unit tests and examples; the bytes are copied on write, as a kernel would.
 *
 * @example A request and a reply
 * ```ts
 * import { memoryPipe } from "weft";
 *
 * const [client, server] = memoryPipe();
 * const text = new TextEncoder();
 *
 * // server: read until the client's FIN, answer, close
 * const serving = (async () => {
 *   const request = await new Response(server.readable).text();
 *   const writer = server.writable.getWriter();
 *   await writer.write(text.encode(`got ${request}`));
 *   await writer.close();
 * })();
 *
 * const writer = client.writable.getWriter();
 * await writer.write(text.encode("hello"));
 * await writer.close();
 * console.assert(await new Response(client.readable).text() === "got hello");
 * await serving;
 * ```
 */
export function memoryPipe(options: MemoryPipeOptions = {}): [Conn, Conn] {
  const capacity = options.capacityBytes ?? DEFAULT_PIPE_CAPACITY;
  if (typeof capacity !== "number" || !Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`Invalid capacityBytes ${JSON.stringify(capacity)}: expected a positive integer of bytes`);
  }
  const id = ++pipes;
  const a = new MemorySocket({ transport: "memory", hostname: `pipe${id}.a` }, capacity);
  const b = new MemorySocket({ transport: "memory", hostname: `pipe${id}.b` }, capacity);
  a.peer = b;
  b.peer = a;
  return [new SocketConn(a, options), new SocketConn(b, options)];
}

interface Blocked {
  resolve(): void;
  reject(error: unknown): void;
}

/** One end of a memory pipe: its inbox plays the part of the kernel's receive buffer. */
class MemorySocket implements RawSocket {
  peer!: MemorySocket;
  readonly localAddr: NetAddr;
  #capacity: number;
  #events: RawSocketEvents | undefined;
  #paused = true;
  #inbox: Uint8Array[] = [];
  #inboxBytes = 0;
  #inboxEnded = false; // the peer's FIN is queued behind the inbox
  #endDelivered = false;
  #blocked: Blocked[] = []; // the peer's writes waiting for room in the inbox
  #writeShut = false;
  #destroyed = false;
  #failed: NetError | undefined; // why this end can no longer write

  constructor(addr: NetAddr, capacity: number) {
    this.localAddr = addr;
    this.#capacity = capacity;
  }

  get remoteAddr(): NetAddr {
    return this.peer.localAddr;
  }

  open(events: RawSocketEvents): void {
    this.#events = events;
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#flush();
  }

  write(chunk: Uint8Array): void | Promise<void> {
    if (this.#failed) throw this.#failed;
    if (this.#destroyed || this.#writeShut) throw new NetError("closed", "Cannot write: the connection is closed");
    return this.peer.#receive(chunk.slice());
  }

  shutdown(): void {
    if (this.#writeShut || this.#destroyed) return;
    this.#writeShut = true;
    this.peer.#receiveEnd();
  }

  destroy(reset = false): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const peer = this.peer;
    // Unread bytes at close make a TCP stack send RST; so does an explicit reset.
    const abortive = reset || this.#inboxBytes > 0;
    this.#inbox = [];
    this.#inboxBytes = 0;
    this.#releaseBlocked(new NetError("connection-reset", "Cannot write: the peer reset the connection"));
    if (abortive) peer.#fail(new NetError("connection-reset", "The peer reset the connection"));
    else {
      if (!this.#writeShut) peer.#receiveEnd();
      peer.#failed ??= new NetError("broken-pipe", "Cannot write: the peer closed the connection");
    }
    // Release any of our own writes still waiting on the peer.
    peer.#releaseBlocked(new NetError("closed", "Cannot write: the connection is closed"));
    const events = this.#events;
    if (events) queueMicrotask(() => events.close());
  }

  #receive(chunk: Uint8Array): void | Promise<void> {
    if (this.#destroyed) {
      throw new NetError("connection-reset", "Cannot write: the peer reset the connection");
    }
    if (!this.#paused && this.#inbox.length === 0 && this.#events) {
      this.#events.data(chunk);
      return;
    }
    this.#inbox.push(chunk);
    this.#inboxBytes += chunk.byteLength;
    if (this.#inboxBytes <= this.#capacity) return;
    return new Promise<void>((resolve, reject) => this.#blocked.push({ resolve, reject }));
  }

  #receiveEnd(): void {
    if (this.#destroyed) return;
    this.#inboxEnded = true;
    this.#flush();
  }

  #flush(): void {
    const events = this.#events;
    if (!events || this.#destroyed) return;
    while (!this.#paused && this.#inbox.length > 0) {
      const chunk = this.#inbox.shift()!;
      this.#inboxBytes -= chunk.byteLength;
      events.data(chunk);
    }
    if (this.#inboxBytes <= this.#capacity && this.#blocked.length > 0) {
      const blocked = this.#blocked;
      this.#blocked = [];
      for (const b of blocked) b.resolve();
    }
    if (this.#inbox.length === 0 && this.#inboxEnded && !this.#endDelivered) {
      this.#endDelivered = true;
      events.end();
    }
  }

  #fail(error: NetError): void {
    if (this.#destroyed) return;
    this.#failed = error;
    this.#inbox = [];
    this.#inboxBytes = 0;
    this.#releaseBlocked(error);
    const events = this.#events;
    if (events) queueMicrotask(() => events.error(error));
  }

  #releaseBlocked(error: NetError): void {
    const blocked = this.#blocked;
    this.#blocked = [];
    for (const b of blocked) b.reject(error);
  }
}
