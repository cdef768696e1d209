import type { Conn } from "../bytes/conn.ts";
import type { Listener } from "../bytes/listener.ts";
import type { NetAddr } from "../bytes/net_addr.ts";
import type { Clock } from "../service/clock.ts";
import { dispatchRunner, type Runner, type ServeDispatch } from "./_dispatch_handler.ts";
import { checkClock, checkCount, checkFunction, checkMs, checkOptions, checkSignal } from "./_private.ts";
import { type Config, Serving } from "./_serving.ts";

export type { ServeDispatch } from "./_dispatch_handler.ts";

/** Connections served at once by default: bounded, so that a flood is refused instead of exhausting file descriptors and memory. */
export const DEFAULT_MAX_CONNECTIONS = 1024;
/** A connection with nothing in flight and nothing arriving is closed after a minute; pool() closes its own sooner, so a server rarely closes one a client is about to use. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** How long a graceful shutdown waits for calls in flight before it aborts them: Kubernetes' default grace period. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;

/** What serve() tells a handler about its connection. */
export interface ConnInfo {
  /** This end's address. */
  readonly localAddr: NetAddr;
  /** The peer's address. */
  readonly remoteAddr: NetAddr;
  /**
   * Aborts when graceful shutdown starts: take no new requests, finish the
   * ones in flight, and return. At the shutdown deadline the connection is
   * closed under the handler.
   */
  readonly signal: AbortSignal;
  /** The server's `idleTimeoutMs`, for a handler that runs a dispatcher or its own timer. */
  readonly idleTimeoutMs: number;
}

/**
 * Serves one connection; the connection is closed when the returned promise
 * settles (abortively if it rejects), so return a promise that waits for the
 * work, not one that starts it.
 *
 * @example An echo handler that returns when the server shuts down
 * ```ts
 * import { type ConnHandler, memoryListener, serve } from "weft";
 *
 * const handler: ConnHandler = async (conn, info) => {
 *   const reader = conn.readable.getReader();
 *   const writer = conn.writable.getWriter();
 *   const shutdown = new Promise<{ done: true }>((resolve) => {
 *     info.signal.addEventListener("abort", () => resolve({ done: true }));
 *   });
 *   for (;;) {
 *     const r = await Promise.race([reader.read(), shutdown]);
 *     if (r.done) return;
 *     await writer.write(r.value);
 *   }
 * };
 * const listener = memoryListener();
 * const server = serve(listener, handler);
 * const conn = await listener.connect();
 * const writer = conn.writable.getWriter();
 * await writer.write(new TextEncoder().encode("hi"));
 * const { value } = await conn.readable.getReader().read();
 * console.assert(new TextDecoder().decode(value) === "hi");
 * await server.shutdown({ timeoutMs: 1000 }); // the handler returns at once
 * console.assert(server.connections === 0);
 * ```
 */
export type ConnHandler = (conn: Conn, info: ConnInfo) => void | Promise<void>;

/** Options of {@link serve}. */
export interface ServeOptions {
  /** Connections served at once; the ones past it are accepted and closed at once (a reset where the runtime can send one), and counted in `refused`. Default {@link DEFAULT_MAX_CONNECTIONS}. */
  maxConnections?: number;
  /**
   * In the codec form, a connection with no call in flight and no request
   * arriving for this long is closed (the dispatcher keeps the time).
   * A handler sees it as `info.idleTimeoutMs` and applies it itself: serve()
   * does not watch a handler's bytes, which would cost a hook on every chunk.
   * `Infinity` for never. Default {@link DEFAULT_IDLE_TIMEOUT_MS}.
   */
  idleTimeoutMs?: number;
  /** Aborting it starts a graceful shutdown with `shutdownTimeoutMs`. */
  signal?: AbortSignal;
  /** The deadline of a shutdown started by `signal` or `[Symbol.asyncDispose]`, in milliseconds. Default {@link DEFAULT_SHUTDOWN_TIMEOUT_MS}. */
  shutdownTimeoutMs?: number;
  /**
   * Told about every error of a connection (a handler's throw or rejection,
   * a dispatcher's failed call or broken connection) with that connection's
   * info, and about a failing listener (info `undefined`). None of them
   * touches another connection. Default: `console.error`.
   */
  onError?(error: unknown, info: ConnInfo | undefined): void;
  /** Time source for the idle timeout and the shutdown deadline. Default the system clock. */
  clock?: Clock;
}

/** Options of {@link Server.shutdown}. */
export interface ShutdownOptions {
  /** How long calls in flight may take before their connections are closed; 0 aborts at once, `Infinity` waits. Default: serve()'s `shutdownTimeoutMs`. */
  timeoutMs?: number;
}

/**
 * A running server: what {@link serve} returns.
 *
 * @example Connections past maxConnections are refused and counted
 * ```ts
 * import { memoryListener, serve } from "weft";
 *
 * const listener = memoryListener();
 * const server = serve(listener, (conn) => conn.readable.pipeTo(conn.writable), { maxConnections: 1 });
 * const first = await listener.connect();
 * const second = await listener.connect();
 * await second.readable.getReader().read().catch(() => {}); // reset by the server
 * console.assert(server.refused === 1 && server.connections === 1);
 * await first.close();
 * await server.shutdown({ timeoutMs: 0 });
 * console.assert(server.connections === 0);
 * ```
 */
export interface Server extends AsyncDisposable {
  /** The listener's address. */
  readonly addr: NetAddr;
  /** Connections being served now. */
  readonly connections: number;
  /** Connections refused because `maxConnections` were being served. */
  readonly refused: number;
  /** Settles (never rejects) once accepting has stopped and every connection is closed. */
  readonly finished: Promise<void>;
  /**
   * Graceful shutdown: closes the listener, aborts every `info.signal` (idle
   * connections close, the others finish what is in flight), and at the
   * deadline closes what is left. Resolves with `finished`. Calling it
   * again can only bring the deadline nearer.
   */
  shutdown(options?: ShutdownOptions): Promise<void>;
  /** `shutdown()` with `shutdownTimeoutMs`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Serves every connection of a listener: with a handler of your own, or
 * (the codec form) by framing each connection with a codec and answering its
 * requests with a service through the pipeline or multiplex dispatcher.
 *
 * serve() owns the listener from then on: shutdown closes it. A failing
 * listener (`accept()` rejects) ends the accepting; the error goes to
 * `onError` and the connections already accepted are served to their end.
 *
 * @example A handler per connection, over a memory listener
 * ```ts
 * import { memoryListener, serve } from "weft";
 *
 * const listener = memoryListener();
 * const server = serve(listener, async (conn) => {
 *   await conn.readable.pipeTo(conn.writable); // echo until the client's FIN
 * });
 * const conn = await listener.connect();
 * const writer = conn.writable.getWriter();
 * await writer.write(new TextEncoder().encode("hello"));
 * await writer.close();
 * console.assert(await new Response(conn.readable).text() === "hello");
 * await server.shutdown();
 * console.assert(server.connections === 0);
 * ```
 *
 * @example A line protocol: a codec, a mode and a service
 * ```ts
 * import { framed, lines, memoryListener, pipelineClient, serve, serviceFn } from "weft";
 *
 * const listener = memoryListener();
 * const server = serve(listener, {
 *   codec: () => lines(),
 *   mode: "pipeline",
 *   service: serviceFn(async (line: string) => line.toUpperCase()),
 * });
 * const client = pipelineClient(framed(await listener.connect(), lines()));
 * const answers = await Promise.all(["a", "b", "c"].map((s) => client.call(s)));
 * console.assert(answers.join() === "A,B,C");
 * await client.close();
 * await server.shutdown({ timeoutMs: 1000 });
 * ```
 */
export function serve(listener: Listener, handler: ConnHandler, options?: ServeOptions): Server;
export function serve<Req, Res>(listener: Listener, dispatch: ServeDispatch<Req, Res>, options?: ServeOptions): Server;
export function serve<Req, Res>(listener: Listener, handler: ConnHandler | ServeDispatch<Req, Res>, options?: ServeOptions): Server {
  const fn = "serve()";
  if (typeof listener !== "object" || listener === null || typeof listener.accept !== "function" || typeof listener.close !== "function") {
    throw new TypeError("Invalid listener for serve(): expected a Listener with accept() and close()");
  }
  const o = checkOptions(fn, options);
  const config: Config = {
    maxConnections: checkCount(fn, "maxConnections", o.maxConnections, DEFAULT_MAX_CONNECTIONS),
    idleTimeoutMs: checkMs(fn, "idleTimeoutMs", o.idleTimeoutMs, DEFAULT_IDLE_TIMEOUT_MS),
    shutdownTimeoutMs: checkMs(fn, "shutdownTimeoutMs", o.shutdownTimeoutMs, DEFAULT_SHUTDOWN_TIMEOUT_MS, true),
    onError: checkFunction<Config["onError"]>(fn, "onError", o.onError) ?? logError,
    clock: checkClock(fn, o.clock),
  };
  const signal = checkSignal(fn, o.signal);
  let run: Runner;
  if (typeof handler === "function") {
    run = async (conn, info) => await handler(conn, info);
  } else if (typeof handler === "object" && handler !== null) {
    run = dispatchRunner(handler, config.idleTimeoutMs, config.clock);
  } else {
    throw new TypeError("Invalid handler for serve(): expected a function or { codec, mode, service }");
  }
  return new Serving(listener, run, config, signal);
}

function logError(error: unknown, info: ConnInfo | undefined): void {
  const where = info ? `connection from ${formatPeer(info.remoteAddr)}` : "listener";
  console.error(`serve(): error on ${where}:`, error);
}

function formatPeer(addr: NetAddr): string {
  return addr.path ?? (addr.port === undefined ? String(addr.hostname) : `${addr.hostname}:${addr.port}`);
}
