/**
 * datagramPeer(): the frames of one peer as a Framed, so that the multiplex
 * dispatchers run over datagrams, with ids in the frames. Over memoryUdp();
 * the same exchange over each runtime's sockets is in tests/conformance/udp.test.ts.
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import {
  datagramFramed,
  datagramPeer,
  DatagramSocket,
  ManualClock,
  memoryUdp,
  multiplexClient,
  multiplexServer,
  type NetAddr,
  NetError,
  type RawDatagramEvents,
  type RawDatagramSocket,
  stack,
  timeout,
} from "../../mod.ts";
import { settle, until } from "../_helpers.ts";
import { Mock } from "../middleware/_mock.ts";
import { type IdFrame, idCodec, idHooks, str, text } from "./_id_codec.ts";

const test = suite("udp: datagramPeer");

test("multiplex over datagrams: responses in any order, each to its call", async () => {
  const [a, b] = memoryUdp();
  const mock = new Mock<IdFrame, IdFrame>();
  const served = multiplexServer(datagramPeer(datagramFramed(b, idCodec), a.localAddr), mock, idHooks);
  const client = multiplexClient(datagramPeer(datagramFramed(a, idCodec), b.localAddr), idHooks);
  const calls = ["a", "b", "c", "d"].map((s) => client.call({ id: 0, payload: text(s) }));
  await until(() => mock.calls.length === 4, "four calls");
  const order: string[] = [];
  for (const i of [2, 0, 3, 1]) {
    const req = mock.at(i).req;
    mock.at(i).resolve({ id: 0, payload: text(str(req.payload).toUpperCase()) });
    order.push(str((await calls[i]!).payload));
  }
  assert.equal(order, ["C", "A", "D", "B"]);
  await client.close();
  await b.close(); // no FIN on UDP: the server ends with its socket
  await served;
});

test("datagrams from anyone but the peer are dropped and counted; addresses match across brackets, case and IPv4-mapped IPv6", async () => {
  let events!: RawDatagramEvents;
  const raw: RawDatagramSocket = {
    localAddr: { transport: "udp", hostname: "::1", port: 4000 },
    open: (e) => void (events = e),
    send() {},
    close: () => queueMicrotask(() => events.close()),
  };
  const peer = datagramPeer(datagramFramed(new DatagramSocket(raw), idCodec), { transport: "udp", hostname: "[::FFFF:127.0.0.1]", port: 5000 });
  const frame = (id: number) => new Uint8Array([0, 0, 0, id, 0]);
  const from = (hostname: string, port: number): NetAddr => ({ transport: "udp", hostname, port });
  events.message(frame(1), from("127.0.0.2", 5000));
  events.message(frame(2), from("127.0.0.1", 5001));
  events.message(frame(3), from("127.0.0.1", 5000));
  events.message(frame(4), from("::ffff:127.0.0.1", 5000));
  const reader = peer.batches.getReader();
  assert.equal((await reader.read()).value!.map((f) => f.id), [3]);
  assert.equal((await reader.read()).value!.map((f) => f.id), [4]);
  assert.is(peer.foreign, 2);
  assert.equal(peer.remoteAddr, { transport: "udp", hostname: "::FFFF:127.0.0.1", port: 5000 });
  await peer.close();
});

test("a peer has no byte stream: conn and parts() are unsupported; writes count datagrams; bad arguments throw", async () => {
  const [a, b] = memoryUdp();
  const peer = datagramPeer(datagramFramed(a, idCodec), b.localAddr);
  assert.throws(() => peer.conn, (e: unknown) => e instanceof NetError && e.code === "unsupported");
  const parts = await settle(peer.parts());
  assert.ok(!parts.ok && parts.error instanceof NetError && parts.error.code === "unsupported");
  const writer = peer.writable.getWriter();
  await writer.write({ id: 1, payload: text("x") });
  await writer.write({ id: 2, payload: text("y") });
  assert.is(peer.writes, 2);
  assert.throws(() => datagramPeer(a as never, b.localAddr), TypeError);
  assert.throws(() => datagramPeer(peer.datagrams, { transport: "udp", hostname: "memory", port: 0 }), RangeError);
  assert.throws(() => datagramPeer(peer.datagrams, null as never), TypeError);
  await Promise.all([a.close(), b.close()]);
});

test("a lost request: the call times out, its cancel frees the id, the next call goes through", async () => {
  const [a, b] = memoryUdp();
  const clock = new ManualClock();
  // The server's side, by hand: it loses the first request and answers the others.
  const server = datagramFramed(b, idCodec);
  const cancels: number[] = [];
  let requests = 0;
  const serving = (async () => {
    const writer = server.writable.getWriter();
    for await (const { frame, remoteAddr } of server.readable) {
      if (frame.cancel) cancels.push(frame.id);
      else if (++requests > 1) await writer.write({ frame: { id: frame.id, payload: frame.payload }, remoteAddr });
    }
  })();
  const dispatch = multiplexClient(datagramPeer(datagramFramed(a, idCodec), b.localAddr), idHooks);
  const client = stack(timeout({ ms: 1000, clock }))(dispatch);
  const lost = settle(client.call({ id: 0, payload: text("first") }));
  await until(() => requests === 1, "the first request at the server");
  await clock.advance(1000);
  const r = await lost;
  assert.ok(!r.ok && (r.error as Error).name === "TimeoutError", String(!r.ok && r.error));
  await until(() => cancels.length === 1, "the cancel frame");
  assert.is(dispatch.pending, 0, "the id is free");
  const second = await client.call({ id: 0, payload: text("second") });
  assert.is(str(second.payload), "second");
  await dispatch.close();
  await server.close();
  await serving;
});

test("an undecodable datagram from the peer never reaches the dispatcher: the server goes on", async () => {
  const [a, b] = memoryUdp();
  const mock = new Mock<IdFrame, IdFrame>();
  const framed = datagramFramed(b, idCodec);
  const served = multiplexServer(datagramPeer(framed, a.localAddr), mock, idHooks);
  const raw = a.writable.getWriter();
  await raw.write({ data: new Uint8Array([1, 2]), remoteAddr: b.localAddr }); // shorter than a header
  raw.releaseLock();
  await until(() => framed.undecodable === 1, "the bad datagram counted");
  const client = multiplexClient(datagramPeer(datagramFramed(a, idCodec), b.localAddr), idHooks);
  const call = client.call({ id: 0, payload: text("ok?") });
  await until(() => mock.calls.length === 1, "the call");
  mock.at(0).resolve({ id: 0, payload: text("ok") });
  assert.is(str((await call).payload), "ok");
  await client.close();
  await b.close();
  await served;
});

test.run();
