/**
 * The raw socket of weft's Cloudflare Workers adapter: a socket from
 * `connect()` of `cloudflare:sockets` as a {@link RawSocket}, read only while
 * resumed, and the mapping of workerd's errors to {@link NetError}.
 *
 * @module
 */
import { connect as cfConnect } from "cloudflare:sockets";
import {
  type NetAddr,
  NetError,
  type NetErrorCode,
  type RawSocket,
  type RawSocketEvents,
  type ResolvedConnOptions,
  type TlsInfo,
} from "../mod.ts";

/** Bytes each read asks for. workerd hands over at most 4 KiB per read whatever the size; one reused buffer keeps that cheap. */
const READ_BYTES = 64 * 1024;

/** How a socket starts: plain and upgradable (`starttls`), or TLS from the start (`on`). */
export type SecureTransport = "starttls" | "on";

/**
 * Opens a socket to `hostname:port`, always with `allowHalfOpen` (weft's
 * half-close) and without waiting for it. An IPv6 literal goes in brackets,
 * as workerd parses `host:port`. Throws workerd's TypeError for a hostname it
 * refuses.
 */
export function dial(hostname: string, port: number, secureTransport: SecureTransport): Socket {
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  try {
    return cfConnect({ hostname: host, port }, { allowHalfOpen: true, secureTransport });
  } catch (error) {
    if (error instanceof TypeError) {
      throw new TypeError(`Invalid hostname ${JSON.stringify(hostname)}: ${detail(error)}`, { cause: error });
    }
    throw toNetError(error, `Cannot connect to "${host}:${port}"`);
  }
}

/**
 * Throws the TypeError workerd would, at the call: workerd takes host names of
 * at most 255 letters, digits, `-`, `.`, `_` (and an IPv6 literal's `:`).
 */
export function checkHostname(hostname: string): void {
  if (hostname.length > 255 || !/^[A-Za-z0-9._:\[\]-]+$/.test(hostname)) {
    throw new TypeError(
      `Invalid hostname ${JSON.stringify(hostname)}: a Worker connects to host names of letters, digits, "-", "." and "_" (at most 255), or IP addresses`,
    );
  }
}

/** Closes a socket, ignoring the outcome: nothing waits for it. */
export function closeQuietly(socket: Socket): void {
  try {
    socket.close().catch(() => {});
  } catch {
    // already closed
  }
}

/**
 * A workerd socket as a {@link RawSocket}. It reads through a BYOB reader
 * into one reused buffer, and only while resumed, so that nothing is in
 * flight when `Socket.startTls()` needs the socket.
 */
export class CloudflareSocket implements RawSocket {
  readonly localAddr: NetAddr;
  readonly remoteAddr: NetAddr;
  readonly tls: TlsInfo | undefined;
  readonly socket: Socket;
  /** The host name dialled: what STARTTLS verifies by default. */
  readonly hostname: string;
  readonly options: ResolvedConnOptions;
  #reader: ReadableStreamBYOBReader;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #events: RawSocketEvents | undefined;
  #scratch: Uint8Array<ArrayBuffer> | undefined;
  #paused = true;
  #reading = false; // a read is in flight
  #eof = false; // the end or a read error came: no more reads
  #closed = false; // destroyed, or handed over to startTls
  #lastWrite: Promise<void> | undefined;

  constructor(socket: Socket, hostname: string, addrs: [NetAddr, NetAddr], options: ResolvedConnOptions, tls?: TlsInfo) {
    this.socket = socket;
    this.hostname = hostname;
    [this.localAddr, this.remoteAddr] = addrs;
    this.options = options;
    this.tls = tls;
    this.#reader = (socket.readable as ReadableStream<Uint8Array>).getReader({ mode: "byob" }) as ReadableStreamBYOBReader;
    this.#writer = (socket.writable as WritableStream<Uint8Array>).getWriter();
  }

  /** Whether a read is in flight (then `startTls()` cannot take the socket). */
  get reading(): boolean {
    return this.#reading;
  }

  open(events: RawSocketEvents): void {
    this.#events = events;
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    if (!this.#reading && !this.#eof && !this.#closed) this.#read();
  }

  #read(): void {
    this.#reading = true;
    const buffer = this.#scratch ?? new Uint8Array(READ_BYTES);
    this.#scratch = undefined;
    (this.#reader.read(buffer) as Promise<ReadableStreamReadResult<Uint8Array<ArrayBuffer>>>).then(this.#onRead, this.#onReadError);
  }

  #onRead = (result: ReadableStreamReadResult<Uint8Array<ArrayBuffer>>): void => {
    this.#reading = false;
    if (this.#closed) return;
    const { done, value } = result;
    if (done || value === undefined) {
      this.#eof = true;
      this.#events!.end();
      return;
    }
    // A BYOB read hands its buffer back in `value`: the conn copies what it
    // keeps (borrowed), and the same memory serves the next read.
    this.#events!.data(value, true);
    this.#scratch = new Uint8Array(value.buffer);
    if (!this.#paused && !this.#reading && !this.#eof && !this.#closed) this.#read();
  };

  #onReadError = (error: unknown): void => {
    this.#reading = false;
    this.#eof = true;
    if (this.#closed) return;
    this.#events!.error(toNetError(error, `Connection to "${address(this.remoteAddr)}" failed`, this.tls !== undefined));
  };

  write(chunk: Uint8Array): Promise<void> {
    if (this.#closed) throw new NetError("closed", "Cannot write: the connection is closed");
    const written = this.#writer.write(chunk).catch((error: unknown) => {
      throw toNetError(error, "Cannot write", this.tls !== undefined);
    });
    this.#lastWrite = written;
    return written;
  }

  async shutdown(): Promise<void> {
    await this.#lastWrite?.catch(() => {});
    if (this.#closed) throw new NetError("closed", "Cannot close the writable: the connection is closed");
    try {
      // With allowHalfOpen, closing the writable sends FIN (close_notify over TLS) and nothing else.
      await this.#writer.close();
    } catch (error) {
      throw toNetError(error, "Cannot close the writable", this.tls !== undefined);
    }
  }

  // workerd cannot reset a connection: close() sends FIN, so `reset` changes nothing.
  destroy(_reset?: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#eof = true;
    this.#scratch = undefined;
    closeQuietly(this.socket);
    queueMicrotask(() => this.#events?.close());
  }

  /** Stops this socket for good and hands it over once the last write is through, unlocked, for `Socket.startTls()`. */
  async detach(): Promise<Socket> {
    this.#closed = true;
    this.#eof = true;
    await this.#lastWrite?.catch(() => {});
    this.#reader.releaseLock();
    this.#writer.releaseLock();
    return this.socket;
  }
}

/** `host:port` with an IPv6 host in brackets. */
function address(a: NetAddr): string {
  const host = a.hostname ?? "";
  return host.includes(":") ? `[${host}]:${a.port}` : `${host}:${a.port}`;
}

/**
 * A TCP address from workerd's `"host:port"` (`"[::1]:80"`); `fallback` when
 * it is missing or does not parse.
 */
export function parseAddress(text: string | undefined, fallback: NetAddr): NetAddr {
  const m = text === undefined ? null : /^\[?([^\]]*?)\]?:(\d+)$/.exec(text);
  if (!m) return fallback;
  return { transport: "tcp", hostname: m[1]!, port: Number(m[2]) };
}

/** workerd's message, without its internal prefix, continuing a sentence of ours. */
function detail(error: unknown): string {
  const message = String((error as Error | null)?.message ?? error).replace(/^(jsg\.)?\w*Error: /, "");
  return /^[A-Z][a-z]/.test(message) ? message[0]!.toLowerCase() + message.slice(1) : message;
}

// workerd's messages (and those of Cloudflare's network in production) and the
// NetError codes they mean. workerd gives errors no code, so the message is all
// there is. "proxy request failed" is every failed connect: nothing listening,
// a name that does not resolve, an address the platform blocks, and a failed
// TLS handshake alike (connectTls tells the last one apart).
const CODES: [RegExp, NetErrorCode][] = [
  [/proxy request failed|cannot connect to the specified address/i, "connection-refused"],
  [/port 25|prohibited|TCP Loop detected/i, "permission-denied"],
  [/network connection lost/i, "connection-reset"],
  [/on behalf of a different request|different request context/i, "unsupported"],
  [/stream was cancelled|has been closed|is closed|socket is not open/i, "closed"],
];

/** The NetError code of a workerd error; `tls` when the socket speaks TLS (an "internal error" there is a failed handshake). */
export function codeOf(error: unknown, tls = false): NetErrorCode {
  const message = String((error as Error | null)?.message ?? error);
  for (const [pattern, code] of CODES) if (pattern.test(message)) return code;
  if (tls && /internal error/i.test(message)) return "tls-handshake";
  return "unknown";
}

/** A {@link NetError} for a workerd error: `${what}: ${workerd's message}`, with the original as `cause`. */
export function toNetError(error: unknown, what: string, tls = false): NetError {
  if (error instanceof NetError) return error;
  const code = codeOf(error, tls);
  const hint = code === "unsupported" ? " (a Worker's socket belongs to the request that opened it)" : code === "tls-handshake" ? " (the TLS handshake failed)" : "";
  return new NetError(code, `${what}: ${detail(error)}${hint}`, { cause: error });
}
