import type { NetErrorCode } from "../errors.ts";

// POSIX errno names (as Node and Bun report them in `err.code`) and the TLS
// verification codes of OpenSSL and BoringSSL, mapped to NetError codes.
const ERRNO: Record<string, NetErrorCode> = {
  ECONNREFUSED: "connection-refused",
  ECONNRESET: "connection-reset",
  ECONNABORTED: "connection-aborted",
  EPIPE: "broken-pipe",
  ETIMEDOUT: "timed-out",
  EHOSTUNREACH: "host-unreachable",
  EHOSTDOWN: "host-unreachable",
  ENETUNREACH: "network-unreachable",
  ENETDOWN: "network-unreachable",
  EADDRINUSE: "address-in-use",
  EADDRNOTAVAIL: "address-unavailable",
  ENOTFOUND: "not-found",
  EAI_NONAME: "not-found",
  EAI_FAIL: "not-found",
  ENOENT: "not-found",
  EACCES: "permission-denied",
  EPERM: "permission-denied",
  ERR_SOCKET_CLOSED: "closed",
  ERR_STREAM_DESTROYED: "closed",
  ERR_STREAM_WRITE_AFTER_END: "closed",
};

const TLS_CERTIFICATE = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_REVOKED",
  "CERT_SIGNATURE_FAILURE",
  "INVALID_CA",
  "HOSTNAME_MISMATCH",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_TLS_CERT_ALTNAME_FORMAT",
]);

/**
 * The {@link NetErrorCode} for an errno name such as `ECONNREFUSED`, or a TLS
 * verification code such as `SELF_SIGNED_CERT_IN_CHAIN`; `undefined` when the
 * name is not one weft knows. For adapter authors.
 *
 * @example
 * ```ts
 * import { codeFromErrno } from "weft";
 * console.assert(codeFromErrno("ECONNRESET") === "connection-reset");
 * console.assert(codeFromErrno("CERT_HAS_EXPIRED") === "tls-certificate");
 * ```
 */
export function codeFromErrno(name: string | undefined): NetErrorCode | undefined {
  if (name === undefined) return undefined;
  const code = ERRNO[name];
  if (code !== undefined) return code;
  if (TLS_CERTIFICATE.has(name)) return "tls-certificate";
  if (name.startsWith("ERR_SSL_") || name.startsWith("ERR_TLS_") || name.startsWith("TLS_")) return "tls-handshake";
  return undefined;
}
