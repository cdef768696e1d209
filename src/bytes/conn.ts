import type { NetAddr } from "./net_addr.ts";
import type { TlsInfo } from "./raw_socket.ts";

/**
 * A connected byte stream: a socket, a TLS session, or one end of a {@link memoryPipe}.
 *
 * - `readable` delivers the bytes the peer sent, as `Uint8Array` chunks that the
 *   reader owns. It ends when the peer half-closes (FIN) and errors with a
 *   {@link NetError} when the connection breaks. Reading slowly stops the socket
 *   from being read, so the peer feels backpressure.
 * - `writable` sends bytes. A write resolves once the bytes are handed to the
 *   operating system; `writer.ready` waits while more than the high-water mark is
 *   queued. `writable.close()` is a half-close: it sends FIN after the queued
 *   bytes, and `readable` keeps delivering until the peer closes too.
 * - `closed` settles once both directions are done, or the connection is closed
 *   or breaks; it rejects only with the network error that broke it.
 * - `close()` ends both streams at once (writes still queued in the writable are
 *   dropped) and sends FIN after the bytes already handed over; the socket keeps
 *   reading and discarding until the peer's FIN (for at most 2 s), so that no
 *   reset destroys data on its way, and `closed` resolves when it is released.
 *   `close(reason)` is abortive: the streams fail with `reason` and the peer sees
 *   a reset where the runtime can send one.
 *
 * @example Echo one message over a memory pipe
 * ```ts
 * import { memoryPipe } from "weft";
 *
 * const [a, b] = memoryPipe();
 * const writer = a.writable.getWriter();
 * await writer.write(new TextEncoder().encode("ping"));
 * await writer.close(); // FIN: b's readable ends after "ping"
 * const text = await new Response(b.readable).text();
 * console.assert(text === "ping");
 * await Promise.all([a.close(), b.close()]);
 * ```
 */
export interface Conn extends ReadableWritablePair<Uint8Array, Uint8Array>, AsyncDisposable {
  /** The bytes the peer sends. */
  readonly readable: ReadableStream<Uint8Array>;
  /** The bytes sent to the peer; `close()` on it is a half-close. */
  readonly writable: WritableStream<Uint8Array>;
  /** This end's address. */
  readonly localAddr: NetAddr;
  /** The peer's address. */
  readonly remoteAddr: NetAddr;
  /** For a TLS connection, what the handshake settled; `undefined` otherwise. */
  readonly tls?: TlsInfo | undefined;
  /** Settles once both directions are done; rejects with the error that broke the connection. */
  readonly closed: Promise<void>;
  /** Closes both directions now (see above); resolves at once. With a `reason`, pending reads and writes reject with it. */
  close(reason?: unknown): Promise<void>;
}
