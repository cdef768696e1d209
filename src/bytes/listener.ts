import type { Conn } from "./conn.ts";
import type { NetAddr } from "./net_addr.ts";

/**
 * Accepts connections: iterate it to receive each {@link Conn}.
 *
 * `close()` stops accepting and ends the iteration; connections already
 * accepted stay open. `await using` closes it at the end of the scope.
 *
 * @example Accept connections with an adapter
 * ```ts ignore
 * import { listen } from "weft/node";
 *
 * await using listener = listen({ hostname: "127.0.0.1", port: 0 });
 * for await (const conn of listener) {
 *   conn.readable.pipeTo(conn.writable).catch(() => {}); // echo
 * }
 * ```
 */
export interface Listener<C extends Conn = Conn> extends AsyncIterable<C>, AsyncDisposable {
  /** The bound address (with the port the system chose when asked for port 0). */
  readonly addr: NetAddr;
  /** Waits for the next connection; resolves `undefined` once the listener is closed. */
  accept(): Promise<C | undefined>;
  /** Stops accepting. Connections waiting in the backlog are closed. */
  close(): Promise<void>;
}
