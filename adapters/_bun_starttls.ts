/**
 * STARTTLS for weft's Bun adapter: Bun's own `upgradeTLS` on the socket, or,
 * when bytes were already read, TLS over an in-process socket pair that is
 * fed those bytes first and then spliced to the connection.
 *
 * @module
 */
import type { TCPSocketListener, TLSOptions } from "bun";
import { type Conn, NetError, type RawSocketEvents, type ResolvedConnOptions, SocketConn } from "../mod.ts";
import { type BunSock, BunSocket, handlers, noop, toNetError, type Waiter } from "./_bun_socket.ts";

/** Where STARTTLS over bytes already read runs its socket pair. */
const LOOPBACK = "127.0.0.1";

/**
 * Starts Bun's TLS on `socket` (`upgradeTLS`) for a conn with the addresses
 * and options of `plain`; `waiter` hears when the handshake is done.
 */
export function upgrade(socket: BunSock, plain: BunSocket, tls: TLSOptions, server: boolean, what: string, signal: AbortSignal, waiter: Waiter): void {
  if (signal.aborted) {
    socket.terminate();
    return waiter.reject(signal.reason);
  }
  const next = new BunSocket(plain.options, undefined, server, true, what, waiter);
  next.inherit(plain);
  signal.addEventListener("abort", () => next.abandon(), { once: true });
  // Bun keeps the old handlers on a "raw" twin that taps the ciphertext: the old BunSocket ignores it.
  (socket.data as BunSocket).detach();
  try {
    // upgradeTLS calls `open` (which attaches the TLS socket to `next`) before it returns.
    const [, secure] = socket.upgradeTLS<BunSocket>({ data: next, tls, socket: handlers });
    // The plain socket was paused (SocketConn.release); the handshake needs it reading.
    secure.resume();
  } catch (error) {
    socket.terminate();
    waiter.reject(toNetError(error, what));
  }
}

/**
 * STARTTLS over bytes already read: TLS on one end of a socket pair, `first`
 * and then the connection's bytes spliced to the other end.
 */
export async function spliced(plain: BunSocket, first: Uint8Array, tls: TLSOptions, server: boolean, what: string, signal: AbortSignal): Promise<Conn> {
  let pair: [BunSocket, BunSocket];
  try {
    pair = await socketPair(plain.options, what);
  } catch (error) {
    plain.destroy();
    throw error;
  }
  // Bun's TLS plays the role of the socket's side: a server on the accepted end, a client on the connecting one.
  const [near, far] = server ? pair : [pair[1], pair[0]];
  if (signal.aborted) {
    for (const r of [plain, near, far]) r.destroy();
    throw signal.reason;
  }
  const secure = new Promise<Conn>((resolve, reject) => {
    const waiter = { resolve: (r: BunSocket) => resolve(new SocketConn(r, r.options)), reject };
    upgrade(near.socket!, plain, tls, server, what, signal, waiter);
  });
  const pending = far.write(first);
  if (pending !== undefined) pending.catch(noop);
  plain.open(splice(plain, far));
  far.open(splice(far, plain));
  plain.resume();
  far.resume();
  return secure;
}

/** Events that hand what `from` reads to `to`: bytes (with backpressure), FIN, reset and close. */
function splice(from: BunSocket, to: BunSocket): RawSocketEvents {
  const resume = () => from.resume();
  return {
    // Bun hands each read over in a buffer of its own: nothing is read into a target.
    target: () => undefined,
    filled() {},
    data(chunk) {
      let pending: void | Promise<void>;
      try {
        pending = to.write(chunk);
      } catch {
        return from.destroy(true); // `to` is gone: so is what `from` carries
      }
      if (pending === undefined) return;
      from.pause();
      pending.then(resume, noop);
    },
    end: () => passFin(to, false),
    error: () => to.destroy(true),
    // Bun closes without an `end` when the FIN comes after ours: the FIN is passed on here.
    close: () => passFin(to, true),
  };
}

/** Sends a FIN on `to` after the bytes queued for it; with `release`, closes it then. */
function passFin(to: BunSocket, release: boolean): void {
  const flushed = to.flushed();
  try {
    const pending = to.shutdown();
    if (pending !== undefined) pending.catch(noop);
  } catch {
    // already closed
  }
  if (!release) return;
  if (flushed === undefined) to.destroy();
  else flushed.then(() => to.destroy(), noop);
}

/**
 * Two connected TCP sockets in this process, on the loopback interface:
 * [accepted, connecting]. TCP rather than a Unix socket, so that a reset on one
 * side is passed on as a reset. The accepted end is told from any stranger's
 * connection by its peer's port; strangers are refused.
 */
function socketPair(options: ResolvedConnOptions, what: string): Promise<[BunSocket, BunSocket]> {
  return new Promise<[BunSocket, BunSocket]>((resolve, reject) => {
    const accepted: BunSocket[] = [];
    let server: TCPSocketListener<BunSocket> | undefined;
    let connecting: BunSocket;
    const match = () => {
      const port = connecting.socket?.localPort;
      const ours = accepted.find((a) => a.socket!.remotePort === port);
      if (port === undefined || ours === undefined) return;
      server!.stop(false);
      for (const a of accepted) if (a !== ours) a.destroy(true);
      connecting.socket!.setNoDelay(true);
      connecting.socket!.pause();
      resolve([ours, connecting]);
    };
    try {
      server = Bun.listen<BunSocket>({
        hostname: LOOPBACK,
        port: 0,
        allowHalfOpen: true,
        socket: {
          ...handlers,
          open(s) {
            const raw = new BunSocket(options, undefined, true, false, what, undefined);
            s.data = raw;
            raw.attach(s);
            s.setNoDelay(true);
            s.pause(); // until the splice or the TLS takes it
            accepted.push(raw);
            match();
          },
        },
      });
      const failed = (error: NetError) => {
        server!.stop(false);
        for (const a of accepted) a.destroy(true);
        reject(error);
      };
      connecting = new BunSocket(options, undefined, false, false, what, { resolve: match, reject: failed });
      Bun.connect<BunSocket>({ hostname: LOOPBACK, port: server.port, allowHalfOpen: true, data: connecting, socket: handlers })
        .then(undefined, noop);
    } catch (error) {
      server?.stop(false);
      reject(toNetError(error, what));
    }
  });
}

export function joinBytes(a: Uint8Array | undefined, b: Uint8Array): Uint8Array {
  if (a === undefined || a.byteLength === 0) return b;
  if (b.byteLength === 0) return a;
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}
