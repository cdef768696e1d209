// A STARTTLS server built only on node:net and node:tls, as a peer that weft
// did not write: it greets, waits for STARTTLS, answers "go ahead", upgrades
// the socket to TLS with the test certificate and echoes until the client's
// FIN. Prints its port on stdout; exits when stdin closes or after 120 s.
import { readFileSync } from "node:fs";
import * as net from "node:net";
import * as tls from "node:tls";

const fixtures = new URL("../fixtures/tls/", import.meta.url);
const cert = readFileSync(new URL("cert.pem", fixtures));
const key = readFileSync(new URL("key.pem", fixtures));

const server = net.createServer((socket) => {
  socket.on("error", () => {});
  socket.write("hello\n");
  let got = "";
  const onData = (chunk) => {
    got += chunk.toString("latin1");
    if (!got.includes("STARTTLS\n")) return;
    socket.off("data", onData);
    socket.pause();
    socket.write("go ahead\n", () => {
      const secure = new tls.TLSSocket(socket, { isServer: true, cert, key });
      secure.on("error", () => {});
      secure.pipe(secure);
    });
  };
  socket.on("data", onData);
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`${server.address().port}\n`));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
setTimeout(() => process.exit(0), 120_000).unref();
