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
