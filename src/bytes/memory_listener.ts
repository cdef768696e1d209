import { NetError } from "../errors.ts";
import type { Conn } from "./conn.ts";
import { ConnListener } from "./conn_listener.ts";
import type { Listener } from "./listener.ts";
import { memoryPipe, type MemoryPipeOptions } from "./memory_pipe.ts";

/** Connections a memory listener holds for `accept()` before it refuses more, as a socket's listen backlog would. */
export const DEFAULT_MEMORY_BACKLOG = 128;

/** Options of {@link memoryListener}. */
export interface MemoryListenerOptions extends MemoryPipeOptions {
  /** Connections waiting for `accept()`; past it, `connect()` is refused. Default {@link DEFAULT_MEMORY_BACKLOG}. */
  backlog?: number;
  /** Aborting it closes the listener. */
  signal?: AbortSignal | undefined;
}

/** A {@link Listener} in memory, with the `connect()` that reaches it. */
export interface MemoryListener extends Listener {
  /**
   * Opens a connection to this listener: a {@link memoryPipe} whose other end
   * the next `accept()` receives. Rejects with a `connection-refused`
   * NetError once the listener is closed or while its backlog is full.
   */
  connect(): Promise<Conn>;
  /** Connections refused because the backlog was full. */
  readonly dropped: number;
}

let listeners = 0;

/**
 * A listener in memory: `connect()` makes a {@link memoryPipe} and hands its
 * far end to `accept()`. It behaves as a socket listener does (a bounded
 * backlog, `close()` refuses later connects and closes the ones not yet
 * accepted), so servers can be tested and documented without a runtime
 * adapter.
 *
 * @example A server and a client in memory
 * ```ts
 * import { memoryListener } from "weft";
 *
 * const listener = memoryListener();
 * const serving = (async () => {
 *   for await (const conn of listener) {
 *     await conn.readable.pipeTo(conn.writable); // echo until the client's FIN
 *   }
 * })();
 * const conn = await listener.connect();
 * const writer = conn.writable.getWriter();
 * await writer.write(new TextEncoder().encode("ping"));
 * await writer.close();
 * console.assert(await new Response(conn.readable).text() === "ping");
 * await listener.close();
 * await serving;
 * ```
 */
export function memoryListener(options: MemoryListenerOptions = {}): MemoryListener {
  if (typeof options !== "object" || options === null) throw new TypeError(`Invalid memoryListener() options ${String(options)}: expected an object`);
  const { backlog = DEFAULT_MEMORY_BACKLOG, signal, ...pipeOptions } = options;
  if (typeof backlog !== "number" || !Number.isSafeInteger(backlog) || backlog < 1) {
    throw new RangeError(`Invalid backlog ${JSON.stringify(backlog)}: expected a positive integer`);
  }
  memoryPipe(pipeOptions); // checks the pipe options once, up front
  const addr = { transport: "memory", hostname: `listener${++listeners}` } as const;
  return new MemoryConnListener(addr, { backlog, signal, close() {} }, pipeOptions);
}

class MemoryConnListener extends ConnListener implements MemoryListener {
  #pipeOptions: MemoryPipeOptions;

  constructor(addr: MemoryListener["addr"], options: ConstructorParameters<typeof ConnListener>[1], pipeOptions: MemoryPipeOptions) {
    super(addr, options);
    this.#pipeOptions = pipeOptions;
  }

  connect(): Promise<Conn> {
    const refused = () => new NetError("connection-refused", `Cannot connect to memory listener ${this.addr.hostname}: ${this.closed ? "it is closed" : "its backlog is full"}`);
    if (this.closed) return Promise.reject(refused());
    const [client, server] = memoryPipe(this.#pipeOptions);
    if (!this.push(server)) {
      client.close().catch(() => {});
      return Promise.reject(refused());
    }
    return Promise.resolve(client);
  }
}
