/** handshake(): exact reads, delimited reads with limits, a PROXY v1 header, and the leftover for the next stage. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { FrameError, framed, handshake, lines, memoryPipe, NetError } from "../../mod.ts";
import { settle, writeText } from "../_helpers.ts";

const test = suite("transport: handshake");

/** Parses a PROXY protocol v1 header line (without its CRLF). */
function parseProxyV1(line: string): { family: string; source: string; sourcePort: number; dest: string; destPort: number } {
  const parts = line.split(" ");
  if (parts[0] !== "PROXY" || parts.length !== 6 || !["TCP4", "TCP6"].includes(parts[1]!)) throw new Error(`not a PROXY v1 header: ${line}`);
  return { family: parts[1]!, source: parts[2]!, dest: parts[3]!, sourcePort: Number(parts[4]), destPort: Number(parts[5]) };
}

test("a PROXY v1 header, then lines, with the bytes behind the header kept", async () => {
  const [a, b] = memoryPipe();
  // The header and the first request arrive in one chunk.
  await writeText(a.writable, "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\nGET /\r\nHost: example\r\n", true);
  const hs = handshake(b);
  // The PROXY v1 spec bounds the line at 107 bytes including CRLF.
  const header = new TextDecoder().decode(await hs.readUntil("\r\n", { maxBytes: 105 }));
  assert.equal(parseProxyV1(header), { family: "TCP4", source: "192.0.2.1", sourcePort: 56324, dest: "198.51.100.7", destPort: 443 });
  const { conn, leftover } = hs.release();
  const got: string[] = [];
  for await (const line of framed(conn, lines(), { leftover }).readable) got.push(line);
  assert.equal(got, ["GET /", "Host: example"]);
});

test("readExactly across chunks, and the end of the stream before it is unexpected-eof", async () => {
  const [a, b] = memoryPipe();
  const w = a.writable.getWriter();
  const hs = handshake(b);
  const reading = hs.readExactly(5);
  await w.write(Uint8Array.of(1, 2));
  await w.write(Uint8Array.of(3, 4, 5, 6));
  assert.equal(Array.from(await reading), [1, 2, 3, 4, 5]);
  await w.close();
  const r = await settle(hs.readExactly(2));
  assert.instance((r as { error: unknown }).error, FrameError);
  assert.is((r as { error: FrameError }).error.code, "unexpected-eof");
  assert.equal(Array.from(hs.release().leftover), [6]);
});

test("readUntil and readLine enforce their limits as bytes arrive", async () => {
  const [a, b] = memoryPipe();
  const w = a.writable.getWriter();
  const hs = handshake(b);
  const reading = hs.readLine(10);
  await w.write(new TextEncoder().encode("x".repeat(64)));
  const r = await settle(reading);
  assert.is((r as { error: FrameError }).error.code, "frame-too-large");
  assert.ok(String((r as { error: Error }).error.message).includes("maxBytes"));
  await a.close();
  await b.close();
});

test("write() and release(): the conn's streams are free again", async () => {
  const [a, b] = memoryPipe();
  const hs = handshake(b);
  await hs.write("HELLO\r\n");
  const { conn, leftover } = hs.release();
  assert.is(leftover.byteLength, 0);
  assert.not.ok(conn.readable.locked);
  assert.not.ok(conn.writable.locked);
  await writeText(conn.writable, "after\n", true);
  assert.is(await new Response(a.readable).text(), "HELLO\r\nafter\n");
  const again = await settle(hs.readLine());
  assert.instance((again as { error: unknown }).error, NetError);
  await a.close();
});

test.run();
