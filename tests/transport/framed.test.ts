/** framed(): frames both ways, batches, coalesced writes, parts() for a codec switch, errors, backpressure. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { bytes, type Conn, FrameError, framed, lines, memoryPipe, NetError } from "../../mod.ts";
import { loadAdapter } from "../_runtime.ts";
import { readText, settle, stillPending, writeText } from "../_helpers.ts";

const net = await loadAdapter();
const enc = new TextEncoder();
const test = suite("transport: framed");

/** Connected pairs: in memory, and over this runtime's TCP. */
async function pairs(): Promise<[string, () => Promise<[Conn, Conn]>, () => Promise<void>][]> {
  const listener = await net.listen({ hostname: "127.0.0.1", port: 0 });
  return [
    ["memoryPipe", async () => memoryPipe(), async () => {}],
    [`${net.name} tcp`, async () => {
      const [c, s] = await Promise.all([net.connect({ hostname: "127.0.0.1", port: listener.addr.port! }), listener.accept()]);
      return [c, s!];
    }, () => listener.close()],
  ];
}

test("lines both ways, one frame per read and in batches", async () => {
  for (const [name, pair, done] of await pairs()) {
    const [a, b] = await pair();
    const client = framed(a, lines());
    const server = framed(b, lines());
    const writer = client.writable.getWriter();
    for (let i = 0; i < 100; i++) writer.write(`line ${i}`).catch(() => {});
    await writer.close();
    const got: string[] = [];
    for await (const batch of server.batches) got.push(...batch);
    assert.is(got.length, 100, name);
    assert.is(got[99], "line 99");
    const w2 = server.writable.getWriter();
    await w2.write("bye");
    await w2.close();
    const reader = client.readable.getReader();
    assert.equal(await reader.read(), { done: false, value: "bye" });
    assert.equal(await reader.read(), { done: true, value: undefined });
    await client.conn.closed;
    await server.conn.closed;
    await done();
  }
});

test("a burst of 1,000 frames leaves in a handful of socket writes", async () => {
  for (const [name, pair, done] of await pairs()) {
    const [a, b] = await pair();
    const client = framed(a, lines());
    const writer = client.writable.getWriter();
    const writes = [];
    for (let i = 0; i < 1000; i++) writes.push(writer.write(`frame number ${i}`));
    await Promise.all(writes);
    await writer.close();
    const text = await readText(b.readable);
    assert.is(text.split("\n").length - 1, 1000, name);
    assert.ok(text.startsWith("frame number 0\nframe number 1\n"), name);
    assert.ok(client.writes <= 5, `${name}: ${client.writes} writes`);
    await b.close();
    await done();
  }
});

test("parts(): the bytes after the switch frame come back as leftover, and a new codec takes them", async () => {
  for (const [name, pair, done] of await pairs()) {
    const [a, b] = await pair();
    // One write: the switch command and the first raw bytes arrive together.
    await writeText(a.writable, "HELLO\nSWITCH\n\x00\x01raw bytes", true);
    const server = framed(b, lines());
    const reader = server.readable.getReader();
    assert.is((await reader.read()).value, "HELLO");
    assert.is((await reader.read()).value, "SWITCH");
    reader.releaseLock();
    const { conn, leftover } = await server.parts();
    const raw = framed(conn, bytes(), { leftover });
    const chunks: Uint8Array[] = [];
    for await (const chunk of raw.readable) chunks.push(chunk);
    const all = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.byteLength;
    }
    assert.is(new TextDecoder().decode(all), "\x00\x01raw bytes", name);
    const after = await settle(server.readable.getReader().read());
    assert.is((after as { error: NetError }).error.code, "closed", name);
    await raw.close();
    await a.close();
    await done();
  }
});

test("parts() waits for frames written before it, and refuses while a reader is held", async () => {
  const [a, b] = memoryPipe();
  const f = framed(a, lines());
  const writer = f.writable.getWriter();
  writer.write("before the switch").catch(() => {});
  let threw: unknown;
  try {
    await f.parts();
  } catch (e) {
    threw = e;
  }
  assert.instance(threw, TypeError);
  writer.releaseLock();
  const { conn } = await f.parts();
  await writeText(conn.writable, "raw", true);
  assert.is(await readText(b.readable), "before the switch\nraw");
  const again = await settle(f.parts());
  assert.instance((again as { error: unknown }).error, NetError);
  await b.close();
});

test("a corrupt stream errors the frames with a FrameError; the connection stays usable", async () => {
  const [a, b] = memoryPipe();
  await writeText(a.writable, "ok\n" + "x".repeat(100) + "\n");
  const f = framed(b, lines({ maxFrameBytes: 10 }));
  const reader = f.readable.getReader();
  assert.is((await reader.read()).value, "ok");
  const r = await settle(reader.read());
  assert.instance((r as { error: unknown }).error, FrameError);
  assert.is((r as { error: FrameError }).error.code, "frame-too-large");
  await writeText(b.writable, "ERR too long\n", true);
  assert.is(await readText(a.readable), "ERR too long\n");
  await a.close();
});

test("the stream ending mid-frame is unexpected-eof, after the frames before it", async () => {
  const [a, b] = memoryPipe();
  await writeText(a.writable, "whole\n", true);
  const f = framed(b, { decode: (src) => (src.length >= 4 ? src.take(4) : undefined), encode() {} });
  const reader = f.readable.getReader();
  assert.is(new TextDecoder().decode((await reader.read()).value), "whol");
  const r = await settle(reader.read());
  assert.is((r as { error: FrameError }).error.code, "unexpected-eof");
  await b.close();
});

test("writes wait once maxBufferedWriteBytes are held for a peer that does not read", async () => {
  const [a, b] = memoryPipe({ capacityBytes: 4096, readableHighWaterMark: 4096, writableHighWaterMark: 4096 });
  const f = framed(a, lines(), { maxBufferedWriteBytes: 16 * 1024 });
  const writer = f.writable.getWriter();
  const line = "y".repeat(1000);
  let sent = 0;
  while (!(await stillPending(writer.ready, 20))) {
    writer.write(line).catch(() => {});
    sent++;
    assert.ok(sent < 1000, "ready never waited");
  }
  assert.ok(writer.desiredSize! <= 0);
  // pipe + read-ahead + the socket writable + the frame buffers, each bounded
  assert.ok(sent * 1001 <= 4096 * 3 + 16 * 1024 * 2 + 2 * 1001, `sent ${sent} lines`);
  const reading = readText(b.readable);
  await writer.close();
  assert.is((await reading).length, sent * 1001);
});

test("readable and batches share one decoder: reading both is a TypeError", async () => {
  const [a, b] = memoryPipe();
  await writeText(a.writable, "one\ntwo\n", true);
  const f = framed(b, lines());
  assert.equal(await f.readable.getReader().read(), { done: false, value: "one" });
  const r = await settle(f.batches.getReader().read());
  assert.instance((r as { error: unknown }).error, TypeError);
  await b.close();
});

test("bad arguments throw at the call", () => {
  const [a] = memoryPipe();
  assert.throws(() => framed({} as Conn, lines()), TypeError);
  assert.throws(() => framed(a, {} as never), TypeError);
  assert.throws(() => framed(a, lines(), { maxBufferedWriteBytes: 0 }), RangeError);
  assert.throws(() => framed(a, lines(), { leftover: "x" as unknown as Uint8Array }), TypeError);
  void enc;
});

test.run();
