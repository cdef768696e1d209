/**
 * UDP for weft's Bun adapter: a `Bun.udpSocket` as a {@link RawDatagramSocket}.
 *
 * Bun's `send()` is synchronous: `true` when the kernel took the datagram,
 * `false` when it pushed back, and then nothing was sent. Such a datagram,
 * and every one after it, waits for the `drain` handler, in order.
 *
 * The ICMP errors of earlier datagrams (a "port unreachable" from a peer that
 * is gone) concern those datagrams, never the socket: Bun's `error` handler
 * reports them without the error itself, and they are ignored, as Node and
 * Deno ignore them. One that is still pending when the next `send()` comes
 * fails that send with ECONNREFUSED before anything is sent: the send is
 * tried again once.
 *
 * @module
 */
import type { udp } from "bun";
import {
  type BindUdpOptions,
  DatagramSocket,
  formatAddr,
  type NetAddr,
  NetError,
  type RawDatagramEvents,
  type RawDatagramSocket,
  resolveBindUdpOptions,
  type ResolvedBindUdp,
  type UdpSocket,
} from "../mod.ts";
import { toNetError } from "./_bun_socket.ts";

type BunUdp = udp.Socket<"uint8array">;

interface Blocked {
  data: Uint8Array;
  to: NetAddr;
  resolve(): void;
  reject(error: unknown): void;
}

/** The error of a send Bun refused: too large is a RangeError, a name where an IP address belongs a TypeError, the rest a NetError. */
function sendError(error: unknown, to: NetAddr): Error {
  const errno = (error as { code?: unknown } | null)?.code;
  const what = `Cannot send a datagram to "${formatAddr(to)}"`;
  if (errno === "EMSGSIZE") return new RangeError(`${what}: it is larger than the network takes (EMSGSIZE)`, { cause: error });
  if (errno === "ERR_INVALID_ARG_TYPE") return new TypeError(`${what}: Bun takes an IP address, not a host name`, { cause: error });
  // EINVAL: no route from the bound address; EAFNOSUPPORT: an address of the other IP family.
  if (errno === "EINVAL" || errno === "EAFNOSUPPORT") return new NetError("network-unreachable", `${what}: ${(error as Error).message}`, { cause: error });
  if ((error as Error | null)?.message === "Socket is closed") return new NetError("closed", `${what}: the socket is closed`, { cause: error });
  return toNetError(error, what);
}

class BunUdpSocket implements RawDatagramSocket {
  localAddr: NetAddr = { transport: "udp", hostname: "", port: 0 };
  socket: BunUdp | undefined;
  #events: RawDatagramEvents | undefined;
  #blocked: Blocked[] = []; // datagrams waiting for drain, in order
  #closed = false;
  #last: NetAddr = { transport: "udp", hostname: "", port: 0 }; // the last sender's address, reused while it repeats

  attach(socket: BunUdp): void {
    this.socket = socket;
    this.localAddr = { transport: "udp", hostname: socket.address.address, port: socket.address.port };
  }

  open(events: RawDatagramEvents): void {
    this.#events = events;
  }

  onData(data: Uint8Array, port: number, hostname: string, truncated: boolean): void {
    let from = this.#last;
    if (from.port !== port || from.hostname !== hostname) from = this.#last = { transport: "udp", hostname, port };
    this.#events?.message(data, from, truncated);
  }

  send(data: Uint8Array, to: NetAddr): void | Promise<void> {
    if (this.#blocked.length === 0 && this.#trySend(data, to)) return;
    return new Promise<void>((resolve, reject) => this.#blocked.push({ data, to, resolve, reject }));
  }

  /** Sends now: true when Bun took it, false when it pushed back; throws what Bun refused. */
  #trySend(data: Uint8Array, to: NetAddr): boolean {
    const s = this.socket!;
    try {
      return s.send(data, to.port!, to.hostname!);
    } catch (error) {
      // The ICMP "port unreachable" of an earlier datagram, which the kernel
      // reports to the next send instead of sending it: that one is retried.
      if ((error as { code?: unknown } | null)?.code !== "ECONNREFUSED") throw sendError(error, to);
    }
    try {
      return s.send(data, to.port!, to.hostname!);
    } catch (error) {
      throw sendError(error, to);
    }
  }

  onDrain(): void {
    while (this.#blocked.length > 0) {
      const b = this.#blocked[0]!;
      let sent: boolean;
      try {
        sent = this.#trySend(b.data, b.to);
      } catch (error) {
        this.#blocked.shift();
        b.reject(error);
        continue;
      }
      if (!sent) return; // the next drain goes on
      this.#blocked.shift();
      b.resolve();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket?.close();
    const error = new NetError("closed", "Cannot send a datagram: the socket is closed");
    for (const b of this.#blocked.splice(0)) b.reject(error);
    // Bun has no close handler: the socket is released once close() returns.
    queueMicrotask(() => this.#events?.close());
  }
}

/**
 * Binds a UDP socket with `Bun.udpSocket`: a readable and a writable of
 * datagrams, IPv6 when `hostname` is an IPv6 address. Bun sends only to IP
 * addresses (a host name in `remoteAddr` is a `TypeError`). Bad options throw
 * `TypeError` or `RangeError` at the call; a port in use rejects with a
 * {@link NetError} `address-in-use`. See `UdpSocket` for what the streams do.
 *
 * @example Echo one datagram on the loopback interface
 * ```ts
 * import { bindUdp } from "weft/bun";
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
  const o = resolveBindUdpOptions(options); // bad options throw here, at the call
  return bind(o);
}

async function bind(o: ResolvedBindUdp): Promise<UdpSocket> {
  if (o.signal?.aborted) throw o.signal.reason;
  const what = `Cannot bind UDP on "${formatAddr({ transport: "udp", hostname: o.hostname, port: o.port })}"`;
  const raw = new BunUdpSocket();
  let socket: BunUdp;
  try {
    socket = await Bun.udpSocket({
      hostname: o.hostname,
      port: o.port,
      binaryType: "uint8array",
      socket: {
        data: (_s, data, port, address, flags) => raw.onData(data, port, address, flags?.truncated === true),
        drain: () => raw.onDrain(),
        // An ICMP error of an earlier send (Bun passes no error): see the module's note.
        error: () => {},
      },
    });
  } catch (error) {
    throw toNetError(error, what);
  }
  raw.attach(socket);
  if (o.signal?.aborted) {
    socket.close();
    throw o.signal.reason;
  }
  return new DatagramSocket(raw, o);
}
