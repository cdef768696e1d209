import type { NetError } from "../errors.ts";
import type { NetAddr } from "./net_addr.ts";

/**
 * What an adapter supplies for one socket so that {@link SocketConn} can turn it
 * into a {@link Conn}. It is the whole contract between weft's core and a runtime:
 * a handful of calls and four events, with no streams in between.
 *
 * Reading is push-style: after `open()`, the socket calls `events.data()` with each
 * chunk it reads until `pause()`; `resume()` starts it again. A runtime whose
 * reads are pull-style (Deno) runs one read at a time while resumed.
 *
 * @example A raw socket that reads nothing and discards writes
 * ```ts
 * import { SocketConn, type RawSocket } from "weft";
 *
 * const raw: RawSocket = {
 *   localAddr: { transport: "memory" },
 *   remoteAddr: { transport: "memory" },
 *   open(events) { events.end(); },
 *   pause() {},
 *   resume() {},
 *   write() {},
 *   shutdown() {},
 *   destroy() {},
 * };
 * const conn = new SocketConn(raw);
 * await conn.writable.close();
 * await conn.closed;
 * ```
 */
export interface RawSocket {
  /** This end's address. */
  readonly localAddr: NetAddr;
  /** The peer's address. */
  readonly remoteAddr: NetAddr;
  /** For a TLS socket, what the handshake settled. */
  readonly tls?: TlsInfo | undefined;
  /** Called once, when the {@link SocketConn} is built: deliver events from now on. Reading starts resumed. */
  open(events: RawSocketEvents): void;
  /** Stop reading from the socket (backpressure). */
  pause(): void;
  /** Start reading again. */
  resume(): void;
  /**
   * Hand `chunk` to the operating system. Return nothing when it took all of it,
   * or a promise that settles when it has; the promise must settle (reject) if
   * the socket fails or is destroyed first. The caller does not touch `chunk`
   * until then.
   */
  write(chunk: Uint8Array): void | Promise<void>;
  /** Send FIN once every write has been handed over. */
  shutdown(): void | Promise<void>;
  /** Release the socket now. With `reset`, abort it (RST) where the runtime can. */
  destroy(reset?: boolean): void;
}

/** The events a {@link RawSocket} delivers to its {@link SocketConn}. */
export interface RawSocketEvents {
  /**
   * Bytes read. The receiver owns `chunk`, unless `borrowed` is true: then it
   * is a view of the adapter's reused read buffer, valid only during the call,
   * and the receiver copies what it keeps (straight into a waiting BYOB
   * reader's buffer, when there is one).
   */
  data(chunk: Uint8Array, borrowed?: boolean): void;
  /**
   * A buffer the next read may fill directly: a waiting BYOB reader's, or
   * `undefined`. An adapter that reads into buffers of its choosing (Deno)
   * asks before each read, reads into it, and reports with {@link filled}.
   */
  target(): Uint8Array | undefined;
  /** The first `n` bytes of the buffer {@link target} gave were filled by a read. */
  filled(target: Uint8Array, n: number): void;
  /** The peer half-closed (FIN). No more `data` follows. */
  end(): void;
  /** The connection broke; nothing follows but `close`. */
  error(error: NetError): void;
  /** The socket is released. */
  close(): void;
}

/** What a TLS handshake settled. */
export interface TlsInfo {
  /** The protocol both sides agreed on in ALPN, or `null` if none. */
  readonly alpnProtocol: string | null;
}
