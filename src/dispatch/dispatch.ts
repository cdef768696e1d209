/**
 * The contracts of the dispatch layer: what maps a transport of frames
 * (a {@link Framed}) onto a {@link Service}, on the server side and on the
 * client side, in two modes.
 *
 * - **pipeline**: responses come back in request order (Redis, HTTP/1.1,
 *   memcached). The server runs up to `maxInFlight` calls at once and writes
 *   their responses in order; the client keeps a queue of pending calls.
 * - **multiplex**: every frame carries a request id and responses come back
 *   in any order (HTTP/2-like RPC, tokio-proto's multiplex). The protocol says
 *   where the id is through {@link MultiplexHooks}.
 *
 * Streaming bodies: a {@link Message} is a head plus an optional byte stream,
 * carried on the wire as {@link StreamFrame}s (a head, chunks, an end).
 */
import type { Clock } from "../service/clock.ts";
import type { Service } from "../service/service.ts";

/** The largest number of calls a server side runs at once on one connection by default. */
export const DEFAULT_MAX_IN_FLIGHT = 32;

/** Calls a client side keeps pending at once by default: a pool or buffer() in front queues the rest. */
export const DEFAULT_CLIENT_MAX_IN_FLIGHT = 1024;

/** Options of the server-side dispatchers (pipelineServer, multiplexServer). */
export interface DispatchServerOptions<Req, Res> {
  /**
   * Calls run at once on the connection; at the limit the dispatcher stops
   * reading (so the peer's writes wait). Default {@link DEFAULT_MAX_IN_FLIGHT}.
   */
  maxInFlight?: number;
  /**
   * Graceful drain: when it aborts, the dispatcher reads no new requests,
   * lets the calls in flight finish and their responses leave, then closes
   * the connection (at once when it is idle).
   */
  signal?: AbortSignal;
  /**
   * Closes the connection when no call is in flight and no request has come
   * for this long, in milliseconds. Default: never (serve() passes its own).
   */
  idleTimeoutMs?: number;
  /**
   * The response frame for a call that failed. Returning `undefined` (or no
   * hook) closes the connection after the responses before it are written:
   * a pipelined protocol cannot skip a response.
   */
  errorResponse?(error: unknown, request: Req): Res | undefined;
  /** Told about failed calls and broken connections, which never reject anything else. */
  onError?(error: unknown): void;
  /** Time source for the idle timeout. Default the system clock. */
  clock?: Clock;
  /**
   * Told about a response that will never be written (its call was cancelled
   * by the peer, or the connection ended first), so that it can release what
   * it holds, such as a body stream.
   */
  onDiscard?(response: Res): void;
}

/**
 * The client side of a connection: a {@link Service} whose calls travel over
 * one Framed. `capacity` is `maxInFlight` minus the calls pending.
 */
export interface DispatchClient<Req, Res> extends Service<Req, Res> {
  /** Calls written and not yet answered (aborted ones included until their response is read). */
  readonly pending: number;
  /** Settles (never rejects) once the connection is finished, for whatever reason: a pool drops the client then. */
  readonly closed: Promise<void>;
  /** Rejects new calls with `closed`, waits for the pending ones, then closes the connection. */
  close(): Promise<void>;
}

/** Options of the client-side dispatchers. */
export interface DispatchClientOptions {
  /** Calls pending at once; more are refused with `overloaded` (use buffer() or a pool to queue). Default {@link DEFAULT_CLIENT_MAX_IN_FLIGHT}. */
  maxInFlight?: number;
  /**
   * Told about a response that no caller will see (its call was aborted), so
   * that it can release what it holds, such as a body stream.
   */
  onDiscard?(response: unknown): void;
}

/** Where a multiplexed protocol keeps its request id. Ids are non-negative integers. */
export interface MultiplexHooks<Req, Res> {
  /** The id of a request frame (server side). */
  requestId(frame: Req): number;
  /** The id of a response frame (client side). */
  responseId(frame: Res): number;
  /** The request frame with id `id` (client side: the client allocates ids). */
  withRequestId(frame: Req, id: number): Req;
  /** The response frame with id `id` (server side). */
  withResponseId(frame: Res, id: number): Res;
  /** The largest id; the client wraps around below it, skipping ids in flight. Default 2^32 - 1. */
  maxId?: number;
  /** The protocol's cancel frame for call `id`, sent when a caller aborts; without it nothing is sent. */
  cancel?(id: number): Req;
  /** Whether a request frame is a cancel (server side): the call with its id is aborted, no response is sent. */
  isCancel?(frame: Req): boolean;
}

/** A message with an optional streamed body: what a streaming service takes and returns. */
export interface Message<Head> {
  head: Head;
  /** The body's bytes; its reader's pace is the connection's pace (backpressure). */
  body?: ReadableStream<Uint8Array>;
}

/**
 * A message on the wire, as a streaming protocol's codec decodes and encodes
 * it: the head (saying whether a body follows), then the body's chunks, then
 * its end (or an abort). In multiplex mode every frame also carries `id`.
 */
export type StreamFrame<Head> =
  | { kind: "head"; head: Head; body: boolean; id?: number }
  | { kind: "chunk"; chunk: Uint8Array; id?: number }
  | { kind: "end"; id?: number }
  | { kind: "abort"; id?: number };
