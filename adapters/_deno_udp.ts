/**
 * UDP for weft's Deno adapter: a `Deno.DatagramConn` from
 * `Deno.listenDatagram` (behind `--unstable-net`) as a {@link RawDatagramSocket}.
 *
 * One `receive()` is always in flight, into one reused buffer a byte larger
 * than `maxDatagramBytes` (so that a datagram Deno would truncate shows as
 * too large); each datagram is copied out at its own size, and the core's
 * bounded queue decides what to keep.
 *
 * @module
 */
import {
  type BindUdpOptions,
  DatagramSocket,
  formatAddr,
  type NetAddr,
  NetError,
  type RawDatagramEvents,
  type RawDatagramSocket,
  resolveBindUdpOptions,
  type UdpSocket,
} from "../mod.ts";
import { closeQuietly, toNetError } from "./_deno_socket.ts";

/** The error of a send Deno refused: too large is a RangeError, the rest a NetError. */
function sendError(error: unknown, to: NetAddr, closed: boolean): Error {
  const errno = (error as { code?: unknown } | null)?.code;
  const what = `Cannot send a datagram to "${formatAddr(to)}"`;
  if (errno === "EMSGSIZE") return new RangeError(`${what}: it is larger than the network takes (EMSGSIZE)`, { cause: error });
  // EINVAL: no route from the bound address; EAFNOSUPPORT: an address of the other IP family.
  if (errno === "EINVAL" || errno === "EAFNOSUPPORT") {
    return new NetError("network-unreachable", `${what}: ${String((error as Error).message).replace(/ \(os error \d+\)$/, "")}`, { cause: error });
  }
  return toNetError(error, what, closed);
}

class DenoUdp implements RawDatagramSocket {
  readonly localAddr: NetAddr;
  #conn: Deno.DatagramConn;
  #buffer: Uint8Array;
  #max: number;
  #events: RawDatagramEvents | undefined;
  #closed = false;
  #last: NetAddr = { transport: "udp", hostname: "", port: 0 }; // the last sender's address, reused while it repeats

  constructor(conn: Deno.DatagramConn, maxDatagramBytes: number) {
    this.#conn = conn;
    this.#max = maxDatagramBytes;
    this.#buffer = new Uint8Array(maxDatagramBytes + 1);
    const a = conn.addr as Deno.NetAddr;
    this.localAddr = { transport: "udp", hostname: a.hostname, port: a.port };
  }

  open(events: RawDatagramEvents): void {
    this.#events = events;
    this.#receive();
  }

  async #receive(): Promise<void> {
    const events = this.#events!;
    for (;;) {
      let got: [Uint8Array, Deno.Addr];
      try {
        got = await this.#conn.receive(this.#buffer);
      } catch (error) {
        if (this.#closed) break;
        // An ICMP error of an earlier send, reported to this receive: the socket is fine.
        if (error instanceof Deno.errors.ConnectionRefused || error instanceof Deno.errors.ConnectionReset) continue;
        events.error(toNetError(error, `UDP socket "${formatAddr(this.localAddr)}" failed`));
        this.close();
        break;
      }
      const [view, addr] = got;
      const { hostname, port } = addr as Deno.NetAddr;
      let from = this.#last;
      if (from.port !== port || from.hostname !== hostname) from = this.#last = { transport: "udp", hostname, port };
      // Too large: handed over uncopied, only to be counted and dropped.
      events.message(view.length > this.#max ? view : view.slice(), from);
    }
    queueMicrotask(() => events.close());
  }

  send(data: Uint8Array, to: NetAddr): Promise<void> {
    return this.#conn.send(data, { transport: "udp", hostname: to.hostname!, port: to.port! }).then(
      () => {},
      (error) => {
        throw sendError(error, to, this.#closed);
      },
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // The receive in flight rejects (Interrupted), and the loop reports the close.
    closeQuietly(this.#conn);
  }
}

/**
 * Binds a UDP socket with `Deno.listenDatagram`, which needs Deno's
 * `--unstable-net` flag (without it, a {@link NetError} `unsupported`). IPv6
 * when `hostname` is an IPv6 address. Bad options throw `TypeError` or
 * `RangeError` at the call; a port in use rejects with `address-in-use`.
 * See `UdpSocket` for what the streams do.
 *
 * @example Echo one datagram on the loopback interface
 * ```ts
 * import { bindUdp } from "weft/deno";
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
  if (typeof Deno.listenDatagram !== "function") {
    return Promise.reject(new NetError("unsupported", `${what}: Deno.listenDatagram needs the --unstable-net flag`));
  }
  let conn: Deno.DatagramConn;
  try {
    conn = Deno.listenDatagram({ transport: "udp", hostname: o.hostname, port: o.port });
  } catch (error) {
    return Promise.reject(toNetError(error, what));
  }
  return Promise.resolve(new DatagramSocket(new DenoUdp(conn, o.maxDatagramBytes), o));
}
