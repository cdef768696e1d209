/** DecoderStream and BatchDecoderStream: errors after the frames before them, backpressure, cancel, pipes, readers. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { BatchDecoderStream, DecoderStream, FrameError, lines } from "../../mod.ts";
import { stillPending, streamOf } from "../_helpers.ts";

const test = suite("codec: DecoderStream");
const enc = new TextEncoder();

test("frames before a corrupt one in the same chunk are read, then the error; the writer sees it too", async () => {
  for (const batches of [false, true]) {
    const ds = batches ? new BatchDecoderStream(lines()) : new DecoderStream(lines());
    const writer = ds.writable.getWriter();
    const written = writer.write(Uint8Array.of(...enc.encode("one\ntwo\n"), 0xff, 0x0a));
    const got: unknown[] = [];
    let error: unknown;
    try {
      for await (const f of ds.readable as ReadableStream<unknown>) got.push(f);
    } catch (e) {
      error = e;
    }
    assert.equal(got, batches ? [["one", "two"]] : ["one", "two"]);
    assert.is((error as FrameError).code, "invalid-utf8");
    const writeError = await written.then(() => undefined, (e: unknown) => e);
    assert.is(writeError, error, "the write that carried the corrupt frame fails with the same error");
  }
});

test("a reader that stops reading stops the writer: at most the high-water mark of frames and a chunk are held", async () => {
  const ds = new DecoderStream(lines(), { readableHighWaterMark: 4 });
  const writer = ds.writable.getWriter();
  const chunk = enc.encode("x\n".repeat(10));
  const first = writer.write(chunk); // decoded: 10 frames queued, over the mark
  const second = writer.write(chunk);
  assert.ok(await stillPending(first, 20), "the write waits while its frames are unread");
  assert.ok(await stillPending(second, 1));
  const reader = ds.readable.getReader();
  for (let i = 0; i < 6; i++) assert.is((await reader.read()).value, "x");
  assert.ok(await stillPending(first, 5), "4 frames held: the mark is reached");
  await reader.read();
  await first;
  assert.ok(await stillPending(second, 5), "the second chunk's 10 frames are held now");
  for (let i = 0; i < 10; i++) await reader.read();
  await second;
  await writer.close();
  let n = 0;
  while (!(await reader.read()).done) n++;
  assert.is(n, 3);
});

test("cancelling the readable errors the writable side with the reason; a waiting write is let go", async () => {
  const ds = new DecoderStream(lines(), { readableHighWaterMark: 1 });
  const writer = ds.writable.getWriter();
  void writer.write(enc.encode("a\nb\n")).catch(() => {});
  const waiting = writer.write(enc.encode("c\n"));
  const reason = new Error("gone");
  await ds.readable.cancel(reason);
  const e = await waiting.then(() => undefined, (err: unknown) => err);
  assert.is(e, reason);
  assert.is(await writer.closed.then(() => undefined, (err: unknown) => err), reason);
});

test("pipes, tee and Response bodies take the platform's path and see the same frames", async () => {
  const input = () => streamOf([enc.encode("a\nb"), enc.encode("c\nd\n")]);
  const [left, right] = input().pipeThrough(new DecoderStream(lines())).tee();
  const collect = async (s: ReadableStream<string>) => {
    const got: string[] = [];
    await s.pipeTo(new WritableStream({ write: (f) => void got.push(f) }));
    return got;
  };
  assert.equal(await Promise.all([collect(left), collect(right)]), [["a", "bc", "d"], ["a", "bc", "d"]]);
  const bytes = input().pipeThrough(new DecoderStream(lines())).pipeThrough(
    new TransformStream<string, Uint8Array>({ transform: (s, c) => c.enqueue(enc.encode(s.toUpperCase())) }),
  );
  assert.is(await new Response(bytes).text(), "ABCD");
});

test("a read pending when the reader is released rejects with a TypeError; a new reader goes on", async () => {
  const ds = new DecoderStream(lines());
  const reader = ds.readable.getReader();
  const pending = reader.read();
  reader.releaseLock();
  assert.instance(await pending.then(() => undefined, (e: unknown) => e), TypeError);
  const writer = ds.writable.getWriter();
  void writer.write(enc.encode("z\n"));
  assert.is((await ds.readable.getReader().read()).value, "z");
});

test("readableHighWaterMark must be a positive integer", () => {
  for (const bad of [0, -1, 1.5, NaN]) assert.throws(() => new DecoderStream(lines(), { readableHighWaterMark: bad }), RangeError);
  assert.instance(new DecoderStream(lines()), TransformStream);
  assert.instance(new BatchDecoderStream(lines()).readable, ReadableStream);
});

test.run();
