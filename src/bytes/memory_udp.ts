import type { UdpSocket } from "./datagram.ts";
import { DatagramSocket, type DatagramSocketOptions } from "./datagram_socket.ts";
import type { RawDatagramEvents, RawDatagramSocket } from "./raw_datagram_socket.ts";
import type { NetAddr } from "./net_addr.ts";

/** Options of {@link memoryUdp}: those of every UDP socket, for both ends. */
export type MemoryUdpOptions = Omit<DatagramSocketOptions, "signal">;

let ports = 0;

/**
 * Two {@link UdpSocket}s in memory, each the other's only peer: a datagram
 * written to one, addressed to the other's `localAddr`, arrives at the other
 * with the sender's address; datagrams addressed anywhere else are lost, as
 * UDP loses them. The receive queue, its `dropped` count and the size limit
 * work as on a socket. For unit tests and examples; the bytes are copied on
 * send, as a kernel would.
 *
 * @example A datagram and its reply
 * ```ts
 * import { memoryUdp } from "weft";
 *
 * const [client, server] = memoryUdp();
 * const serving = (async () => {
 *   const reader = server.readable.getReader();
 *   const { value } = await reader.read();
 *   await server.writable.getWriter().write({ data: value!.data.reverse(), remoteAddr: value!.remoteAddr });
 * })();
 * const writer = client.writable.getWriter();
 * await writer.write({ data: new Uint8Array([1, 2, 3]), remoteAddr: server.localAddr });
 * const reply = (await client.readable.getReader().read()).value!;
 * console.assert(reply.data.join() === "3,2,1" && reply.remoteAddr.port === server.localAddr.port);
 * await serving;
 * ```
 */
export function memoryUdp(options: MemoryUdpOptions = {}): [UdpSocket, UdpSocket] {
  const a = new MemoryDatagrams(++ports);
  const b = new MemoryDatagrams(++ports);
  a.peer = b;
  b.peer = a;
  return [new DatagramSocket(a, options), new DatagramSocket(b, options)];
}

class MemoryDatagrams implements RawDatagramSocket {
  readonly localAddr: NetAddr;
  peer: MemoryDatagrams | undefined;
  events: RawDatagramEvents | undefined;
  #open = true;

  constructor(port: number) {
    this.localAddr = { transport: "udp", hostname: "memory", port };
  }

  open(events: RawDatagramEvents): void {
    this.events = events;
  }

  send(data: Uint8Array, remoteAddr: NetAddr): void {
    const peer = this.peer!;
    if (!peer.#open || remoteAddr.hostname !== "memory" || remoteAddr.port !== peer.localAddr.port) return;
    peer.events?.message(data.slice(), this.localAddr);
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    queueMicrotask(() => this.events?.close());
  }
}
