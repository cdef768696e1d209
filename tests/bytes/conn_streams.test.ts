/**
 * The stream contract of a Conn's readable and writable, beyond the
 * conformance suite: the fast default reader and writer behave as the
 * platform's do (locking, release, cancel, async iteration, ready and
 * desiredSize), and they mix with pipeTo, tee and Response.
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { memoryPipe, NetError } from "../../mod.ts";
import { readText, settle, stillPending, writeText } from "../_helpers.ts";

const test = suite("bytes: Conn streams");
const enc = new TextEncoder();

test("the default reader and writer are the platform's classes", async () => {
  const [a, b] = memoryPipe();
  const reader = b.readable.getReader();
  const writer = a.writable.getWriter();
  assert.instance(reader, ReadableStreamDefaultReader);
  assert.instance(writer, WritableStreamDefaultWriter);
  assert.ok(b.readable.locked);
  assert.ok(a.writable.locked);
  assert.throws(() => b.readable.getReader(), TypeError);
  assert.throws(() => a.writable.getWriter(), TypeError);
  reader.releaseLock();
  writer.releaseLock();
  assert.not.ok(b.readable.locked);
  assert.not.ok(a.writable.locked);
  await a.close();
  await b.close();
});

test("releaseLock() rejects a pending read with TypeError, and the next reader gets the bytes", async () => {
  const [a, b] = memoryPipe();
  const reader = b.readable.getReader();
  const pending = reader.read();
  reader.releaseLock();
  const r = await settle(pending);
  assert.not.ok(r.ok);
  assert.instance((r as { error: unknown }).error, TypeError);
  await writeText(a.writable, "after", true);
  assert.is(await readText(b.readable), "after");
  await b.close();
});

test("reader.closed resolves at the end; reads after it are done", async () => {
  const [a, b] = memoryPipe();
  const reader = b.readable.getReader();
  await writeText(a.writable, "x", true);
  assert.equal(await reader.read(), { done: false, value: enc.encode("x") });
  await reader.closed;
  assert.equal(await reader.read(), { done: true, value: undefined });
  await b.close();
});

test("reader.cancel() resolves a pending read with done and leaves writing open", async () => {
  const [a, b] = memoryPipe();
  const reader = b.readable.getReader();
  const pending = reader.read();
  await reader.cancel();
  assert.equal(await pending, { done: true, value: undefined });
  await writeText(b.writable, "reply", true);
  assert.is(await readText(a.readable), "reply");
  await a.close();
});

test("for await: break cancels the readable; preventCancel keeps it", async () => {
  const [a, b] = memoryPipe();
  const writer = a.writable.getWriter();
  await writer.write(enc.encode("one"));
  for await (const chunk of b.readable.values({ preventCancel: true })) {
    assert.equal(chunk, enc.encode("one"));
    break;
  }
  assert.not.ok(b.readable.locked);
  await writer.write(enc.encode("two"));
  for await (const chunk of b.readable) {
    assert.equal(chunk, enc.encode("two"));
    break;
  }
  // Cancelled: more bytes are read and dropped, and a reader sees the end.
  await writer.write(enc.encode("three"));
  assert.equal(await b.readable.getReader().read(), { done: true, value: undefined });
  await a.close();
  await b.close();
});

test("errors reach a pending read, reader.closed and later reads", async () => {
  const [a, b] = memoryPipe();
  const reader = b.readable.getReader();
  const pending = reader.read();
  await a.close(new Error("boom"));
  const r = await settle(pending);
  assert.not.ok(r.ok);
  const error = (r as { error: NetError }).error;
  assert.instance(error, NetError);
  assert.is(error.code, "connection-reset");
  assert.is((await settle(reader.closed) as { error: unknown }).error, error);
  assert.is((await settle(reader.read()) as { error: unknown }).error, error);
});

test("bytes queued before a reset are still delivered, then the error", async () => {
  const [a, b] = memoryPipe();
  await writeText(a.writable, "queued");
  await a.close(new Error("boom"));
  const reader = b.readable.getReader();
  const first = await reader.read();
  assert.equal(first, { done: false, value: enc.encode("queued") });
  const second = await settle(reader.read());
  assert.not.ok(second.ok);
});

test("writer.ready and desiredSize follow a peer that does not read", async () => {
  const [a, b] = memoryPipe({ capacityBytes: 1024, writableHighWaterMark: 4096, readableHighWaterMark: 1024 });
  const writer = a.writable.getWriter();
  assert.is(writer.desiredSize, 4096);
  let accepted = 0;
  while (!(await stillPending(writer.ready, 20))) {
    writer.write(new Uint8Array(512)).catch(() => {});
    accepted += 512;
    assert.ok(accepted < 1 << 20, "ready never waited");
  }
  assert.ok(writer.desiredSize! <= 0, `desiredSize ${writer.desiredSize}`);
  // pipe + read-ahead + the writer's own high-water mark
  assert.ok(accepted <= 1024 + 1024 + 4096 + 512 * 2, `accepted ${accepted}`);
  const reading = readText(b.readable);
  await writer.ready;
  await writer.close();
  assert.is((await reading).length, accepted);
});

test("writes are refused after writer.close(), with TypeError", async () => {
  const [a, b] = memoryPipe();
  const writer = a.writable.getWriter();
  await writer.close();
  const r = await settle(writer.write(enc.encode("late")));
  assert.not.ok(r.ok);
  assert.instance((r as { error: unknown }).error, TypeError);
  assert.is(await readText(b.readable), "");
  await b.close();
});

test("writer.closed resolves after close(); writer.abort() errors the readable too", async () => {
  const [a, b] = memoryPipe();
  const writer = a.writable.getWriter();
  const closing = writer.close();
  await closing;
  await writer.closed;
  const [c, d] = memoryPipe();
  const w2 = c.writable.getWriter();
  const reason = new Error("abort");
  await w2.abort(reason);
  assert.is((await settle(w2.closed) as { error: unknown }).error, reason);
  await a.close();
  await b.close();
  await d.close();
});

test("a released writer's queued chunks go out before a later writer's", async () => {
  const [a, b] = memoryPipe({ capacityBytes: 16 });
  const w1 = a.writable.getWriter();
  const first = [w1.write(enc.encode("aaaaaaaaaaaaaaaaaaaaaaaa")), w1.write(enc.encode("bbbb"))];
  w1.releaseLock();
  const w2 = a.writable.getWriter();
  const reading = readText(b.readable);
  await w2.write(enc.encode("cccc"));
  await Promise.all(first);
  await w2.close();
  assert.is(await reading, "aaaaaaaaaaaaaaaaaaaaaaaabbbbcccc");
});

test("pipeTo, pipeThrough, tee and Response work on a Conn", async () => {
  const [a, b] = memoryPipe();
  const source = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(enc.encode("hello "));
      c.enqueue(enc.encode("world"));
      c.close();
    },
  });
  const piping = source.pipeTo(a.writable);
  const upper = b.readable.pipeThrough(new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>).pipeThrough(
    new TransformStream<string, string>({ transform: (s, c) => c.enqueue(s.toUpperCase()) }),
  );
  const [x, y] = upper.tee();
  const [one, two] = await Promise.all([new Response(x.pipeThrough(new TextEncoderStream())).text(), new Response(y.pipeThrough(new TextEncoderStream())).text()]);
  await piping;
  assert.is(one, "HELLO WORLD");
  assert.is(two, "HELLO WORLD");
  await b.close();
});

test("a BYOB reader fills the caller's buffer, across and within chunks", async () => {
  const [a, b] = memoryPipe();
  const writer = a.writable.getWriter();
  await writer.write(enc.encode("abc"));
  await writer.write(enc.encode("defgh"));
  const reader = b.readable.getReader({ mode: "byob" });
  let r = await reader.read(new Uint8Array(6));
  assert.is(new TextDecoder().decode(r.value), "abcdef"); // two queued chunks, one read
  r = await reader.read(new Uint8Array(6));
  assert.is(new TextDecoder().decode(r.value), "gh"); // the rest of a chunk
  const waiting = reader.read(new Uint8Array(2));
  await writer.write(enc.encode("xyz")); // arrives while the read waits: "xy" now, "z" kept
  assert.is(new TextDecoder().decode((await waiting).value), "xy");
  reader.releaseLock();
  const plain = b.readable.getReader();
  assert.equal(await plain.read(), { done: false, value: enc.encode("z") });
  plain.releaseLock();
  const last = b.readable.getReader({ mode: "byob" });
  const ending = last.read(new Uint8Array(4));
  await writer.close();
  const end = await ending;
  assert.is(end.done, true);
  await a.close();
  await b.close();
});

test("borrowed chunks are copied where they are kept", async () => {
  const { SocketConn } = await import("../../mod.ts");
  let events!: { data(chunk: Uint8Array, borrowed?: boolean): void; end(): void };
  const conn = new SocketConn({
    localAddr: { transport: "memory" },
    remoteAddr: { transport: "memory" },
    open(e) {
      events = e;
    },
    pause() {},
    resume() {},
    write() {},
    shutdown() {},
    destroy() {},
  });
  const scratch = new Uint8Array(8);
  const deliver = (text: string) => {
    scratch.set(enc.encode(text));
    events.data(scratch.subarray(0, text.length), true);
    scratch.fill(0); // the adapter reuses its buffer at once
  };
  const reader = conn.readable.getReader();
  const waiting = reader.read();
  deliver("one"); // straight to a waiting read
  deliver("two"); // into the queue
  assert.equal(await waiting, { done: false, value: enc.encode("one") });
  assert.equal(await reader.read(), { done: false, value: enc.encode("two") });
  reader.releaseLock();
  const byob = conn.readable.getReader({ mode: "byob" });
  const into = byob.read(new Uint8Array(8));
  deliver("three"); // straight into a waiting BYOB buffer
  assert.is(new TextDecoder().decode((await into).value), "three");
  byob.releaseLock();
  deliver("four");
  events.end();
  // The platform's path (pipeTo): the stream transfers what it enqueues, so it gets copies.
  const got: Uint8Array[] = [];
  await conn.readable.pipeTo(new WritableStream({ write: (c) => void got.push(c) }));
  assert.equal(got, [enc.encode("four")]);
  await conn.close();
});

test.run();
