// A TCP server built on node:net that greets each connection at once with
// 256 KiB (byte i is i % 251), then ends its side: a peer that weft did not
// write, whose bytes arrive before the client has asked for any. Prints its
// port on stdout; exits when stdin closes or after 120 s.
import * as net from "node:net";

const greeting = Buffer.alloc(256 * 1024);
for (let i = 0; i < greeting.length; i++) greeting[i] = i % 251;

const server = net.createServer((socket) => {
  socket.on("error", () => {});
  socket.end(greeting);
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`${server.address().port}\n`));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
setTimeout(() => process.exit(0), 120_000).unref();
