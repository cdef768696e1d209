/**
 * STARTTLS in a line protocol, on weft's layers: a plain-text greeting, the
 * client asks for TLS, the server says go ahead, both sides upgrade the same
 * connection with the adapter's `startTls`, and framing goes on over TLS. The
 * bytes read past the go-ahead (a ClientHello that came in the same chunk)
 * travel from `parts()` to `startTls` as `leftover`: none is lost, none read twice.
 *
 *   node --import tsx examples/starttls_lines.ts          (or deno run -A / bun: client and server in one process)
 *   node --import tsx examples/starttls_lines.ts --serve  (a server only; prints its port)
 *   deno run -A examples/starttls_lines.ts --port=N      (a client only, against that server)
 *
 * The server side needs an adapter that can upgrade as a server: Node or Bun.
 */
import { readFileSync } from "node:fs";
import { type Adapter, type Conn, framed, type Framed, lines, type Listener } from "../mod.ts";

const fixtures = new URL("../tests/fixtures/tls/", import.meta.url);
/** The test CA and the certificate for 127.0.0.1 it signed (tests/fixtures/tls/). */
export const tlsFiles = {
  ca: readFileSync(new URL("ca.pem", fixtures), "utf8"),
  cert: readFileSync(new URL("cert.pem", fixtures), "utf8"),
  key: readFileSync(new URL("key.pem", fixtures), "utf8"),
};

async function next(frames: Framed<string>): Promise<string> {
  const reader = frames.readable.getReader();
  try {
    const { value, done } = await reader.read();
    if (done) throw new Error("the peer closed the connection");
    return value;
  } finally {
    reader.releaseLock();
  }
}

async function send(frames: Framed<string>, ...lines: string[]): Promise<void> {
  const writer = frames.writable.getWriter();
  try {
    for (const line of lines) await writer.write(line);
  } finally {
    writer.releaseLock();
  }
}

/** Serves one connection: greet, upgrade on STARTTLS, then echo lines over TLS until QUIT. */
export async function serveOne(net: Adapter, conn: Conn): Promise<number> {
  let frames = framed(conn, lines());
  await send(frames, "220 weft ready");
  if ((await next(frames)) !== "STARTTLS") {
    await send(frames, "530 TLS first");
    await frames.close();
    return 0;
  }
  await send(frames, "220 go ahead");
  // Whatever the client sent after STARTTLS (its ClientHello) may already be
  // in the framer's buffer: it goes to TLS first.
  const { conn: plain, leftover } = await frames.parts();
  const secure = await net.startTls(plain, { role: "server", cert: tlsFiles.cert, key: tlsFiles.key, leftover });
  frames = framed(secure, lines());
  let echoed = 0;
  const reader = frames.readable.getReader();
  const writer = frames.writable.getWriter();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    if (value === "QUIT") {
      await writer.write("221 bye");
      break;
    }
    await writer.write(`echo ${value}`);
    echoed++;
  }
  await writer.close();
  return echoed;
}

/** The client: read the greeting, ask for TLS, upgrade, send `count` lines and check every echo. */
export async function client(net: Adapter, port: number, count: number): Promise<string[]> {
  const conn = await net.connect({ hostname: "127.0.0.1", port });
  let frames = framed(conn, lines());
  const greeting = await next(frames);
  await send(frames, "STARTTLS");
  const reply = await next(frames);
  if (!reply.startsWith("220")) throw new Error(`no TLS: ${reply}`);
  const { conn: plain, leftover } = await frames.parts();
  const secure = await net.startTls(plain, { hostname: "127.0.0.1", caCerts: [tlsFiles.ca], leftover });
  frames = framed(secure, lines());
  const writer = frames.writable.getWriter();
  const sending = (async () => {
    for (let i = 0; i < count; i++) await writer.write(`line ${i}`);
    await writer.write("QUIT");
  })();
  const got = [greeting, reply];
  let i = 0;
  for await (const line of frames.readable) {
    const want = i < count ? `echo line ${i}` : "221 bye";
    if (line !== want) throw new Error(`expected ${JSON.stringify(want)}, got ${JSON.stringify(line)}`);
    got.push(line);
    if (++i > count) break;
  }
  await sending;
  await frames.close();
  return got;
}

/** Accepts connections on `listener` and serves each until the listener closes. */
export async function serve(net: Adapter, listener: Listener): Promise<void> {
  for await (const conn of listener) serveOne(net, conn).catch(() => conn.close());
}

if ((import.meta as { main?: boolean }).main ?? process.argv[1]?.endsWith("starttls_lines.ts")) {
  const { net, runtime } = await import("./_net.ts");
  const port = Number(process.argv.find((a) => a.startsWith("--port="))?.slice(7) ?? 0);
  if (port > 0) {
    // A client only, against a server started with --serve (on Node or Bun).
    for (const line of await client(net, port, 3)) console.log(`client got: ${line}`);
    process.exit(0);
  }
  if (runtime === "deno") {
    console.log("Deno has no server side of STARTTLS: start the server with `node --import tsx examples/starttls_lines.ts --serve`,");
    console.log("then run the client here with `deno run -A examples/starttls_lines.ts --port=<its port>`.");
    process.exit(0);
  }
  const listener = await net.listen({ hostname: "127.0.0.1", port: 0 });
  if (process.argv.includes("--serve")) {
    console.log(listener.addr.port);
    process.stdin.on("end", () => process.exit(0));
    process.stdin.resume();
    await serve(net, listener);
  } else {
    const serving = serve(net, listener);
    const got = await client(net, listener.addr.port!, 3);
    for (const line of got) console.log(`client got: ${line}`);
    console.log(`STARTTLS on ${runtime}: ${got.length} lines, the last ${got.length - 2} over TLS`);
    await listener.close();
    await serving;
  }
}
