/**
 * The address of one end of a connection or of a listener.
 *
 * @example A TCP address
 * ```ts
 * import type { NetAddr } from "weft";
 * import { formatAddr } from "weft";
 *
 * const addr: NetAddr = { transport: "tcp", hostname: "::1", port: 6380 };
 * console.assert(formatAddr(addr) === "[::1]:6380");
 * ```
 */
export interface NetAddr {
  /** `tcp` for IPv4 and IPv6, `unix` for Unix domain sockets, `udp` for datagrams, `memory` for {@link memoryPipe}. */
  readonly transport: "tcp" | "unix" | "udp" | "memory";
  /** The IP address (for `tcp` and `udp`). */
  readonly hostname?: string;
  /** The port (for `tcp` and `udp`). */
  readonly port?: number;
  /** The socket path (for `unix`). */
  readonly path?: string;
}

/**
 * Formats an address for messages and logs: `127.0.0.1:80`, `[::1]:80`, `unix:/run/app.sock`.
 *
 * @example
 * ```ts
 * import { formatAddr } from "weft";
 * console.assert(formatAddr({ transport: "unix", path: "/tmp/a.sock" }) === "unix:/tmp/a.sock");
 * ```
 */
export function formatAddr(addr: NetAddr): string {
  if (addr.transport === "unix") return `unix:${addr.path ?? ""}`;
  if (addr.transport === "memory") return `memory:${addr.hostname ?? ""}`;
  const host = addr.hostname ?? "";
  return host.includes(":") ? `[${host}]:${addr.port}` : `${host}:${addr.port}`;
}

/**
 * The two addresses of a Unix socket connection: the listening side is named
 * by the socket's path, the connecting side is unnamed (`path: ""`). Returns
 * `[local, remote]` for the side given by `listening`. For adapter authors.
 *
 * @example
 * ```ts
 * import { unixAddresses } from "weft";
 * const [local, remote] = unixAddresses("/run/app.sock", false);
 * console.assert(local.path === "" && remote.path === "/run/app.sock");
 * ```
 */
export function unixAddresses(path: string, listening: boolean): [local: NetAddr, remote: NetAddr] {
  const named: NetAddr = { transport: "unix", path };
  const unnamed: NetAddr = { transport: "unix", path: "" };
  return listening ? [named, unnamed] : [unnamed, named];
}
