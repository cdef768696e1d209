/**
 * The UDP socket's state machine (DatagramSocket), over memoryUdp() and over
 * raw sockets the test drives: the bounded receive queue and its counts, the
 * send window, bad datagrams, and every way of closing.
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { type Datagram, DatagramSocket, memoryUdp, type NetAddr, NetError, type RawDatagramEvents, type RawDatagramSocket, SEND_WINDOW } from "../../mod.ts";
import { settle, stillPending, until } from "../_helpers.ts";

const test = suite("udp: datagram socket");
const bytes = (...b: number[]) => new Uint8Array(b);

/** A raw socket the test drives: it records sends and lets the test settle them, and delivers what the test says arrived. */
class Driven implements RawDatagramSocket {
  readonly localAddr: NetAddr = { transport: "udp", hostname: "127.0.0.1", port: 4000 };
  events!: RawDatagramEvents;
  sends: { data: Uint8Array; to: NetAddr; resolve(): void; reject(e: unknown): void }[] = [];
  closed = false;
  open(events: RawDatagramEvents): void {
    this.events = events;
  }
  send(data: Uint8Array, to: NetAddr): Promise<void> {
    return new Promise((resolve, reject) => this.sends.push({ data, to, resolve, reject }));
  }
  close(): void {
    this.closed = true;
    queueMicrotask(() => this.events.close());
  }
}
const PEER: NetAddr = { transport: "udp", hostname: "127.0.0.1", port: 5000 };

test("a datagram arrives whole, with its sender's address; one addressed elsewhere is lost", async () => {
  const [a, b] = memoryUdp();
  const writer = a.writable.getWriter();
  await writer.write({ data: bytes(1, 2, 3), remoteAddr: b.localAddr });
  await writer.write({ data: bytes(9), remoteAddr: { transport: "udp", hostname: "memory", port: 65000 } });
  await writer.write({ data: bytes(4), remoteAddr: b.localAddr });
  const reader = b.readable.getReader();
  const first = (await reader.read()).value!;
  assert.equal([...first.data], [1, 2, 3]);
  assert.equal(first.remoteAddr, a.localAddr);
  assert.equal([...(await reader.read()).value!.data], [4]);
  await Promise.all([a.close(), b.close()]);
});

test("the receive queue holds receiveQueue datagrams for a reader that does not read, and counts what it drops", async () => {
  const [a, b] = memoryUdp({ receiveQueue: 4 });
  const writer = a.writable.getWriter();
  for (let i = 0; i < 10; i++) await writer.write({ data: bytes(i), remoteAddr: b.localAddr });
  assert.is(b.dropped, 6);
  const reader = b.readable.getReader();
  for (let i = 0; i < 4; i++) assert.is((await reader.read()).value!.data[0], i, "the oldest are kept, in order");
  // Room again: new datagrams are kept, the count stays.
  await writer.write({ data: bytes(42), remoteAddr: b.localAddr });
  assert.is((await reader.read()).value!.data[0], 42);
  assert.is(b.dropped, 6);
  assert.is(a.dropped, 0);
  await Promise.all([a.close(), b.close()]);
});

test("a waiting read takes a datagram past a full queue's bound: only datagrams that wait count", async () => {
  const [a, b] = memoryUdp({ receiveQueue: 1 });
  const reader = b.readable.getReader();
  const reads = [reader.read(), reader.read(), reader.read()];
  const writer = a.writable.getWriter();
  for (let i = 0; i < 5; i++) await writer.write({ data: bytes(i), remoteAddr: b.localAddr });
  assert.equal((await Promise.all(reads)).map((r) => r.value!.data[0]), [0, 1, 2], "pending reads are served in order");
  assert.is(b.dropped, 1, "3 went to reads, 1 waits, 1 dropped");
  assert.is((await reader.read()).value!.data[0], 3);
  await Promise.all([a.close(), b.close()]);
});

test("datagrams over maxDatagramBytes: a send rejects alone with RangeError, one received is counted in oversized", async () => {
  const raw = new Driven();
  const socket = new DatagramSocket(raw, { maxDatagramBytes: 8 });
  const writer = socket.writable.getWriter();
  const r = await settle(writer.write({ data: new Uint8Array(9), remoteAddr: PEER }));
  assert.ok(!r.ok && r.error instanceof RangeError, String(!r.ok && r.error));
  assert.match((r as { error: Error }).error.message, "9 bytes exceed maxDatagramBytes 8");
  const ok = writer.write({ data: new Uint8Array(8), remoteAddr: PEER });
  raw.sends[0]!.resolve();
  await ok;
  raw.events.message(new Uint8Array(9), PEER);
  raw.events.message(new Uint8Array(4), PEER, true); // truncated by the runtime
  raw.events.message(new Uint8Array(8), PEER);
  assert.is(socket.oversized, 2);
  assert.is((await socket.readable.getReader().read()).value!.data.byteLength, 8);
  await socket.close();
});

test("bad datagrams reject their own write with TypeError or RangeError; the socket goes on", async () => {
  const [a, b] = memoryUdp();
  const writer = a.writable.getWriter();
  const bad: [unknown, new (...args: never[]) => Error][] = [
    [null, TypeError],
    ["hello", TypeError],
    [{ data: "hello", remoteAddr: b.localAddr }, TypeError],
    [{ data: bytes(1) }, TypeError],
    [{ data: bytes(1), remoteAddr: { transport: "udp", port: 1 } }, TypeError],
    [{ data: bytes(1), remoteAddr: { transport: "udp", hostname: "memory", port: 0 } }, RangeError],
    [{ data: bytes(1), remoteAddr: { transport: "udp", hostname: "memory", port: 70000 } }, RangeError],
  ];
  for (const [datagram, type] of bad) {
    const r = await settle(writer.write(datagram as Datagram));
    assert.ok(!r.ok && r.error instanceof type, `${JSON.stringify(datagram)}: ${!r.ok && r.error}`);
  }
  await writer.write({ data: bytes(7), remoteAddr: b.localAddr });
  assert.is((await b.readable.getReader().read()).value!.data[0], 7);
  await Promise.all([a.close(), b.close()]);
});

test("send backpressure: SEND_WINDOW datagrams in flight, the rest wait in order with ready pending", async () => {
  const raw = new Driven();
  const socket = new DatagramSocket(raw);
  const writer = socket.writable.getWriter();
  const total = SEND_WINDOW + 36;
  const writes = Array.from({ length: total }, (_, i) => writer.write({ data: bytes(i & 0xff, i >> 8), remoteAddr: PEER }));
  assert.is(raw.sends.length, SEND_WINDOW, "the runtime holds a window's worth");
  assert.is(writer.desiredSize, -36);
  const ready = writer.ready;
  assert.ok(await stillPending(ready, 5), "ready waits while the runtime pushes back");
  assert.ok(await stillPending(writes[SEND_WINDOW]!, 5));
  for (let i = 0; i < total; i++) {
    await until(() => raw.sends.length > i, `send ${i} handed to the runtime`); // each settled send lets the next one go
    raw.sends[i]!.resolve();
  }
  await Promise.all(writes);
  await ready;
  assert.is(raw.sends.length, total);
  assert.equal(raw.sends.map((s) => s.data[0]! | (s.data[1]! << 8)), Array.from({ length: total }, (_, i) => i), "in order");
  const closing = writer.close();
  await closing;
  await socket.close();
});

test("a send the runtime refuses rejects that write alone; writer.close() waits for the sends in flight", async () => {
  const raw = new Driven();
  const socket = new DatagramSocket(raw);
  const writer = socket.writable.getWriter();
  const refused = writer.write({ data: bytes(1), remoteAddr: PEER });
  const fine = writer.write({ data: bytes(2), remoteAddr: PEER });
  const unreachable = new NetError("network-unreachable", "Cannot send a datagram: no route");
  raw.sends[0]!.reject(unreachable);
  const r = await settle(refused);
  assert.ok(!r.ok && r.error === unreachable);
  const closing = writer.close();
  assert.ok(await stillPending(closing, 5), "close waits for the datagram in flight");
  raw.sends[1]!.resolve();
  await fine;
  await closing;
  await socket.close();
});

test("close() while reading: the read ends, writes fail with closed, closed resolves", async () => {
  const [a, b] = memoryUdp();
  const reader = b.readable.getReader();
  const pending = reader.read();
  const iterating = (async () => {
    let n = 0;
    for await (const _ of a.readable) n++;
    return n;
  })();
  await b.close();
  assert.equal(await pending, { done: true, value: undefined });
  await reader.closed;
  const r = await settle(b.writable.getWriter().write({ data: bytes(1), remoteAddr: a.localAddr }));
  assert.ok(!r.ok && r.error instanceof NetError && r.error.code === "closed", String(!r.ok && r.error));
  await b.closed;
  await b.close(); // again: nothing happens
  await a.close();
  assert.is(await iterating, 0);
});

test("close(reason) fails reads and writes with the reason; closed still resolves", async () => {
  const [a, b] = memoryUdp();
  const reason = new Error("shutting down");
  const reader = b.readable.getReader();
  const pending = settle(reader.read());
  await b.close(reason);
  const r = await pending;
  assert.ok(!r.ok && r.error === reason);
  const w = await settle(b.writable.getWriter().write({ data: bytes(1), remoteAddr: a.localAddr }));
  assert.ok(!w.ok && w.error === reason);
  await b.closed;
  await a.close();
});

test("a socket the runtime reports broken: reads fail with the NetError, closed rejects with it", async () => {
  const raw = new Driven();
  const socket = new DatagramSocket(raw);
  const reader = socket.readable.getReader();
  const pending = reader.read();
  const broken = new NetError("unknown", "UDP socket failed: EIO");
  raw.events.error(broken);
  const r = await settle(pending);
  assert.ok(!r.ok && r.error === broken);
  const c = await settle(socket.closed);
  assert.ok(!c.ok && c.error === broken);
  assert.ok(raw.closed, "the raw socket is released");
  await socket.close(); // resolves regardless
});

test("cancelling the readable discards later datagrams; the socket still sends", async () => {
  const [a, b] = memoryUdp({ receiveQueue: 2 });
  const writer = a.writable.getWriter();
  await writer.write({ data: bytes(1), remoteAddr: b.localAddr });
  await b.readable.cancel();
  for (let i = 0; i < 5; i++) await writer.write({ data: bytes(i), remoteAddr: b.localAddr });
  assert.is(b.dropped, 0, "nobody reads: nothing counts as dropped");
  await b.writable.getWriter().write({ data: bytes(9), remoteAddr: a.localAddr });
  assert.is((await a.readable.getReader().read()).value!.data[0], 9);
  await Promise.all([a.close(), b.close()]);
});

test("the platform's path: pipeTo and pipeThrough carry datagrams; a released reader's read fails", async () => {
  const [a, b] = memoryUdp();
  const echoed = b.readable.pipeTo(b.writable).catch(() => {}); // back to each sender
  const writer = a.writable.getWriter();
  const reader = a.readable.pipeThrough(new TransformStream<Datagram, number>({ transform: (d, c) => c.enqueue(d.data[0]!) })).getReader();
  for (let i = 0; i < 20; i++) {
    await writer.write({ data: bytes(i), remoteAddr: b.localAddr });
    assert.is((await reader.read()).value, i);
  }
  await b.close();
  await echoed;
  await a.close();
  const [c, d] = memoryUdp();
  const r = d.readable.getReader();
  const pending = r.read();
  r.releaseLock();
  assert.ok(!(await settle(pending)).ok);
  await Promise.all([c.close(), d.close()]);
});

test("bad options of memoryUdp() and DatagramSocket throw RangeError or TypeError", () => {
  assert.throws(() => memoryUdp({ receiveQueue: 0 }), RangeError);
  assert.throws(() => memoryUdp({ maxDatagramBytes: 65536 }), RangeError);
  assert.throws(() => new DatagramSocket(new Driven(), { signal: "abort" as never }), TypeError);
});

test("aborting the signal closes the socket; an aborted one closes it at once; await using closes it", async () => {
  const controller = new AbortController();
  const socket = new DatagramSocket(new Driven(), { signal: controller.signal });
  const pending = socket.readable.getReader().read();
  controller.abort();
  assert.equal(await pending, { done: true, value: undefined });
  await socket.closed;
  const early = new DatagramSocket(new Driven(), { signal: AbortSignal.abort() });
  await early.closed;
  let raw!: Driven;
  {
    await using s = new DatagramSocket((raw = new Driven()));
    assert.is(s.localAddr.port, 4000);
  }
  assert.ok(raw.closed);
});

test.run();
