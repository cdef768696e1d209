// A peer built on node:net that resets connections (RST, through SO_LINGER 0)
// in the middle of an exchange: a peer weft did not write, and a real reset
// on every runtime under test (Deno's own sockets cannot send one).
//
//   node _reset_peer.mjs servers
//     Listens on 127.0.0.1 and prints {"head":port,"requestBody":port,"responseBody":port,"resp":port,"respPartial":port}:
//       head          resets once a request head (up to "\r\n\r\n") has arrived
//       requestBody   resets once a head and 64 KiB of its body have arrived
//       responseBody  answers a head with a 1 MiB Content-Length, sends 16 KiB of it, then resets
//       resp          resets once the client has sent nothing for 50 ms (every pending call sent)
//       respPartial   answers the first 10 PINGs with +PONG, then resets as resp does
//     Exits when stdin closes (or after 120 s).
//
//   node _reset_peer.mjs flash <port> <n>
//     Opens n connections to a server, 50 at a time, and resets each as soon
//     as it is connected, before the server can have read anything.
//     Prints {"resets":n} and exits.
//
//   node _reset_peer.mjs clients <http port> <resp port> <rounds>
//     Connects to a server and resets, each round: an HTTP request in the
//     middle of its head, in the middle of a 1 MiB body, and after a
//     request for a large response; a RESP command in the middle of its
//     header, and in the middle of a 1 MiB bulk. Prints {"resets":n} and exits.
import * as net from "node:net";

const mode = process.argv[2];

function reset(socket) {
  if (!socket.destroyed) socket.resetAndDestroy();
}

function listen(onConnection) {
  return new Promise((resolve) => {
    const server = net.createServer((socket) => {
      socket.on("error", () => {});
      onConnection(socket);
    });
    server.listen(0, "127.0.0.1", () => resolve(server.address().port));
  });
}

/** Calls `then(socket, received)` once `test(received)` holds for what the socket has received. */
function when(test, then) {
  return (socket) => {
    let received = Buffer.alloc(0);
    let done = false;
    socket.on("data", (d) => {
      if (done) return;
      received = Buffer.concat([received, d]);
      if (test(received)) {
        done = true;
        then(socket, received);
      }
    });
  };
}

function headEnd(b) {
  return b.indexOf("\r\n\r\n");
}

/** Resets once the client has been quiet for 50 ms; `answer(text)` may reply first. */
function quiet(answer) {
  return (socket) => {
    let timer;
    let text = "";
    socket.on("data", (d) => {
      text += d.toString("latin1");
      const reply = answer?.(text);
      if (reply) socket.write(reply);
      clearTimeout(timer);
      timer = setTimeout(() => reset(socket), 50);
    });
    socket.on("close", () => clearTimeout(timer));
  };
}

if (mode === "servers") {
  const ports = {
    head: await listen(when((b) => headEnd(b) >= 0, (s) => reset(s))),
    requestBody: await listen(when((b) => headEnd(b) >= 0 && b.length - headEnd(b) - 4 >= 64 * 1024, (s) => reset(s))),
    responseBody: await listen(when((b) => headEnd(b) >= 0, (s) => {
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${1024 * 1024}\r\n\r\n`);
      s.write(Buffer.alloc(16 * 1024, 0x61));
      setTimeout(() => reset(s), 50);
    })),
    resp: await listen(quiet()),
    respPartial: await listen((socket) => {
      let sent = 0;
      quiet((text) => {
        const pings = text.split("PING").length - 1;
        const n = Math.min(pings, 10) - sent;
        sent += Math.max(0, n);
        return n > 0 ? "+PONG\r\n".repeat(n) : "";
      })(socket);
    }),
  };
  process.stdout.write(`${JSON.stringify(ports)}\n`);
  process.stdin.on("end", () => process.exit(0));
  process.stdin.resume();
  setTimeout(() => process.exit(0), 120_000).unref();
} else if (mode === "clients") {
  const [httpPort, respPort, rounds] = process.argv.slice(3).map(Number);
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  /** Connects, writes `parts` (waiting `gapMs` between them), then resets. */
  const session = (port, parts, gapMs = 20) =>
    new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1", async () => {
        for (const p of parts) {
          socket.write(p);
          await sleep(gapMs);
        }
        reset(socket);
        resolve();
      });
      socket.on("error", () => resolve());
      socket.on("data", () => {});
    });
  let resets = 0;
  for (let i = 0; i < rounds; i++) {
    await Promise.all([
      session(httpPort, ["GET /reset HTTP/1.1\r\nHost: x\r\nX-Half: "]),
      session(httpPort, [`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${1024 * 1024}\r\n\r\n`, Buffer.alloc(64 * 1024, 0x62)]),
      session(httpPort, ["GET /big HTTP/1.1\r\nHost: x\r\n\r\n"], 50),
      session(respPort, ["*3\r\n$3\r\nSET\r\n$1"]),
      session(respPort, [`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${1024 * 1024}\r\n`, Buffer.alloc(64 * 1024, 0x63)]),
    ]);
    resets += 5;
  }
  process.stdout.write(`${JSON.stringify({ resets })}\n`);
  process.exit(0);
} else if (mode === "flash") {
  const [port, n] = process.argv.slice(3).map(Number);
  let resets = 0;
  const one = () =>
    new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        reset(socket);
        resets++;
        resolve();
      });
      socket.on("error", () => resolve());
    });
  for (let i = 0; i < n; i += 50) await Promise.all(Array.from({ length: Math.min(50, n - i) }, one));
  process.stdout.write(`${JSON.stringify({ resets })}\n`);
  process.exit(0);
} else {
  process.stderr.write("usage: _reset_peer.mjs servers | flash <port> <n> | clients <http port> <resp port> <rounds>\n");
  process.exit(2);
}
