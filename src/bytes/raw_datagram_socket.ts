import type { NetError } from "../errors.ts";
import type { NetAddr } from "./net_addr.ts";

/**
 * What an adapter supplies for one UDP socket so that {@link DatagramSocket}
 * can turn it into a {@link UdpSocket}: three calls and three events.
 *
 * @example A raw socket that sends into the void
 * ```ts
 * import { DatagramSocket, type RawDatagramEvents, type RawDatagramSocket } from "weft";
 *
 * let sent = 0;
 * let events: RawDatagramEvents | undefined;
 * const raw: RawDatagramSocket = {
 *   localAddr: { transport: "udp", hostname: "127.0.0.1", port: 9 },
 *   open(e) { events = e; },
 *   send() { sent++; },
 *   close() { queueMicrotask(() => events?.close()); },
 * };
 * const socket = new DatagramSocket(raw);
 * await socket.writable.getWriter().write({ data: new Uint8Array(1), remoteAddr: { transport: "udp", hostname: "127.0.0.1", port: 7 } });
 * await socket.close();
 * console.assert(sent === 1);
 * ```
 */
export interface RawDatagramSocket {
  /** The bound address. */
  readonly localAddr: NetAddr;
  /** Called once, when the {@link DatagramSocket} is built: deliver events from now on. */
  open(events: RawDatagramEvents): void;
  /**
   * Hands one datagram to the runtime. Returns nothing when it took it at
   * once, or a promise that settles when it has (Bun's pushback waits for
   * `drain`); the caller does not touch `data` until then. A datagram the
   * runtime refuses throws or rejects: `RangeError` when too large, a
   * {@link NetError} otherwise. Several sends may be in flight.
   */
  send(data: Uint8Array, remoteAddr: NetAddr): void | Promise<void>;
  /** Releases the socket; `events.close()` follows (sends in flight settle first or reject). */
  close(): void;
}

/** The events a {@link RawDatagramSocket} delivers. */
export interface RawDatagramEvents {
  /** A datagram arrived; the receiver owns `data` (truncated: it did not fit the runtime's buffer). */
  message(data: Uint8Array, remoteAddr: NetAddr, truncated?: boolean): void;
  /** The socket broke; nothing follows but `close`. */
  error(error: NetError): void;
  /** The socket is released. */
  close(): void;
}
