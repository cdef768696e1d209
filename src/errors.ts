/**
 * Errors that weft raises for network and protocol conditions.
 *
 * Bad arguments are reported with the platform's `TypeError` and `RangeError`;
 * everything that goes wrong on the wire is a {@link NetError} whose `code` a
 * caller can branch on. Adapters keep the runtime's own error as `cause`.
 *
 * @module
 */

/**
 * The conditions a {@link NetError} can report.
 *
 * | code | meaning |
 * |---|---|
 * | `connection-refused` | nothing listens at the address |
 * | `connection-reset` | the peer reset the connection (RST) |
 * | `connection-aborted` | the connection was aborted before it was accepted |
 * | `broken-pipe` | a write after the peer stopped receiving |
 * | `timed-out` | a connect or I/O deadline passed |
 * | `host-unreachable`, `network-unreachable` | no route to the peer |
 * | `address-in-use`, `address-unavailable` | the local address cannot be bound |
 * | `not-found` | the host name does not resolve, or the Unix socket path does not exist |
 * | `permission-denied` | the operating system refused the operation |
 * | `tls-certificate` | the peer's certificate is not trusted for the name |
 * | `tls-handshake` | the TLS handshake failed for another reason |
 * | `closed` | an operation on a connection, listener or service that is already closed |
 * | `overloaded` | a service has no room for the call now (`loadShed()`, a full `buffer()`) |
 * | `circuit-open` | a circuit breaker is open: the service failed too often and is resting |
 * | `retry-budget-exhausted` | a retry was due, but the retry budget has none left; `cause` has the last error |
 * | `unavailable` | there is no service to call (an empty `balance()`) |
 * | `rejected` | `filter()` refused the request |
 * | `unsupported` | this runtime cannot do what was asked (the message says what to use instead) |
 * | `body-aborted` | the peer gave up on a streamed body in the middle: the body stream errors |
 * | `protocol-error` | the peer broke the protocol's rules (a response nobody asked for, an unknown request id, a body out of place) |
 * | `unknown` | anything else; `cause` has the runtime's error |
 */
export type NetErrorCode =
  | "connection-refused"
  | "connection-reset"
  | "connection-aborted"
  | "broken-pipe"
  | "timed-out"
  | "host-unreachable"
  | "network-unreachable"
  | "address-in-use"
  | "address-unavailable"
  | "not-found"
  | "permission-denied"
  | "tls-certificate"
  | "tls-handshake"
  | "closed"
  | "overloaded"
  | "circuit-open"
  | "retry-budget-exhausted"
  | "unavailable"
  | "rejected"
  | "unsupported"
  | "body-aborted"
  | "protocol-error"
  | "unknown";

/**
 * A network or protocol condition, with a `code` to branch on and the
 * runtime's original error as `cause`.
 *
 * @example Branch on the code
 * ```ts
 * import { NetError } from "weft";
 *
 * const err = new NetError("connection-refused", "Cannot connect to 127.0.0.1:1: connection refused");
 * if (err instanceof NetError && err.code === "connection-refused") {
 *   // try another address
 * }
 * ```
 */
export class NetError extends Error {
  /** What went wrong, as a stable string. */
  readonly code: NetErrorCode | (string & {});

  constructor(code: NetErrorCode | (string & {}), message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NetError";
    this.code = code;
  }
}

/**
 * The conditions a {@link FrameError} can report.
 *
 * | code | meaning |
 * |---|---|
 * | `frame-too-large` | a frame is longer than the codec's `maxFrameBytes` |
 * | `unexpected-eof` | the stream ended in the middle of a frame |
 * | `invalid-frame` | the bytes break the codec's format (a bad varint, a length that overflows, a bad header) |
 * | `invalid-utf8` | a text frame is not valid UTF-8 |
 * | `invalid-json` | a JSON frame does not parse |
 */
export type FrameErrorCode = "frame-too-large" | "unexpected-eof" | "invalid-frame" | "invalid-utf8" | "invalid-json";

/**
 * A byte stream that cannot be split into frames: the codec's limits or format
 * are broken. Decoders throw it; a decoding stream errors with it and ends.
 *
 * @example
 * ```ts
 * import { FrameError, NetError } from "weft";
 *
 * const err = new FrameError("frame-too-large", "Cannot decode frame: 70000 bytes exceed maxFrameBytes 65536");
 * console.assert(err instanceof NetError && err.code === "frame-too-large");
 * ```
 */
export class FrameError extends NetError {
  declare readonly code: FrameErrorCode;

  constructor(code: FrameErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "FrameError";
  }
}
