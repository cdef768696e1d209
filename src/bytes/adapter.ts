import type { Conn } from "./conn.ts";
import type { BindUdpOptions, UdpSocket } from "./datagram.ts";
import type { Listener } from "./listener.ts";
import type {
  ConnectOptions,
  ListenOptions,
  StartTlsOptions,
  TlsConnectOptions,
  TlsListenOptions,
} from "./socket_options.ts";

/**
 * What every socket adapter module exports (`weft/node`, `weft/deno`,
 * `weft/bun`): code written against it runs on any of them, and switching
 * runtime is switching one import.
 *
 * @example Code that takes any adapter
 * ```ts
 * import type { Adapter } from "weft";
 *
 * async function hello(net: Adapter, port: number): Promise<void> {
 *   const conn = await net.connect({ hostname: "127.0.0.1", port });
 *   const writer = conn.writable.getWriter();
 *   await writer.write(new TextEncoder().encode("hello\n"));
 *   await writer.close();
 *   await conn.close();
 * }
 * ```
 */
export interface Adapter {
  /** Opens a TCP or Unix socket connection. */
  connect(options: ConnectOptions): Promise<Conn>;
  /** Opens a TLS connection. */
  connectTls(options: TlsConnectOptions): Promise<Conn>;
  /** Listens for TCP or Unix socket connections. */
  listen(options: ListenOptions): Promise<Listener>;
  /** Listens for TLS connections. */
  listenTls(options: TlsListenOptions): Promise<Listener>;
  /** Upgrades a plain connection to TLS (STARTTLS). */
  startTls(conn: Conn, options?: StartTlsOptions): Promise<Conn>;
  /** Binds a UDP socket, where the runtime has them (Node, Deno with `--unstable-net`, Bun). */
  bindUdp?(options?: BindUdpOptions): Promise<UdpSocket>;
}
