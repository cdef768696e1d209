// A TCP server built on node:net that resets each connection (RST, through
// SO_LINGER 0) as soon as the client's first bytes arrive: a peer that weft
// did not write, for checking how every runtime reports a reset. Prints its
// port on stdout; exits when stdin closes or after 120 s.
import * as net from "node:net";

const server = net.createServer((socket) => {
  socket.on("error", () => {});
  socket.once("data", () => socket.resetAndDestroy());
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`${server.address().port}\n`));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
setTimeout(() => process.exit(0), 120_000).unref();
