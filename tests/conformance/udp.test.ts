/**
 * The UDP conformance suite against this runtime's adapter (bindUdp), on
 * loopback only: echo over IPv4 and IPv6, many datagrams, the bounded receive
 * queue, send backpressure, closing, bad arguments and addresses, undecodable
 * datagrams, and a multiplexed request/response with ids in the datagrams.
 * Loss is possible even on loopback when a kernel buffer fills, so traffic is
 * paced (a window of datagrams in flight) and every wait is bounded.
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import {
  type Datagram,
  datagramFramed,
  datagramPeer,
  multiplexClient,
  multiplexServer,
  NetError,
  serviceFn,
  stack,
  timeout,
  type UdpSocket,
} from "../../mod.ts";
import { hasIpv6, settle, until } from "../_helpers.ts";
import { loadAdapter } from "../_runtime.ts";
import { type IdFrame, idCodec, idHooks, str, text } from "../udp/_id_codec.ts";

const net = await loadAdapter();
const bindUdp = net.bindUdp!;
const test = suite(`conformance: ${net.name} udp`);
const LOCAL = "127.0.0.1";
const hosts = hasIpv6() ? [LOCAL, "::1"] : [LOCAL];
/** A deadline for waits that only a lost datagram would reach: a failure, never a measurement. */
const LOST_MS = 5000;

/** Sends every datagram back to its sender until the socket closes. */
function echo(socket: UdpSocket): Promise<void> {
  return (async () => {
    const writer = socket.writable.getWriter();
    for await (const d of socket.readable) await writer.write(d).catch(() => {});
  })();
}

/** Reads one datagram, failing after LOST_MS instead of waiting for ever. */
async function readOne(reader: ReadableStreamDefaultReader<Datagram>): Promise<Datagram> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const lost = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("a datagram was lost")), LOST_MS)));
  try {
    const r = await Promise.race([reader.read(), lost]);
    if (r.done) throw new Error("the readable ended");
    return r.value;
  } finally {
    clearTimeout(timer);
  }
}

for (const host of hosts) {
  test(`echo over ${host}: sizes from 0 to the largest datagram, with the sender's address`, async () => {
    await using server = await bindUdp({ hostname: host, port: 0 });
    await using client = await bindUdp({ hostname: host, port: 0 });
    assert.is(server.localAddr.transport, "udp");
    assert.is(server.localAddr.hostname, host);
    assert.ok(server.localAddr.port! > 0);
    const echoing = echo(server);
    const writer = client.writable.getWriter();
    const reader = client.readable.getReader();
    const largest = host === LOCAL ? 65_507 : 65_527;
    for (const size of [0, 1, 1400, 9000, largest]) {
      const data = new Uint8Array(size).map((_, i) => (i * 31 + size) & 0xff);
      await writer.write({ data, remoteAddr: server.localAddr });
      const back = await readOne(reader);
      assert.equal(back.data, data, `${size} bytes`);
      assert.is(back.remoteAddr.transport, "udp");
      assert.is(back.remoteAddr.hostname, host);
      assert.is(back.remoteAddr.port, server.localAddr.port);
    }
    // Brackets around an IPv6 address are accepted, as by connect().
    if (host.includes(":")) {
      await writer.write({ data: text("bracketed"), remoteAddr: { transport: "udp", hostname: `[${host}]`, port: server.localAddr.port } });
      assert.is(str((await readOne(reader)).data), "bracketed");
    }
    await server.close();
    await echoing;
  });
}

test("many datagrams: 2000 through an echo, 32 in flight at a time, every one back", async () => {
  await using server = await bindUdp({ hostname: LOCAL, port: 0 });
  await using client = await bindUdp({ hostname: LOCAL, port: 0 });
  const echoing = echo(server);
  const writer = client.writable.getWriter();
  const reader = client.readable.getReader();
  const total = 2000;
  const seen = new Uint8Array(total);
  let sent = 0;
  let received = 0;
  const send = () => writer.write({ data: new Uint8Array([sent >> 8, sent++ & 0xff, 0xab]), remoteAddr: server.localAddr });
  while (sent < 32) await send();
  while (received < total) {
    const d = await readOne(reader);
    const n = (d.data[0]! << 8) | d.data[1]!;
    assert.is(seen[n], 0, `datagram ${n} twice`);
    seen[n] = 1;
    received++;
    if (sent < total) await send();
  }
  assert.is(client.dropped + server.dropped, 0);
  await server.close();
  await echoing;
});

test("a reader that does not read: receiveQueue datagrams wait, the rest are dropped and counted", async () => {
  await using receiver = await bindUdp({ hostname: LOCAL, port: 0, receiveQueue: 8 });
  await using sender = await bindUdp({ hostname: LOCAL, port: 0 });
  const writer = sender.writable.getWriter();
  for (let i = 0; i < 64; i++) await writer.write({ data: new Uint8Array([i]), remoteAddr: receiver.localAddr });
  await until(() => receiver.dropped === 56, `56 dropped (now ${receiver.dropped})`, LOST_MS);
  const reader = receiver.readable.getReader();
  for (let i = 0; i < 8; i++) assert.is((await readOne(reader)).data[0], i, "the first eight were kept, in order");
  await writer.write({ data: new Uint8Array([99]), remoteAddr: receiver.localAddr });
  assert.is((await readOne(reader)).data[0], 99, "room again once read");
  assert.is(receiver.dropped, 56);
});

test("datagrams over maxDatagramBytes are dropped on arrival and counted in oversized", async () => {
  await using receiver = await bindUdp({ hostname: LOCAL, port: 0, maxDatagramBytes: 100 });
  await using sender = await bindUdp({ hostname: LOCAL, port: 0 });
  const writer = sender.writable.getWriter();
  await writer.write({ data: new Uint8Array(200), remoteAddr: receiver.localAddr });
  await writer.write({ data: new Uint8Array(100), remoteAddr: receiver.localAddr });
  assert.is((await readOne(receiver.readable.getReader())).data.byteLength, 100);
  assert.is(receiver.oversized, 1);
  const big = await settle(receiver.writable.getWriter().write({ data: new Uint8Array(101), remoteAddr: sender.localAddr }));
  assert.ok(!big.ok && big.error instanceof RangeError, "and refused on sending");
});

test("send backpressure: awaited writes, and 10 000 writes paced by writer.ready, all complete", async () => {
  await using sink = await bindUdp({ hostname: LOCAL, port: 0, receiveQueue: 16 });
  await using sender = await bindUdp({ hostname: LOCAL, port: 0 });
  const writer = sender.writable.getWriter();
  const data = new Uint8Array(1200);
  for (let i = 0; i < 500; i++) await writer.write({ data, remoteAddr: sink.localAddr });
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 10_000; i++) {
    await writer.ready;
    assert.ok(writer.desiredSize! > 0);
    writes.push(writer.write({ data, remoteAddr: sink.localAddr }));
  }
  await Promise.all(writes);
  await writer.close(); // resolves once every datagram is out
  assert.ok(sink.dropped <= 10_500, "the receiver's memory stayed bounded: what it could not hold was counted");
});

test("close() while reading ends the read; writes then fail with closed; the port is free again", async () => {
  const socket = await bindUdp({ hostname: LOCAL, port: 0 });
  const port = socket.localAddr.port!;
  const reader = socket.readable.getReader();
  const pending = reader.read();
  await socket.close();
  assert.equal(await pending, { done: true, value: undefined });
  await socket.closed;
  const w = await settle(socket.writable.getWriter().write({ data: text("late"), remoteAddr: { transport: "udp", hostname: LOCAL, port } }));
  assert.ok(!w.ok && w.error instanceof NetError && w.error.code === "closed", String(!w.ok && w.error));
  const again = await bindUdp({ hostname: LOCAL, port });
  assert.is(again.localAddr.port, port);
  await again.close();
});

test("close(reason) fails a pending read with the reason; aborting the signal closes; an aborted signal rejects the bind", async () => {
  const socket = await bindUdp({ hostname: LOCAL, port: 0 });
  const pending = settle(socket.readable.getReader().read());
  const reason = new Error("going away");
  await socket.close(reason);
  const r = await pending;
  assert.ok(!r.ok && r.error === reason);
  await socket.closed;

  const controller = new AbortController();
  const watched = await bindUdp({ hostname: LOCAL, port: 0, signal: controller.signal });
  const read = watched.readable.getReader().read();
  controller.abort();
  assert.equal(await read, { done: true, value: undefined });
  await watched.closed;

  const gone = new Error("never mind");
  const early = await settle(bindUdp({ hostname: LOCAL, port: 0, signal: AbortSignal.abort(gone) }));
  assert.ok(!early.ok && early.error === gone);
});

test("a port in use gives address-in-use; an address not on this host gives address-unavailable", async () => {
  await using socket = await bindUdp({ hostname: LOCAL, port: 0 });
  const inUse = await settle(bindUdp({ hostname: LOCAL, port: socket.localAddr.port! }));
  assert.ok(!inUse.ok && inUse.error instanceof NetError, String(!inUse.ok && inUse.error));
  assert.is((inUse as { error: NetError }).error.code, "address-in-use");
  assert.ok((inUse as { error: NetError }).error.message.includes(String(socket.localAddr.port)));
  const elsewhere = await settle(bindUdp({ hostname: "192.0.2.1", port: 0 })); // TEST-NET-1: on no interface
  assert.ok(!elsewhere.ok && elsewhere.error instanceof NetError);
  assert.is((elsewhere as { error: NetError }).error.code, "address-unavailable");
});

test("bad options throw TypeError or RangeError at the call", () => {
  const bad: [unknown, new (...args: never[]) => Error][] = [
    ["127.0.0.1", TypeError],
    [{ port: -1 }, RangeError],
    [{ port: 70000 }, RangeError],
    [{ port: 1.5 }, RangeError],
    [{ port: "53" }, RangeError],
    [{ hostname: "" }, TypeError],
    [{ hostname: 127 }, TypeError],
    [{ path: "/tmp/x.sock" }, TypeError],
    [{ receiveQueue: 0 }, RangeError],
    [{ maxDatagramBytes: 65536 }, RangeError],
    [{ maxDatagramBytes: 0 }, RangeError],
    [{ signal: "stop" }, TypeError],
  ];
  for (const [options, type] of bad) {
    assert.throws(() => bindUdp(options as never), (e: unknown) => e instanceof type, JSON.stringify(options));
  }
});

test("datagrams refused on sending reject their own write; the socket goes on", async () => {
  await using socket = await bindUdp({ hostname: LOCAL, port: 0 });
  await using peer = await bindUdp({ hostname: LOCAL, port: 0 });
  const writer = socket.writable.getWriter();
  // From a loopback address to TEST-NET-1 there is no route.
  const unroutable = await settle(writer.write({ data: text("x"), remoteAddr: { transport: "udp", hostname: "192.0.2.1", port: 9 } }));
  assert.ok(!unroutable.ok && unroutable.error instanceof NetError, String(!unroutable.ok && unroutable.error));
  assert.is((unroutable as { error: NetError }).error.code, "network-unreachable");
  const tooLarge = await settle(writer.write({ data: new Uint8Array(65_508), remoteAddr: peer.localAddr })); // IPv4 carries 65 507
  assert.ok(!tooLarge.ok && tooLarge.error instanceof RangeError, String(!tooLarge.ok && tooLarge.error));
  const otherFamily = await settle(writer.write({ data: text("x"), remoteAddr: { transport: "udp", hostname: "::1", port: 9 } }));
  assert.ok(!otherFamily.ok && otherFamily.error instanceof NetError, String(!otherFamily.ok && otherFamily.error));
  const badPort = await settle(writer.write({ data: text("x"), remoteAddr: { transport: "udp", hostname: LOCAL, port: 0 } }));
  assert.ok(!badPort.ok && badPort.error instanceof RangeError);
  await writer.write({ data: text("still here"), remoteAddr: peer.localAddr });
  assert.is(str((await readOne(peer.readable.getReader())).data), "still here");
});

test("a peer that is gone (ICMP port unreachable) fails no later send, to it or to anyone", async () => {
  await using socket = await bindUdp({ hostname: LOCAL, port: 0 });
  await using live = await bindUdp({ hostname: LOCAL, port: 0 });
  const gone = await bindUdp({ hostname: LOCAL, port: 0 });
  const goneAddr = gone.localAddr;
  await gone.close();
  const writer = socket.writable.getWriter();
  for (let i = 0; i < 20; i++) {
    await writer.write({ data: new Uint8Array([i]), remoteAddr: goneAddr });
    await writer.write({ data: new Uint8Array([i]), remoteAddr: live.localAddr }); // right behind it: the ICMP error is still pending
  }
  const reader = live.readable.getReader();
  for (let i = 0; i < 20; i++) assert.is((await readOne(reader)).data[0], i);
  assert.is(await Promise.race([socket.closed.then(() => "closed"), Promise.resolve("open")]), "open");
});

test("undecodable datagrams are counted and dropped; the frames around them arrive", async () => {
  await using a = await bindUdp({ hostname: LOCAL, port: 0 });
  await using b = await bindUdp({ hostname: LOCAL, port: 0 });
  const frames = datagramFramed(b, idCodec);
  const raw = a.writable.getWriter();
  const to = b.localAddr;
  await raw.write({ data: new Uint8Array([0, 0, 0, 1, 0, 65]), remoteAddr: to });
  for (let i = 0; i < 10; i++) await raw.write({ data: new Uint8Array(i % 5), remoteAddr: to }); // shorter than the header
  await raw.write({ data: new Uint8Array([0, 0, 0, 2, 0, 66]), remoteAddr: to });
  const reader = frames.readable.getReader();
  const first = await reader.read();
  const second = await reader.read();
  assert.equal([first.value!.frame.id, second.value!.frame.id], [1, 2]);
  assert.is(str(second.value!.frame.payload), "B");
  assert.is(frames.undecodable, 10);
});

for (const host of hosts) {
  test(`multiplex over ${host}: requests and responses with ids in the datagrams, answered out of order`, async () => {
    const serverSocket = await bindUdp({ hostname: host, port: 0 });
    const clientSocket = await bindUdp({ hostname: host, port: 0 });
    const service = serviceFn(async (req: IdFrame) => {
      const n = Number(str(req.payload));
      if (n % 3 === 0) await new Promise((r) => setTimeout(r, 1)); // some answer later than those after them
      return { id: 0, payload: text(String(n * n)) };
    });
    const served = multiplexServer(datagramPeer(datagramFramed(serverSocket, idCodec), clientSocket.localAddr), service, idHooks);
    const dispatch = multiplexClient(datagramPeer(datagramFramed(clientSocket, idCodec), serverSocket.localAddr), idHooks);
    const client = stack(timeout({ ms: LOST_MS }))(dispatch); // a lost datagram fails the test, it does not hang it
    for (let round = 0; round < 10; round++) {
      const ns = Array.from({ length: 24 }, (_, i) => round * 24 + i);
      const answers = await Promise.all(ns.map((n) => client.call({ id: 0, payload: text(String(n)) })));
      assert.equal(answers.map((f) => Number(str(f.payload))), ns.map((n) => n * n));
    }
    await dispatch.close();
    await serverSocket.close();
    await served;
  });
}

test("a relay that loses the first request: that call times out and is cancelled, the next goes through", async () => {
  await using serverSocket = await bindUdp({ hostname: LOCAL, port: 0 });
  await using relay = await bindUdp({ hostname: LOCAL, port: 0 });
  await using clientSocket = await bindUdp({ hostname: LOCAL, port: 0 });
  let fromClient = 0;
  const relaying = (async () => {
    const writer = relay.writable.getWriter();
    for await (const d of relay.readable) {
      if (d.remoteAddr.port === clientSocket.localAddr.port) {
        if (++fromClient === 1) continue; // lost on the way
        await writer.write({ data: d.data, remoteAddr: serverSocket.localAddr });
      } else {
        await writer.write({ data: d.data, remoteAddr: clientSocket.localAddr });
      }
    }
  })();
  const cancels: number[] = [];
  const served = multiplexServer(
    datagramPeer(datagramFramed(serverSocket, idCodec, {}), relay.localAddr),
    serviceFn(async (req: IdFrame) => ({ id: 0, payload: req.payload })),
    { ...idHooks, isCancel: (f) => (f.cancel ? (cancels.push(f.id), true) : false) },
  );
  const dispatch = multiplexClient(datagramPeer(datagramFramed(clientSocket, idCodec), relay.localAddr), idHooks);
  const client = stack(timeout({ ms: 100 }))(dispatch);
  const lost = await settle(client.call({ id: 0, payload: text("first") }));
  assert.ok(!lost.ok && (lost.error as Error).name === "TimeoutError", String(!lost.ok && lost.error));
  await until(() => cancels.length === 1, "the cancel at the server", LOST_MS);
  assert.is(dispatch.pending, 0);
  const reply = await stack(timeout({ ms: LOST_MS }))(dispatch).call({ id: 0, payload: text("second") });
  assert.is(str(reply.payload), "second");
  await dispatch.close();
  await serverSocket.close();
  await served;
  await relay.close();
  await relaying;
});

test.run();
