// A TCP server built on node:net that half-closes first: on a connection's
// first bytes it answers "bye\n" and sends its FIN, then keeps reading and
// counts what arrives until the client's own FIN. A connection that opens
// with "?\n" is told the count of the last such connection instead. A peer
// that weft did not write, for checking that writing after the peer's FIN
// is not taken for a reset. Prints its port on stdout; exits when stdin
// closes or after 120 s.
import * as net from "node:net";

let last = -1;
const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  socket.on("error", () => {});
  let count = 0;
  let first = true;
  socket.on("data", (chunk) => {
    if (first) {
      first = false;
      if (chunk.toString() === "?\n") {
        socket.end(`${last}\n`);
        return;
      }
      socket.end("bye\n");
    }
    count += chunk.length;
  });
  socket.on("end", () => {
    if (count > 0 && !socket.destroyed) last = count;
    socket.destroy();
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`${server.address().port}\n`));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
setTimeout(() => process.exit(0), 120_000).unref();
