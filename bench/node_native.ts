/** Node's own socket API (node:net) for the benchmark, and Duplex.toWeb as the generic Web Streams path. */
import * as net from "node:net";
import { once } from "node:events";
import { Duplex } from "node:stream";
import type { Adapter, Conn, Listener, NetAddr } from "../mod.ts";
import { type BenchServer, countHeads, countLines, helloReplies, pongs, type Variant } from "./_scenarios.ts";

const HOST = "127.0.0.1";

function listen(onSocket: (s: net.Socket) => void): Promise<BenchServer> {
  // close() does not wait for connections: each variant ends its own.
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, onSocket);
  return new Promise((resolve) => {
    server.listen(0, HOST, () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: async () => void server.close(),
      });
    });
  });
}

async function dial(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: HOST, port, noDelay: true });
  await once(socket, "connect");
  return socket;
}

async function writeAll(socket: net.Socket, chunk: Uint8Array, total: number): Promise<void> {
  for (let sent = 0; sent < total; sent += chunk.byteLength) {
    if (!socket.write(chunk)) await once(socket, "drain");
  }
}

/** node:net with 'data' events and write()/'drain', as idiomatic Node code does it. */
export const nodeNative: Variant = {
  discardServer: (total, onDone) =>
    listen((s) => {
      let bytes = 0;
      s.on("error", () => {});
      s.on("data", (d: Buffer) => {
        bytes += d.byteLength;
        if (bytes === total) {
          onDone();
          s.destroy();
        }
      });
    }),
  echoServer: () =>
    listen((s) => {
      s.on("error", () => {});
      s.pipe(s);
    }),
  async send(port, chunk, total) {
    const socket = await dial(port);
    await writeAll(socket, chunk, total);
    return async () => void socket.destroy();
  },
  async sendAndReceive(port, chunk, total) {
    const socket = await dial(port);
    let got = 0;
    const received = new Promise<void>((resolve) =>
      socket.on("data", (d: Buffer) => {
        got += d.byteLength;
        if (got >= total) resolve();
      })
    );
    await writeAll(socket, chunk, total);
    await received;
    socket.destroy();
  },
  async pingpong(port, conns, perConn, message) {
    await Promise.all(
      Array.from({ length: conns }, async () => {
        const socket = await dial(port);
        await new Promise<void>((resolve) => {
          let left = perConn;
          let got = 0;
          socket.on("data", (d: Buffer) => {
            got += d.byteLength;
            if (got < message.byteLength) return;
            got = 0;
            if (--left === 0) return resolve();
            socket.write(message);
          });
          socket.write(message);
        });
        socket.destroy();
      }),
    );
  },
};

function webConn(socket: net.Socket): Conn {
  const { readable, writable } = Duplex.toWeb(socket) as unknown as { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };
  const addr: NetAddr = { transport: "tcp" };
  return {
    readable,
    writable,
    localAddr: addr,
    remoteAddr: addr,
    closed: once(socket, "close").then(() => {}),
    close: async () => void socket.destroy(),
    [Symbol.asyncDispose]: async () => void socket.destroy(),
  };
}

/** node:net sockets through stream.Duplex.toWeb: the generic converter weft avoids. */
export const toWebAdapter: Pick<Adapter, "connect" | "listen"> = {
  async connect(o) {
    return webConn(await dial(o.port!));
  },
  async listen() {
    const conns: Conn[] = [];
    const waiters: ((c: Conn | undefined) => void)[] = [];
    const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
      const c = webConn(s);
      const w = waiters.shift();
      if (w) w(c);
      else conns.push(c);
    });
    await new Promise<void>((r) => server.listen(0, HOST, r));
    let closed = false;
    const accept = () => conns.length ? Promise.resolve(conns.shift()) : closed ? Promise.resolve(undefined) : new Promise<Conn | undefined>((r) => waiters.push(r));
    const listener: Listener = {
      addr: { transport: "tcp", hostname: HOST, port: (server.address() as net.AddressInfo).port },
      accept,
      async *[Symbol.asyncIterator]() {
        for (let c; (c = await accept());) yield c;
      },
      async close() {
        closed = true;
        server.close();
        for (const w of waiters.splice(0)) w(undefined);
      },
      async [Symbol.asyncDispose]() {
        await listener.close();
      },
    };
    return listener;
  },
};

/** A hand-written node:net server that counts the requests of each chunk read (`count`) and answers them in one write (`replies`). */
function replyServer(count: (chunk: Uint8Array) => number, replies: (n: number) => Uint8Array): Promise<BenchServer> {
  return listen((s) => {
    s.on("error", () => {});
    s.on("data", (d: Buffer) => {
      const n = count(d);
      if (n > 0) s.write(replies(n));
    });
    s.on("end", () => s.end());
  });
}

/** Answers every inline command ("PING\r\n") with "+PONG\r\n". */
export const pingServer = (): Promise<BenchServer> => replyServer(countLines, pongs);

/** Answers every HTTP/1.1 request head with "Hello, World!" (the ceiling for bench:http). */
export const httpResponder = (): Promise<BenchServer> => replyServer(countHeads, helloReplies);
