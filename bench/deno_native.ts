/** Deno's own socket API for the benchmark: Deno.listen / Deno.connect with conn.read() into a reused buffer and conn.write(). */
import { type BenchServer, countHeads, countLines, helloReplies, pongs, type Variant } from "./_scenarios.ts";

const HOST = "127.0.0.1";

async function writeAll(conn: Deno.Conn, chunk: Uint8Array): Promise<void> {
  for (let at = 0; at < chunk.byteLength;) at += await conn.write(at === 0 ? chunk : chunk.subarray(at));
}

function serve(handle: (conn: Deno.Conn) => Promise<void>): BenchServer {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  (async () => {
    try {
      for await (const conn of listener) {
        conn.setNoDelay(true);
        handle(conn).catch(() => {}).finally(() => {
          try {
            conn.close();
          } catch { /* closed */ }
        });
      }
    } catch { /* listener closed */ }
  })();
  return { port: (listener.addr as Deno.NetAddr).port, close: async () => listener.close() };
}

async function dial(port: number): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: HOST, port });
  conn.setNoDelay(true);
  return conn;
}

async function readCount(conn: Deno.Conn, total: number): Promise<number> {
  const buf = new Uint8Array(64 * 1024);
  let got = 0;
  while (got < total) {
    const n = await conn.read(buf);
    if (n === null) break;
    got += n;
  }
  return got;
}

async function sendAll(conn: Deno.Conn, chunk: Uint8Array, total: number): Promise<void> {
  for (let sent = 0; sent < total; sent += chunk.byteLength) await writeAll(conn, chunk);
}

export const native: Variant = {
  discardServer: async (total, onDone) =>
    serve(async (conn) => {
      await readCount(conn, total);
      onDone();
    }),
  echoServer: async () =>
    serve(async (conn) => {
      const buf = new Uint8Array(64 * 1024);
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) return;
        await writeAll(conn, buf.subarray(0, n));
      }
    }),
  async send(port, chunk, total) {
    const conn = await dial(port);
    await sendAll(conn, chunk, total);
    return async () => conn.close();
  },
  async sendAndReceive(port, chunk, total) {
    const conn = await dial(port);
    const [, got] = await Promise.all([sendAll(conn, chunk, total), readCount(conn, total)]);
    if (got !== total) throw new Error(`echo: got ${got} of ${total} bytes back`);
    conn.close();
  },
  async pingpong(port, conns, perConn, message) {
    await Promise.all(
      Array.from({ length: conns }, async () => {
        const conn = await dial(port);
        const buf = new Uint8Array(64 * 1024);
        for (let i = 0; i < perConn; i++) {
          await writeAll(conn, message);
          for (let got = 0; got < message.byteLength;) {
            const n = await conn.read(buf);
            if (n === null) throw new Error("pingpong: connection ended early");
            got += n;
          }
        }
        conn.close();
      }),
    );
  },
};

/** A hand-written Deno.listen server that counts the requests of each chunk read (`count`) and answers them in one write (`replies`). */
function replyServer(count: (chunk: Uint8Array) => number, replies: (n: number) => Uint8Array): Promise<BenchServer> {
  return Promise.resolve(serve(async (conn) => {
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) return;
      const requests = count(buf.subarray(0, n));
      if (requests > 0) await writeAll(conn, replies(requests));
    }
  }));
}

/** Answers every inline command ("PING\r\n") with "+PONG\r\n". */
export const pingServer = (): Promise<BenchServer> => replyServer(countLines, pongs);

/** Answers every HTTP/1.1 request head with "Hello, World!" (the ceiling for bench:http). */
export const httpResponder = (): Promise<BenchServer> => replyServer(countHeads, helloReplies);
