/**
 * UDP for weft's Node adapter: a `dgram.Socket` as a {@link RawDatagramSocket}.
 *
 * Node cannot pause a UDP socket: every datagram is taken from the kernel as
 * it comes, and the core's bounded queue decides what to keep. A send resolves
 * in its callback, when Node no longer needs the bytes.
 *
 * @module
 */
import * as dgram from "node:dgram";
import {
  DatagramSocket,
  formatAddr,
  type NetAddr,
  NetError,
  type RawDatagramEvents,
  type RawDatagramSocket,
  resolveBindUdpOptions,
  type BindUdpOptions,
  type UdpSocket,
} from "../mod.ts";
import { toNetError } from "./_node_socket.ts";

/** The error of a send Node refused: too large is a RangeError, the rest a NetError. */
function sendError(error: unknown, to: NetAddr): Error {
  const errno = (error as { code?: unknown } | null)?.code;
  const what = `Cannot send a datagram to "${formatAddr(to)}"`;
  if (errno === "EMSGSIZE") return new RangeError(`${what}: it is larger than the network takes (EMSGSIZE)`, { cause: error });
  // EINVAL: no route from the bound address; EAFNOSUPPORT: an address of the other IP family.
  if (errno === "EINVAL" || errno === "EAFNOSUPPORT") return new NetError("network-unreachable", `${what}: ${(error as Error).message}`, { cause: error });
  if (errno === "ERR_SOCKET_DGRAM_NOT_RUNNING") return new NetError("closed", `${what}: the socket is closed`, { cause: error });
  return toNetError(error, what);
}

class NodeUdp implements RawDatagramSocket {
  readonly localAddr: NetAddr;
  #socket: dgram.Socket;
  #events: RawDatagramEvents | undefined;
  #last: NetAddr = { transport: "udp", hostname: "", port: 0 }; // the last sender's address, reused while it repeats

  constructor(socket: dgram.Socket) {
    this.#socket = socket;
    const a = socket.address();
    this.localAddr = { transport: "udp", hostname: a.address, port: a.port };
  }

  open(events: RawDatagramEvents): void {
    this.#events = events;
    const s = this.#socket;
    s.on("message", this.#onMessage);
    s.on("error", (error) => events.error(toNetError(error, `UDP socket "${formatAddr(this.localAddr)}" failed`)));
    s.on("close", () => events.close());
  }

  #onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    let from = this.#last;
    if (from.port !== rinfo.port || from.hostname !== rinfo.address) {
      from = this.#last = { transport: "udp", hostname: rinfo.address, port: rinfo.port };
    }
    // A plain Uint8Array view, so that slice() copies on every runtime.
    this.#events!.message(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), from);
  };

  send(data: Uint8Array, to: NetAddr): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
        this.#socket.send(data, to.port, to.hostname, (error) => (error ? reject(sendError(error, to)) : resolve()));
      } catch (error) {
        reject(sendError(error, to));
      }
    });
  }

  close(): void {
    closeQuietly(this.#socket);
  }
}

function closeQuietly(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    // closed already (or never bound): its close event came or comes
  }
}

/**
 * Binds a UDP socket (`node:dgram`): a readable and a writable of datagrams,
 * over IPv4, or IPv6 when `hostname` is an IPv6 address. Bad options throw
 * `TypeError` or `RangeError` at the call; a port in use rejects with a
 * {@link NetError} `address-in-use`. See `UdpSocket` for what the streams do.
 *
 * @example Echo one datagram on the loopback interface
 * ```ts
 * import { bindUdp } from "weft/node";
 *
 * await using server = await bindUdp({ hostname: "127.0.0.1", port: 0 });
 * await using client = await bindUdp({ hostname: "127.0.0.1", port: 0 });
 * (async () => {
 *   const writer = server.writable.getWriter();
 *   for await (const datagram of server.readable) await writer.write(datagram); // back to its sender
 * })();
 * await client.writable.getWriter().write({ data: new TextEncoder().encode("ping"), remoteAddr: server.localAddr });
 * const { value } = await client.readable.getReader().read();
 * console.assert(new TextDecoder().decode(value!.data) === "ping");
 * ```
 */
export function bindUdp(options: BindUdpOptions = {}): Promise<UdpSocket> {
  const o = resolveBindUdpOptions(options);
  if (o.signal?.aborted) return Promise.reject(o.signal.reason);
  const what = `Cannot bind UDP on "${formatAddr({ transport: "udp", hostname: o.hostname, port: o.port })}"`;
  return new Promise<UdpSocket>((resolve, reject) => {
    const socket = dgram.createSocket({ type: o.ipv6 ? "udp6" : "udp4" });
    const onError = (error: Error) => {
      closeQuietly(socket);
      reject(toNetError(error, what));
    };
    socket.once("error", onError);
    // exclusive: a worker of node:cluster binds a port of its own, as everywhere else.
    socket.bind({ address: o.hostname, port: o.port, exclusive: true }, () => {
      socket.off("error", onError);
      if (o.signal?.aborted) {
        closeQuietly(socket);
        return reject(o.signal.reason);
      }
      resolve(new DatagramSocket(new NodeUdp(socket), o));
    });
  });
}
