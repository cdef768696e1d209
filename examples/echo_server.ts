/**
 * An echo server on the byte layer: every connection gets back what it sends,
 * with backpressure (a client that does not read stops being read).
 *
 *   node --import tsx examples/echo_server.ts [port]     (or deno run -A / bun)
 *
 * Ctrl-C stops accepting, lets open connections finish, and exits.
 */
import { type Conn, formatAddr, type Listener } from "../mod.ts";
import { net, runtime } from "./_net.ts";

/** Echoes one connection until the client half-closes, then closes. */
export async function echo(conn: Conn, log: (line: string) => void = () => {}): Promise<number> {
  const reader = conn.readable.getReader();
  const writer = conn.writable.getWriter();
  let bytes = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      await writer.write(value);
    }
    await writer.close();
  } catch (error) {
    log(`${formatAddr(conn.remoteAddr)}: ${(error as Error).message}`);
    await conn.close(error);
  }
  return bytes;
}

/** Serves echo on `listener` until it closes; resolves when every connection is done. */
export async function serveEcho(listener: Listener, log: (line: string) => void): Promise<void> {
  const open = new Set<Promise<void>>();
  for await (const conn of listener) {
    const peer = formatAddr(conn.remoteAddr);
    log(`server: ${peer} connected`);
    const done = echo(conn, log).then((bytes) => log(`server: ${peer} done after echoing ${bytes} bytes`));
    open.add(done);
    done.finally(() => open.delete(done));
  }
  await Promise.all(open);
}

if ((import.meta as { main?: boolean }).main ?? process.argv[1]?.endsWith("echo_server.ts")) {
  const port = Number(process.argv[2] ?? process.env.PORT ?? 7007);
  const listener = await net.listen({ hostname: "127.0.0.1", port });
  console.log(`echo server (${runtime}) on ${formatAddr(listener.addr)}; try: echo hi | nc -N 127.0.0.1 ${port}`);
  process.once("SIGINT", () => {
    console.log("\nstopping");
    void listener.close();
  });
  await serveEcho(listener, console.log);
}
