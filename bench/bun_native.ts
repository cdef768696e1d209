/** Bun's own socket API for the benchmark: Bun.listen / Bun.connect handlers, write() with partial writes and drain. */
import type { Socket } from "bun";
import { type BenchServer, countHeads, countLines, helloReplies, pongs, type Variant } from "./_scenarios.ts";

const HOST = "127.0.0.1";

/** Per-socket state: bytes waiting for `drain`, and what to do with data. */
interface State {
  pending: Uint8Array[];
  onData(socket: Socket<State>, data: Uint8Array): void;
  onDrain?: () => void;
}

/** Writes `data`, queueing what the socket did not take; returns false if anything is queued. */
function send(socket: Socket<State>, data: Uint8Array): boolean {
  const st = socket.data;
  if (st.pending.length > 0) {
    st.pending.push(data);
    return false;
  }
  const n = socket.write(data);
  if (n < data.byteLength) {
    st.pending.push(data.subarray(Math.max(n, 0)));
    return false;
  }
  return true;
}

function flush(socket: Socket<State>): void {
  const st = socket.data;
  while (st.pending.length > 0) {
    const head = st.pending[0]!;
    const n = socket.write(head);
    if (n < head.byteLength) {
      st.pending[0] = head.subarray(Math.max(n, 0));
      return;
    }
    st.pending.shift();
  }
  st.onDrain?.();
}

const handlers = {
  binaryType: "uint8array" as const,
  data: (socket: Socket<State>, data: Uint8Array) => socket.data.onData(socket, data),
  drain: (socket: Socket<State>) => flush(socket),
  error() {},
};

function listen(make: () => State): BenchServer {
  const server = Bun.listen<State>({
    hostname: HOST,
    port: 0,
    socket: {
      ...handlers,
      open(socket) {
        socket.data = make();
        socket.setNoDelay(true);
      },
    },
  });
  return { port: server.port, close: async () => server.stop(false) };
}

function dial(port: number, state: State): Promise<Socket<State>> {
  return Bun.connect<State>({
    hostname: HOST,
    port,
    data: state,
    socket: {
      ...handlers,
      open(socket) {
        socket.setNoDelay(true);
      },
    },
  });
}

async function writeAll(socket: Socket<State>, chunk: Uint8Array, total: number): Promise<void> {
  for (let sent = 0; sent < total; sent += chunk.byteLength) {
    if (!send(socket, chunk)) {
      await new Promise<void>((resolve) => {
        socket.data.onDrain = () => {
          socket.data.onDrain = undefined;
          resolve();
        };
      });
    }
  }
}

export const native: Variant = {
  discardServer: async (total, onDone) => {
    return listen(() => {
      let got = 0;
      return {
        pending: [],
        onData(socket, data) {
          got += data.byteLength;
          if (got === total) {
            onDone();
            socket.end();
          }
        },
      };
    });
  },
  echoServer: async () =>
    listen(() => ({
      pending: [],
      onData(socket, data) {
        // Bun hands each `data` call a buffer of its own, so it can be queued as is.
        if (!send(socket, data)) {
          socket.pause();
          socket.data.onDrain = () => socket.resume();
        }
      },
    })),
  async send(port, chunk, total) {
    const socket = await dial(port, { pending: [], onData() {} });
    await writeAll(socket, chunk, total);
    return async () => void socket.end();
  },
  async sendAndReceive(port, chunk, total) {
    let got = 0;
    let done!: () => void;
    const received = new Promise<void>((r) => (done = r));
    const socket = await dial(port, {
      pending: [],
      onData(_s, data) {
        got += data.byteLength;
        if (got >= total) done();
      },
    });
    await writeAll(socket, chunk, total);
    await received;
    socket.end();
  },
  async pingpong(port, conns, perConn, message) {
    await Promise.all(
      Array.from({ length: conns }, async () => {
        let left = perConn;
        let got = 0;
        let done!: () => void;
        const finished = new Promise<void>((r) => (done = r));
        const socket = await dial(port, {
          pending: [],
          onData(s, data) {
            got += data.byteLength;
            if (got < message.byteLength) return;
            got = 0;
            if (--left === 0) return done();
            send(s, message);
          },
        });
        send(socket, message);
        await finished;
        socket.end();
      }),
    );
  },
};

/** A hand-written Bun.listen server that counts the requests of each chunk read (`count`) and answers them in one write (`replies`). */
function replyServer(count: (chunk: Uint8Array) => number, replies: (n: number) => Uint8Array): Promise<BenchServer> {
  return Promise.resolve(listen(() => ({
    pending: [],
    onData(socket, data) {
      const n = count(data);
      if (n > 0) send(socket, replies(n));
    },
  })));
}

/** Answers every inline command ("PING\r\n") with "+PONG\r\n". */
export const pingServer = (): Promise<BenchServer> => replyServer(countLines, pongs);

/** Answers every HTTP/1.1 request head with "Hello, World!" (the ceiling for bench:http). */
export const httpResponder = (): Promise<BenchServer> => replyServer(countHeads, helloReplies);
