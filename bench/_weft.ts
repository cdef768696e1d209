/** The benchmark variant on weft's Conn: readers and writers, as a user would write them. */
import type { Adapter, Conn } from "../mod.ts";
import type { BenchServer, Variant } from "./_scenarios.ts";

const HOST = "127.0.0.1";

async function serve(net: Adapter, handle: (conn: Conn) => Promise<void>): Promise<BenchServer> {
  const listener = await net.listen({ hostname: HOST, port: 0 });
  (async () => {
    for await (const conn of listener) handle(conn).catch(() => conn.close());
  })();
  return { port: listener.addr.port!, close: () => listener.close() };
}

/** Echo with a BYOB reader: one reused buffer, read into and written from. */
async function echoByob(conn: Conn): Promise<void> {
  const reader = conn.readable.getReader({ mode: "byob" });
  const writer = conn.writable.getWriter();
  let buffer = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const { value, done } = await reader.read(buffer);
      if (done || !value) break;
      await writer.write(value); // resolved: the runtime has the bytes, the buffer is ours again
      buffer = new Uint8Array(value.buffer);
    }
  } finally {
    await conn.close();
  }
}

/** Reads until `total` bytes came, with a BYOB reader and one reused buffer. */
async function readCountByob(conn: Conn, total: number): Promise<number> {
  const reader = conn.readable.getReader({ mode: "byob" });
  let buffer = new Uint8Array(64 * 1024);
  let bytes = 0;
  while (bytes < total) {
    const { value, done } = await reader.read(buffer);
    if (done || !value) break;
    bytes += value.byteLength;
    buffer = new Uint8Array(value.buffer);
  }
  reader.releaseLock();
  return bytes;
}

/**
 * Echo with the default reader: each chunk is the reader's own, so its write
 * may still be in flight while the next chunk is read (one write ahead; every
 * write promise is awaited, so a failure is never unhandled).
 */
async function echoConn(conn: Conn): Promise<void> {
  const reader = conn.readable.getReader();
  const writer = conn.writable.getWriter();
  let pending: Promise<void> | undefined;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (pending) await pending;
      pending = writer.write(value);
    }
    await pending;
  } finally {
    await conn.close();
  }
}

/**
 * Writes `total` bytes of `chunk` with one write ahead: the next chunk is
 * handed over while the previous one may still be in flight (the chunk never
 * changes, so reusing it is safe here).
 */
async function writeAll(conn: Conn, chunk: Uint8Array, total: number): Promise<void> {
  const writer = conn.writable.getWriter();
  let pending: Promise<void> | undefined;
  for (let sent = 0; sent < total; sent += chunk.byteLength) {
    if (pending) await pending;
    pending = writer.write(chunk);
  }
  await pending;
  writer.releaseLock();
}

/** Reads until `total` bytes came (or the end); returns the count. */
async function readCount(conn: Conn, total: number): Promise<number> {
  const reader = conn.readable.getReader();
  let bytes = 0;
  while (bytes < total) {
    const { value, done } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
  }
  reader.releaseLock();
  return bytes;
}

/**
 * weft over the given adapter: the default reader (each chunk a fresh buffer
 * the reader owns), or with `byob` a BYOB reader reading into one reused
 * buffer, as bulk-transfer code would.
 */
export function weftVariant(net: Adapter, byob = false): Variant {
  const count = byob ? readCountByob : readCount;
  return {
    discardServer: (total, onDone) =>
      serve(net, async (conn) => {
        await count(conn, total);
        onDone();
        await conn.close();
      }),
    echoServer: () => serve(net, byob ? echoByob : echoConn),
    async send(port, chunk, total) {
      const conn = await net.connect({ hostname: HOST, port });
      await writeAll(conn, chunk, total);
      return () => conn.close();
    },
    async sendAndReceive(port, chunk, total) {
      const conn = await net.connect({ hostname: HOST, port });
      const [, got] = await Promise.all([writeAll(conn, chunk, total), count(conn, total)]);
      if (got !== total) throw new Error(`echo: got ${got} of ${total} bytes back`);
      await conn.close();
    },
    async pingpong(port, conns, perConn, message) {
      await Promise.all(
        Array.from({ length: conns }, async () => {
          const conn = await net.connect({ hostname: HOST, port });
          const writer = conn.writable.getWriter();
          if (byob) {
            // One reused buffer, read into (straight from the socket where the runtime allows).
            const reader = conn.readable.getReader({ mode: "byob" });
            let buffer = new Uint8Array(64 * 1024);
            for (let i = 0; i < perConn; i++) {
              await writer.write(message);
              for (let got = 0; got < message.byteLength;) {
                const { value, done } = await reader.read(buffer);
                if (done || !value) throw new Error("pingpong: connection ended early");
                got += value.byteLength;
                buffer = new Uint8Array(value.buffer);
              }
            }
          } else {
            const reader = conn.readable.getReader();
            for (let i = 0; i < perConn; i++) {
              await writer.write(message);
              for (let got = 0; got < message.byteLength;) {
                const { value, done } = await reader.read();
                if (done) throw new Error("pingpong: connection ended early");
                got += value.byteLength;
              }
            }
          }
          await conn.close();
        }),
      );
    },
  };
}
