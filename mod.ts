/**
 * weft: a networking toolkit on WHATWG streams, in the shape of Tokio's layers.
 *
 * This module is the runtime-neutral core. Sockets come from an adapter:
 * `weft/node`, `weft/deno`, `weft/bun`, which all export the same functions.
 *
 * @example Two connected ends in memory
 * ```ts
 * import { memoryPipe } from "weft";
 *
 * const [a, b] = memoryPipe();
 * const writer = a.writable.getWriter();
 * await writer.write(new TextEncoder().encode("hi"));
 * await writer.close();
 * console.assert(await new Response(b.readable).text() === "hi");
 * ```
 *
 * @module
 */

// ── For everyone ──────────────────────────────────────────────────────────
export { NetError } from "./src/errors.ts";
export type { NetErrorCode } from "./src/errors.ts";
export type { Conn } from "./src/bytes/conn.ts";
export type { Listener } from "./src/bytes/listener.ts";
export type { Adapter } from "./src/bytes/adapter.ts";
export type { NetAddr } from "./src/bytes/net_addr.ts";
export { formatAddr } from "./src/bytes/net_addr.ts";
export { memoryPipe, DEFAULT_PIPE_CAPACITY } from "./src/bytes/memory_pipe.ts";
export type { MemoryPipeOptions } from "./src/bytes/memory_pipe.ts";
export type { BindUdpOptions, Datagram, UdpSocket } from "./src/bytes/datagram.ts";
export { DEFAULT_MAX_DATAGRAM_BYTES, DEFAULT_RECEIVE_QUEUE, DEFAULT_UDP_HOSTNAME } from "./src/bytes/datagram.ts";
export { memoryUdp } from "./src/bytes/memory_udp.ts";
export type { MemoryUdpOptions } from "./src/bytes/memory_udp.ts";
export type {
  ConnectOptions,
  ConnOptions,
  ListenOptions,
  StartTlsCommon,
  StartTlsOptions,
  TlsClientOptions,
  TlsConnectOptions,
  TlsListenOptions,
  TlsServerOptions,
} from "./src/bytes/socket_options.ts";
export {
  DEFAULT_BACKLOG,
  DEFAULT_CONNECT_HOSTNAME,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_LISTEN_HOSTNAME,
  DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS,
} from "./src/bytes/socket_options.ts";
export type { TlsInfo } from "./src/bytes/raw_socket.ts";
export { FrameError } from "./src/errors.ts";
export type { FrameErrorCode } from "./src/errors.ts";
export type { Codec, Decoder, Encoder } from "./src/codec/codec.ts";
export { DecoderStream } from "./src/codec/decoder_stream.ts";
export type { DecoderStreamOptions } from "./src/codec/decoder_stream.ts";
export { BatchDecoderStream } from "./src/codec/batch_decoder_stream.ts";
export { EncoderStream } from "./src/codec/encoder_stream.ts";
export { bytes } from "./src/codec/bytes.ts";
export { DEFAULT_MAX_LINE_BYTES, lines } from "./src/codec/lines.ts";
export type { LinesOptions } from "./src/codec/lines.ts";
export { DEFAULT_MAX_DELIMITED_BYTES, delimited } from "./src/codec/delimited.ts";
export type { DelimitedOptions } from "./src/codec/delimited.ts";
export { DEFAULT_MAX_LENGTH_DELIMITED_BYTES, lengthDelimited } from "./src/codec/length_delimited.ts";
export type { LengthDelimitedOptions } from "./src/codec/length_delimited.ts";
export { DEFAULT_MAX_VARINT_DELIMITED_BYTES, varintDelimited } from "./src/codec/varint_delimited.ts";
export type { VarintDelimitedOptions } from "./src/codec/varint_delimited.ts";
export { jsonLines } from "./src/codec/json_lines.ts";
export type { JsonLinesOptions } from "./src/codec/json_lines.ts";
export { fixedLength } from "./src/codec/fixed_length.ts";
export { DEFAULT_MAX_BUFFERED_WRITE_BYTES, framed } from "./src/transport/framed.ts";
export type { Framed, FramedOptions, FramedParts } from "./src/transport/framed.ts";
export { DEFAULT_HANDSHAKE_LINE_BYTES, Handshake, handshake } from "./src/transport/handshake.ts";
export type { HandshakeParts } from "./src/transport/handshake.ts";
export { datagramFramed } from "./src/transport/datagram_framed.ts";
export type { DatagramFrame, DatagramFramed, DatagramFramedOptions } from "./src/transport/datagram_framed.ts";
export { datagramPeer } from "./src/transport/datagram_peer.ts";
export type { DatagramPeer } from "./src/transport/datagram_peer.ts";

// ── Services and middleware ───────────────────────────────────────────────
export type { CallOptions, Service } from "./src/service/service.ts";
export type { Layer, Middleware } from "./src/service/layer.ts";
export { stack } from "./src/service/stack.ts";
export { serviceFn } from "./src/service/service_fn.ts";
export { systemClock } from "./src/service/clock.ts";
export type { Clock } from "./src/service/clock.ts";
export { ManualClock } from "./src/service/manual_clock.ts";
export { timeout } from "./src/middleware/timeout.ts";
export type { TimeoutOptions } from "./src/middleware/timeout.ts";
export { DEFAULT_MAX_ATTEMPTS, retry, retrySafe } from "./src/middleware/retry.ts";
export type { RetryOptions } from "./src/middleware/retry.ts";
export {
  DEFAULT_MIN_RETRIES_PER_SECOND,
  DEFAULT_RETRY_PERCENT,
  DEFAULT_RETRY_WINDOW_MS,
  RetryBudget,
} from "./src/middleware/retry_budget.ts";
export type { RetryBudgetOptions } from "./src/middleware/retry_budget.ts";
export { backoff, DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_FACTOR, DEFAULT_BACKOFF_MAX_MS } from "./src/middleware/backoff.ts";
export type { Backoff, BackoffOptions } from "./src/middleware/backoff.ts";
export { concurrencyLimit } from "./src/middleware/concurrency_limit.ts";
export type { ConcurrencyLimitOptions } from "./src/middleware/concurrency_limit.ts";
export { rateLimit } from "./src/middleware/rate_limit.ts";
export type { RateLimitOptions } from "./src/middleware/rate_limit.ts";
export { loadShed } from "./src/middleware/load_shed.ts";
export { buffer } from "./src/middleware/buffer.ts";
export type { BufferOptions } from "./src/middleware/buffer.ts";
export {
  circuitBreaker,
  DEFAULT_CONSECUTIVE_FAILURES,
  DEFAULT_OPEN_BASE_MS,
  DEFAULT_OPEN_MAX_MS,
} from "./src/middleware/circuit_breaker.ts";
export type { CircuitBreakerOptions, SuccessRateOptions } from "./src/middleware/circuit_breaker.ts";
export {
  DEFAULT_HEDGE_MIN_SAMPLES,
  DEFAULT_HEDGE_PERCENT,
  DEFAULT_HEDGE_PERCENTILE,
  DEFAULT_HEDGE_SAMPLES,
  hedge,
} from "./src/middleware/hedge.ts";
export type { HedgeOptions } from "./src/middleware/hedge.ts";
export { balance, DEFAULT_EWMA_DECAY_MS, DEFAULT_EWMA_INITIAL_MS } from "./src/middleware/balance.ts";
export type { BalanceOptions, Balanced } from "./src/middleware/balance.ts";
export { DEFAULT_RECONNECT_BASE_MS, DEFAULT_RECONNECT_MAX_MS, reconnect } from "./src/middleware/reconnect.ts";
export type { ReconnectOptions } from "./src/middleware/reconnect.ts";
export { mapRequest } from "./src/middleware/map_request.ts";
export { mapResponse } from "./src/middleware/map_response.ts";
export { mapError } from "./src/middleware/map_error.ts";
export { filter } from "./src/middleware/filter.ts";
export { observe } from "./src/middleware/observe.ts";
export type { Observation, ObserveOptions } from "./src/middleware/observe.ts";

// ── Dispatch ──────────────────────────────────────────────────────────────
export { DEFAULT_CLIENT_MAX_IN_FLIGHT, DEFAULT_MAX_IN_FLIGHT } from "./src/dispatch/dispatch.ts";
export type {
  DispatchClient,
  DispatchClientOptions,
  DispatchServerOptions,
  Message,
  MultiplexHooks,
  StreamFrame,
} from "./src/dispatch/dispatch.ts";
export { pipelineServer } from "./src/dispatch/pipeline_server.ts";
export { pipelineClient } from "./src/dispatch/pipeline_client.ts";
export { multiplexServer } from "./src/dispatch/multiplex_server.ts";
export { DEFAULT_MAX_REQUEST_ID, multiplexClient } from "./src/dispatch/multiplex_client.ts";
export { streamingServer } from "./src/dispatch/streaming_server.ts";
export type { StreamingServerOptions } from "./src/dispatch/streaming_server.ts";
export { streamingClient } from "./src/dispatch/streaming_client.ts";
export type { StreamingClientOptions } from "./src/dispatch/streaming_client.ts";

// ── Servers and pools ─────────────────────────────────────────────────────
export { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS, DEFAULT_SHUTDOWN_TIMEOUT_MS, serve } from "./src/server/serve.ts";
export type { ConnHandler, ConnInfo, ServeDispatch, ServeOptions, Server, ShutdownOptions } from "./src/server/serve.ts";
export { DEFAULT_POOL_IDLE_TIMEOUT_MS, DEFAULT_POOL_SIZE, pool } from "./src/server/pool.ts";
export type { Pool, PoolOptions } from "./src/server/pool.ts";
export { Sweeper } from "./src/server/sweeper.ts";
export type { Swept } from "./src/server/sweeper.ts";
export { DEFAULT_MEMORY_BACKLOG, memoryListener } from "./src/bytes/memory_listener.ts";
export type { MemoryListener, MemoryListenerOptions } from "./src/bytes/memory_listener.ts";

// ── For codec and adapter authors ─────────────────────────────────────────
export { ReadBuffer } from "./src/codec/read_buffer.ts";
export { DEFAULT_WRITE_BUFFER_BYTES, WriteBuffer } from "./src/codec/write_buffer.ts";
export { SocketConn, DEFAULT_READABLE_HIGH_WATER_MARK, DEFAULT_WRITABLE_HIGH_WATER_MARK } from "./src/bytes/socket_conn.ts";
export type { ReleasedSocket, SocketConnOptions } from "./src/bytes/socket_conn.ts";
export type { RawSocket, RawSocketEvents } from "./src/bytes/raw_socket.ts";
export { ConnListener } from "./src/bytes/conn_listener.ts";
export type { ConnListenerOptions } from "./src/bytes/conn_listener.ts";
export { withDeadline } from "./src/bytes/deadline.ts";
export type { DeadlineOptions } from "./src/bytes/deadline.ts";
export { codeFromErrno } from "./src/bytes/errno.ts";
export { DatagramSocket, SEND_WINDOW } from "./src/bytes/datagram_socket.ts";
export type { DatagramSocketOptions } from "./src/bytes/datagram_socket.ts";
export type { RawDatagramEvents, RawDatagramSocket } from "./src/bytes/raw_datagram_socket.ts";
export { checkRemoteAddr, resolveBindUdpOptions } from "./src/bytes/datagram.ts";
export type { ResolvedBindUdp } from "./src/bytes/datagram.ts";
export { unixAddresses } from "./src/bytes/net_addr.ts";
export { parsePem } from "./src/bytes/pem.ts";
export {
  checkMs,
  resolveConnectOptions,
  resolveListenOptions,
  resolveStartTlsOptions,
  resolveTlsClientOptions,
  resolveTlsServerOptions,
} from "./src/bytes/socket_options.ts";
export type {
  Endpoint,
  ResolvedConnect,
  ResolvedConnOptions,
  ResolvedListen,
  ResolvedStartTls,
  ResolvedTlsClient,
  ResolvedTlsServer,
} from "./src/bytes/socket_options.ts";
