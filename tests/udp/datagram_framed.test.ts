/**
 * datagramFramed(): one frame per datagram, each decoded on its own; bad
 * datagrams counted and dropped, never fatal; encoding one datagram per frame.
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import {
  type Codec,
  type Datagram,
  datagramFramed,
  DatagramSocket,
  FrameError,
  jsonLines,
  lines,
  memoryUdp,
  type NetAddr,
  type RawDatagramEvents,
  type RawDatagramSocket,
} from "../../mod.ts";
import { settle, until } from "../_helpers.ts";
import { idCodec, str, text } from "./_id_codec.ts";

const test = suite("udp: datagramFramed");

async function sendRaw(from: { writable: WritableStream<Datagram> }, to: NetAddr, data: Uint8Array): Promise<void> {
  const writer = from.writable.getWriter();
  await writer.write({ data, remoteAddr: to });
  writer.releaseLock();
}

test("frames both ways, each with its peer's address", async () => {
  const [a, b] = memoryUdp();
  const client = datagramFramed(a, () => lines());
  const server = datagramFramed(b, () => lines());
  const serving = (async () => {
    const writer = server.writable.getWriter();
    for await (const { frame, remoteAddr } of server.readable) await writer.write({ frame: frame.toUpperCase(), remoteAddr });
  })();
  const writer = client.writable.getWriter();
  const reader = client.readable.getReader();
  for (const word of ["one", "two", "three"]) {
    await writer.write({ frame: word, remoteAddr: b.localAddr });
    const { value } = await reader.read();
    assert.is(value!.frame, word.toUpperCase());
    assert.equal(value!.remoteAddr, b.localAddr);
  }
  assert.is(client.socket, a);
  await server.close();
  await serving;
  await client.close();
});

test("undecodable datagrams — a FrameError, bytes left over, no frame, any error — are counted and dropped, never fatal", async () => {
  const [a, b] = memoryUdp();
  const seen: [unknown, Datagram][] = [];
  const server = datagramFramed(b, () => jsonLines<{ n: number }>(), { onUndecodable: (error, datagram) => seen.push([error, datagram]) });
  const reader = server.readable.getReader();
  const bad = ["{not json}\n", '{"n":1}\n{"n":2}\n', ""];
  await sendRaw(a, b.localAddr, text('{"n":0}'));
  for (const b2 of bad) await sendRaw(a, b.localAddr, text(b2));
  await sendRaw(a, b.localAddr, text('{"n":3}\n'));
  assert.equal((await reader.read()).value!.frame, { n: 0 }, "a last line without its newline is a frame (decodeEof)");
  assert.equal((await reader.read()).value!.frame, { n: 3 });
  assert.is(server.undecodable, 3, "the empty datagram holds no frame either");
  assert.is(seen.length, 3);
  assert.instance(seen[0]![0], FrameError);
  assert.is((seen[0]![0] as FrameError).code, "invalid-json");
  assert.is(str(seen[0]![1].data), bad[0]);
  assert.match((seen[1]![0] as Error).message, "left after the frame");
  await Promise.all([a.close(), b.close()]);

  // A codec that throws something else, and one datagram too short for any frame.
  const [c, d] = memoryUdp();
  const throwing: Codec<number> = {
    decode(src) {
      if (src.byteAt(0) === 0xff) throw new TypeError("a bug in the codec");
      return src.takeAll().length;
    },
    encode() {},
  };
  const f = datagramFramed(d, () => throwing);
  const fr = f.readable.getReader();
  await sendRaw(c, d.localAddr, new Uint8Array([0xff]));
  await sendRaw(c, d.localAddr, new Uint8Array(3));
  assert.is((await fr.read()).value!.frame, 3);
  assert.is(f.undecodable, 1);
  const ids = datagramFramed(c, idCodec);
  const ir = ids.readable.getReader();
  await sendRaw(d, c.localAddr, new Uint8Array(4)); // shorter than the 5-byte header: no frame
  await sendRaw(d, c.localAddr, new Uint8Array([0, 0, 0, 7, 0, 42]));
  const got = (await ir.read()).value!.frame;
  assert.is(got.id, 7);
  assert.equal([...got.payload], [42]);
  assert.is(ids.undecodable, 1);
  await Promise.all([c.close(), d.close()]);
});

test("a fresh codec replaces one an undecodable datagram left in the middle of a frame", async () => {
  const [a, b] = memoryUdp();
  let made = 0;
  const server = datagramFramed(b, () => (made++, lines()));
  const reader = server.readable.getReader();
  await sendRaw(a, b.localAddr, text("one\ntwo\n")); // lines() decodes both lines at once: "two" waits inside it
  await sendRaw(a, b.localAddr, text("three\n"));
  assert.is((await reader.read()).value!.frame, "three", "not the stale \"two\"");
  assert.is(server.undecodable, 1);
  assert.is(made, 3, "one to decode, one to encode, one after the bad datagram");
  await Promise.all([a.close(), b.close()]);
});

test("a frame the codec or the socket refuses rejects that write alone", async () => {
  const [a, b] = memoryUdp({ maxDatagramBytes: 100 });
  const client = datagramFramed(a, () => lines({ maxFrameBytes: 50 }));
  const writer = client.writable.getWriter();
  const tooLong = await settle(writer.write({ frame: "x".repeat(60), remoteAddr: b.localAddr }));
  assert.ok(!tooLong.ok && tooLong.error instanceof RangeError, "the codec refuses it");
  const client2 = datagramFramed(b, () => lines({ maxFrameBytes: 1000 }));
  const w2 = client2.writable.getWriter();
  const tooBig = await settle(w2.write({ frame: "y".repeat(200), remoteAddr: a.localAddr }));
  assert.ok(!tooBig.ok && tooBig.error instanceof RangeError, "the socket refuses a 201-byte datagram");
  const badItem = await settle(writer.write(null as never));
  assert.ok(!badItem.ok && badItem.error instanceof TypeError);
  await writer.write({ frame: "fine", remoteAddr: b.localAddr });
  assert.is((await client2.readable.getReader().read()).value!.frame, "fine");
  await Promise.all([a.close(), b.close()]);
});

test("frames written without waiting each keep their own bytes until the runtime has sent them", async () => {
  const sends: { data: Uint8Array; resolve(): void }[] = [];
  let events!: RawDatagramEvents;
  const raw: RawDatagramSocket = {
    localAddr: { transport: "udp", hostname: "127.0.0.1", port: 4000 },
    open: (e) => void (events = e),
    send: (data) => new Promise<void>((resolve) => sends.push({ data, resolve })),
    close: () => queueMicrotask(() => events.close()),
  };
  const framed = datagramFramed(new DatagramSocket(raw), lines);
  const writer = framed.writable.getWriter();
  const to: NetAddr = { transport: "udp", hostname: "127.0.0.1", port: 5000 };
  for (let round = 0; round < 3; round++) {
    const writes = Array.from({ length: 20 }, (_, i) => writer.write({ frame: `frame ${round}.${i}`, remoteAddr: to }));
    await until(() => sends.length === 20, "20 sends");
    assert.equal(sends.map((s) => str(s.data)), Array.from({ length: 20 }, (_, i) => `frame ${round}.${i}\n`));
    for (const s of sends.splice(0)) s.resolve();
    await Promise.all(writes);
  }
  await writer.close();
  await framed.close();
});

test("bad arguments: TypeError at the call", () => {
  const [a] = memoryUdp();
  assert.throws(() => datagramFramed(null as never, lines), TypeError);
  assert.throws(() => datagramFramed(a, lines() as never), (e: Error) => e instanceof TypeError && /function that makes a Codec/.test(e.message));
  assert.throws(() => datagramFramed(a, (() => 42) as never), TypeError);
  assert.throws(() => datagramFramed(a, lines, { onUndecodable: 1 as never }), TypeError);
  void a.close();
});

test("the readable through the platform (pipeThrough), and await using closes the socket", async () => {
  const [a, b] = memoryUdp();
  {
    await using server = datagramFramed(b, lines);
    const words = server.readable.pipeThrough(new TransformStream({ transform: (f, c) => c.enqueue(f.frame) })).getReader();
    const client = datagramFramed(a, lines);
    const writer = client.writable.getWriter();
    for (const w of ["a", "b"]) await writer.write({ frame: w, remoteAddr: b.localAddr });
    assert.is((await words.read()).value, "a");
    assert.is((await words.read()).value, "b");
  }
  await b.closed;
  await a.close();
});

test.run();
