import type { NetAddr } from "./net_addr.ts";

/** Datagrams received and not yet read before new ones are dropped (and counted): a few milliseconds of a busy socket, at most 64 MiB of the largest datagrams. */
export const DEFAULT_RECEIVE_QUEUE = 1024;
/** The most a UDP length field can say. IPv4 carries at most 65 507 bytes of it and IPv6 65 527: the system refuses the rest. */
export const DEFAULT_MAX_DATAGRAM_BYTES = 65_535;
/** The address a UDP socket binds when none is given: every IPv4 interface, as `listen()`. */
export const DEFAULT_UDP_HOSTNAME = "0.0.0.0";

/**
 * One UDP datagram: its bytes and the address of the other end (where it came
 * from when read, where it goes when written).
 *
 * @example A datagram for a peer on the loopback interface
 * ```ts
 * import type { Datagram } from "weft";
 *
 * const datagram: Datagram = {
 *   data: new TextEncoder().encode("ping"),
 *   remoteAddr: { transport: "udp", hostname: "127.0.0.1", port: 5353 },
 * };
 * console.assert(datagram.data.byteLength === 4);
 * ```
 */
export interface Datagram {
  /** The datagram's bytes. A received one belongs to the reader. */
  readonly data: Uint8Array;
  /** The peer: an IP address (IPv6 with or without brackets) and a port. */
  readonly remoteAddr: NetAddr;
}

/**
 * A bound UDP socket as two streams of {@link Datagram}s, from an adapter's
 * `bindUdp()` or from {@link memoryUdp}.
 *
 * - `readable` delivers each datagram that arrives, whole, with the sender's
 *   address. The socket receives all the time; datagrams the reader has not
 *   taken yet wait in a queue of at most `receiveQueue`, and the ones that
 *   arrive while it is full are dropped and counted in `dropped`: memory stays
 *   bounded whatever the peers send. Datagrams larger than
 *   `maxDatagramBytes` are dropped and counted in `oversized`.
 * - `writable` sends each datagram written to it. A write resolves once the
 *   runtime has taken the datagram (then its buffer may be reused); a runtime
 *   that pushes back (Bun's `send()` returning false) makes writes and
 *   `writer.ready` wait. Through the default writer, a datagram refused — a
 *   `RangeError` or `TypeError` for one that is too large or badly addressed,
 *   a {@link NetError} for one the network refuses (`network-unreachable`) —
 *   rejects that write alone, and the socket goes on; through `pipeTo` the
 *   platform errors the stream instead. `writable.close()` only stops
 *   sending: UDP has no end of stream to send.
 * - `close()` ends both streams at once (datagrams queued for the reader are
 *   dropped) and releases the socket; `closed` settles when it is released,
 *   rejecting only with an error that broke the socket. `close(reason)` makes
 *   reads and writes fail with `reason` instead.
 *
 * UDP itself promises nothing more: datagrams may be lost, duplicated or
 * reordered on the way, and the kernel drops what arrives while its own
 * receive buffer is full, unseen.
 *
 * @example Two sockets in memory
 * ```ts
 * import { memoryUdp } from "weft";
 *
 * const [a, b] = memoryUdp();
 * const writer = a.writable.getWriter();
 * await writer.write({ data: new TextEncoder().encode("ping"), remoteAddr: b.localAddr });
 * const { value } = await b.readable.getReader().read();
 * console.assert(new TextDecoder().decode(value!.data) === "ping");
 * console.assert(value!.remoteAddr.port === a.localAddr.port);
 * await Promise.all([a.close(), b.close()]);
 * ```
 */
export interface UdpSocket extends ReadableWritablePair<Datagram, Datagram>, AsyncDisposable {
  /** The bound address (with the port the system chose when asked for port 0). */
  readonly localAddr: NetAddr;
  /** The datagrams that arrive. */
  readonly readable: ReadableStream<Datagram>;
  /** The datagrams to send. */
  readonly writable: WritableStream<Datagram>;
  /** Datagrams dropped because the receive queue was full (the reader was slow). */
  readonly dropped: number;
  /** Datagrams dropped because they were larger than `maxDatagramBytes`. */
  readonly oversized: number;
  /** Settles once the socket is released; rejects with the error that broke it. */
  readonly closed: Promise<void>;
  /** Closes the socket (see above); resolves once it is released. */
  close(reason?: unknown): Promise<void>;
}

/** Where and how to bind a UDP socket. */
export interface BindUdpOptions {
  /** The IP address to bind (IPv6 with or without brackets). Default `"0.0.0.0"`. */
  hostname?: string;
  /** The port, 0 to 65535; 0 (the default) lets the system choose. */
  port?: number;
  /** Aborting it closes the socket; aborted before the bind, it rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Datagrams held for a slow reader before new ones are dropped. Default 1024. */
  receiveQueue?: number;
  /** The largest datagram sent or received, 1 to 65535. Default 65 535. */
  maxDatagramBytes?: number;
}

/** {@link BindUdpOptions} checked, with defaults applied. For adapter authors. */
export interface ResolvedBindUdp {
  hostname: string;
  port: number;
  /** Whether `hostname` is an IPv6 address (it contains a colon). */
  ipv6: boolean;
  signal: AbortSignal | undefined;
  receiveQueue: number;
  maxDatagramBytes: number;
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object" && value !== null) return value.constructor?.name ?? "object";
  return String(value);
}

function checkInteger(name: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `a positive integer` : `an integer from ${min} to ${max}`;
    throw new RangeError(`Invalid ${name} ${show(value)}: expected ${range}`);
  }
  return value;
}

/** An IP literal without the brackets an IPv6 address may come in. */
export function bareHostname(hostname: string): string {
  return hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
}

/**
 * Checks {@link BindUdpOptions} and applies the defaults; throws `TypeError`
 * or `RangeError` naming the option and its value. For adapter authors.
 *
 * @example
 * ```ts
 * import { resolveBindUdpOptions } from "weft";
 *
 * const o = resolveBindUdpOptions({ hostname: "[::1]" });
 * console.assert(o.hostname === "::1" && o.ipv6 && o.port === 0 && o.receiveQueue === 1024);
 * try {
 *   resolveBindUdpOptions({ receiveQueue: 0 });
 * } catch (e) {
 *   console.assert(e instanceof RangeError);
 * }
 * ```
 */
export function resolveBindUdpOptions(options: BindUdpOptions | undefined): ResolvedBindUdp {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new TypeError(`Invalid bindUdp options ${show(options)}: expected an object`);
  }
  const o = (options ?? {}) as Record<string, unknown>;
  if (o.path !== undefined) throw new TypeError(`Invalid options: bindUdp takes a hostname and a port, not a path (${show(o.path)})`);
  const host = o.hostname ?? DEFAULT_UDP_HOSTNAME;
  if (typeof host !== "string" || host.length === 0) {
    throw new TypeError(`Invalid hostname ${show(host)}: expected a non-empty string`);
  }
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError(`Invalid signal ${show(signal)}: expected an AbortSignal`);
  const hostname = bareHostname(host);
  return {
    hostname,
    port: checkInteger("port", o.port, 0, 65535, 0),
    ipv6: hostname.includes(":"),
    signal,
    receiveQueue: checkInteger("receiveQueue", o.receiveQueue, 1, Number.MAX_SAFE_INTEGER, DEFAULT_RECEIVE_QUEUE),
    maxDatagramBytes: checkInteger("maxDatagramBytes", o.maxDatagramBytes, 1, 65535, DEFAULT_MAX_DATAGRAM_BYTES),
  };
}

/**
 * Checks the address a datagram is sent to: an IP address (brackets
 * removed) and a port from 1 to 65535. Returns `addr` itself when it needs no
 * change. For adapter authors.
 */
export function checkRemoteAddr(addr: unknown): NetAddr {
  if (typeof addr !== "object" || addr === null) {
    throw new TypeError(`Invalid remoteAddr ${show(addr)}: expected a NetAddr with a hostname and a port`);
  }
  const { hostname, port } = addr as NetAddr;
  if (typeof hostname !== "string" || hostname.length === 0) {
    throw new TypeError(`Invalid remoteAddr hostname ${show(hostname)}: expected a non-empty string`);
  }
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Invalid remoteAddr port ${show(port)}: expected an integer from 1 to 65535`);
  }
  if (hostname.startsWith("[")) return { transport: "udp", hostname: bareHostname(hostname), port };
  return addr as NetAddr;
}
