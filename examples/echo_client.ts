/**
 * An echo client: sends each line, half-closes, and prints what came back.
 *
 *   node --import tsx examples/echo_client.ts [port] [words...]
 */
import { type Adapter, formatAddr } from "../mod.ts";
import { net } from "./_net.ts";

/** Sends `lines` to an echo server at `port` and returns the reply. */
export async function askEcho(adapter: Adapter, port: number, lines: string[], log: (line: string) => void): Promise<string> {
  const conn = await adapter.connect({ hostname: "127.0.0.1", port });
  log(`client: connected ${formatAddr(conn.localAddr)} -> ${formatAddr(conn.remoteAddr)}`);
  const writer = conn.writable.getWriter();
  const encoder = new TextEncoder();
  for (const line of lines) {
    log(`client: send ${JSON.stringify(line)}`);
    await writer.write(encoder.encode(line + "\n"));
  }
  await writer.close(); // half-close: the server sees the end, the reply still arrives
  log("client: sent FIN, reading the reply");
  const reply = await new Response(conn.readable).text();
  for (const line of reply.trimEnd().split("\n")) log(`client: got  ${JSON.stringify(line)}`);
  await conn.closed;
  log("client: closed");
  return reply;
}

if ((import.meta as { main?: boolean }).main ?? process.argv[1]?.endsWith("echo_client.ts")) {
  const [port = "7007", ...words] = process.argv.slice(2);
  await askEcho(net, Number(port), words.length ? words : ["hello", "weft"], console.log);
}
