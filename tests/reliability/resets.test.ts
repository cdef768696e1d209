/**
 * Resets: connections reset in the middle of a request and in the middle of
 * a body, on both sides, for HTTP and RESP over this runtime's loopback.
 *
 * - Clients that reset a server (a node:net peer, whose reset is a real RST
 *   on every runtime, and this runtime's own `conn.close(reason)`): no
 *   unhandled rejection, every handler settles, every response stream is
 *   cancelled, and the server's connection count returns to zero.
 * - Connections reset before the server accepts them: the server goes on
 *   accepting.
 * - A server that resets its clients (the node:net peer): every pending
 *   httpClient and respClient call rejects with a NetError `connection-reset`,
 *   a response body cut off fails with it, and no connection is left open.
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { type Conn, type ConnectOptions, NetError, serve } from "../../mod.ts";
import { httpClient } from "../../src/protocols/http/mod.ts";
import { respClient, respServer, respStore } from "../../src/protocols/resp/mod.ts";
import { startServer } from "../http/_helpers.ts";
import { command, net, RawClient, RespRaw, sleep, startNodePeer, until, watchUnhandled, within } from "./_helpers.ts";

const test = suite(`reliability: resets (${net.name})`);

const ROUNDS = 20;
/** What a body cut off by its client may fail with, as the handler sees it. */
const CUT_OFF = ["connection-reset", "closed", "unexpected-eof", "body-aborted", "broken-pipe"];

function codeOf(error: unknown): string {
  return error instanceof NetError ? error.code : `not a NetError: ${String(error)}`;
}

/** A body of `total` bytes made on demand, in 64 KiB chunks; `onCancel` runs if the consumer gives up. */
function bigBody(total: number, onCancel: () => void): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent >= total) return c.close();
      c.enqueue(new Uint8Array(64 * 1024).fill(0x7a));
      sent += 64 * 1024;
    },
    cancel: onCancel,
  }, { highWaterMark: 0 });
}

/** A connect that counts the connections it opened and that are not closed yet. */
function countingConnect(): { connect: (o: ConnectOptions) => Promise<Conn>; open(): number } {
  let open = 0;
  return {
    open: () => open,
    connect: async (o) => {
      const conn = await net.connect(o);
      open++;
      conn.closed.then(() => open--, () => open--);
      return conn;
    },
  };
}

test("connections reset before the server accepts them do not stop it accepting", async () => {
  const unhandled = watchUnhandled();
  const http = await startServer({ fetch: () => new Response("ok") });
  const respListener = await net.listen({ hostname: "127.0.0.1", port: 0 });
  const respErrors: unknown[] = [];
  const resp = serve(respListener, respServer(respStore()), { onError: (e) => respErrors.push(e) });
  for (const port of [http.port, respListener.addr.port!]) {
    const peer = await startNodePeer<{ resets: number }>("./_reset_peer.mjs", ["flash", String(port), "200"], 60_000);
    assert.ok(peer.info.resets > 0, "the peer connected");
  }
  // The listeners must still be accepting. (Deno's accept() fails with NotConnected for a
  // connection reset before it could be accepted: an adapter that took that for a broken
  // listener would stop the whole server here.)
  const c = await RawClient.connect(http.port);
  await c.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert.is((await c.readResponse()).text, "ok");
  await c.close();
  const r = await RespRaw.connect(respListener.addr.port!);
  await r.write(command("PING"));
  assert.is(await r.reply(), "PONG");
  await r.close();
  await until(() => http.server.connections === 0 && resp.connections === 0, "every connection to close");
  await http.stop();
  await resp.shutdown({ timeoutMs: 1000 });
  unhandled.stop();
  assert.equal(unhandled.seen, []);
  assert.equal(http.errors.map(String), [], "nothing reported: not even the listener's troubles");
  assert.equal(respErrors.map(String), []);
});

test("clients reset a server in the middle of heads, bodies and responses: nothing unhandled, every handler settles, no connection left", async () => {
  const unhandled = watchUnhandled();
  let started = 0;
  let settled = 0;
  let big = 0;
  let cancelled = 0;
  let uploading = 0;
  const bodyErrors: unknown[] = [];
  const http = await startServer({
    headTimeoutMs: 10_000,
    fetch: async (request) => {
      started++;
      try {
        const path = new URL(request.url).pathname;
        if (path === "/upload") {
          uploading++;
          await request.arrayBuffer();
          return new Response("uploaded");
        }
        if (path === "/big") {
          big++;
          // 256 MiB, more than any socket buffers hold: the server is still sending when the client leaves.
          return new Response(bigBody(256 * 1024 * 1024, () => void cancelled++));
        }
        return new Response("ok");
      } catch (error) {
        bodyErrors.push(error);
        return new Response("cut off", { status: 400 });
      } finally {
        settled++;
      }
    },
  });
  const respErrors: unknown[] = [];
  const respListener = await net.listen({ hostname: "127.0.0.1", port: 0 });
  const resp = serve(respListener, respServer(respStore()), { onError: (e) => respErrors.push(e) });
  const respPort = respListener.addr.port!;

  // A node:net peer resets: a real RST on every runtime.
  const peer = await startNodePeer<{ resets: number }>("./_reset_peer.mjs", ["clients", String(http.port), String(respPort), String(ROUNDS)], 60_000);
  assert.is(peer.info.resets, ROUNDS * 5);

  // This runtime's own abortive close (a FIN on Deno, which cannot send a reset).
  for (let i = 0; i < ROUNDS; i++) {
    const head = await RawClient.connect(http.port);
    await head.write("GET /half HTTP/1.1\r\nHo");
    const body = await RawClient.connect(http.port);
    const uploads = uploading;
    await body.write("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4000\r\n" + "b".repeat(0x4000) + "\r\n100\r\nbb");
    await until(() => uploading > uploads, "the upload's handler to start");
    const response = await RawClient.connect(http.port);
    await response.write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    await response.readHead();
    const command1 = await RespRaw.connect(respPort);
    await command1.write("*2\r\n$4\r\nECHO\r\n$5\r\nhel");
    const replies = await RespRaw.connect(respPort);
    await replies.write(command("SET", "big", "v".repeat(1024 * 1024)) + command("GET", "big").repeat(50));
    await sleep(10);
    await Promise.all([head.abort(), body.abort(), response.abort(), command1.abort(), replies.abort()]);
  }

  await until(() => http.server.connections === 0, `the HTTP server's connections to close (${http.server.connections} left)`);
  await until(() => resp.connections === 0, `the RESP server's connections to close (${resp.connections} left)`);
  await until(() => settled === started, `every handler to settle (${started - settled} pending)`);
  await until(() => cancelled === big, `every response stream to be cancelled (${big - cancelled} still pulled)`);
  console.log(
    `  ${net.name}: ${ROUNDS * 5} resets from a node:net peer and ${ROUNDS * 5} abortive closes from ${net.name}: ` +
      `${started} handlers ran and settled, ${big} response streams cancelled, ${bodyErrors.length} bodies cut off (${[...new Set(bodyErrors.map(codeOf))].join(", ")})`,
  );
  // At least the resets of this runtime's clients, which wait for the handler to run (the node:net
  // peer's may come before the server has read the request).
  assert.ok(big >= ROUNDS, "the large responses were requested");
  assert.ok(bodyErrors.length >= ROUNDS, "the uploads were cut off");
  for (const e of bodyErrors) assert.ok(CUT_OFF.includes(codeOf(e)), `a body failed with ${codeOf(e)}: ${String(e)}`);
  for (const e of http.errors) assert.ok(CUT_OFF.includes(codeOf(e)), `onError got ${String(e)}`);
  assert.equal(respErrors, []);

  // Both still serve.
  const c = await RawClient.connect(http.port);
  await c.write("GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert.is((await c.readResponse()).text, "ok");
  await c.close();
  const r = await RespRaw.connect(respPort);
  await r.write(command("PING"));
  assert.is(await r.reply(), "PONG");
  await r.close();

  await http.stop();
  await resp.shutdown({ timeoutMs: 1000 });
  await sleep(20);
  unhandled.stop();
  assert.equal(unhandled.seen, []);
});

interface PeerPorts {
  head: number;
  requestBody: number;
  responseBody: number;
  resp: number;
  respPartial: number;
}

test("a server that resets: every pending httpClient and respClient call rejects with connection-reset; no connection left open", async () => {
  const unhandled = watchUnhandled();
  const peer = await startNodePeer<PeerPorts>("./_reset_peer.mjs", ["servers"]);
  const ports = peer.info;
  try {
    const counted = countingConnect();
    const client = httpClient({ connect: counted.connect });

    // Reset once the head is in: 10 calls at once, each on a connection of its own, all pending.
    const heads = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => client.fetch(`http://127.0.0.1:${ports.head}/call/${i}`)));
    for (const h of heads) {
      assert.is(h.status, "rejected");
      assert.is(codeOf((h as PromiseRejectedResult).reason), "connection-reset", String((h as PromiseRejectedResult).reason));
    }

    // Reset while the request body is on its way: 4 MiB offered, 64 KiB of it in when the peer resets.
    let bodyCancelled = 0;
    const uploads = await Promise.allSettled(Array.from({ length: 5 }, () =>
      client.fetch(`http://127.0.0.1:${ports.requestBody}/upload`, {
        method: "POST",
        body: bigBody(4 * 1024 * 1024, () => void bodyCancelled++),
        duplex: "half",
      } as RequestInit)
    ));
    for (const u of uploads) {
      assert.is(u.status, "rejected");
      assert.is(codeOf((u as PromiseRejectedResult).reason), "connection-reset", String((u as PromiseRejectedResult).reason));
    }

    // Reset in the middle of the response body: the call resolved with the head; the body's read fails.
    for (let i = 0; i < 5; i++) {
      const res = await within(client.fetch(`http://127.0.0.1:${ports.responseBody}/download`), "the response head");
      assert.is(res.status, 200);
      const read = await res.arrayBuffer().then(() => undefined, (e: unknown) => e);
      assert.is(codeOf(read), "connection-reset", String(read));
    }
    await until(() => counted.open() === 0, `the HTTP client's connections to close (${counted.open()} open)`);
    await within(client.close(), "the HTTP client to close");

    // RESP: 100 pipelined calls pending when the peer resets.
    const countedResp = countingConnect();
    const redis = respClient({ connect: () => countedResp.connect({ hostname: "127.0.0.1", port: ports.resp }), poolSize: 1 });
    const calls = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => redis.send("GET", `k${i}`)));
    for (const c of calls) {
      assert.is(c.status, "rejected");
      assert.is(codeOf((c as PromiseRejectedResult).reason), "connection-reset", String((c as PromiseRejectedResult).reason));
    }
    // Ten answered, then the reset: the answered ones keep their answers, the other twenty reject.
    const partial = respClient({ connect: () => countedResp.connect({ hostname: "127.0.0.1", port: ports.respPartial }), poolSize: 1 });
    const pings = await Promise.allSettled(Array.from({ length: 30 }, () => partial.send("PING")));
    for (const [i, p] of pings.entries()) {
      if (i < 10) assert.equal(p, { status: "fulfilled", value: "PONG" });
      else assert.is(codeOf((p as PromiseRejectedResult).reason), "connection-reset", `call ${i}: ${String((p as PromiseRejectedResult).reason)}`);
    }
    await until(() => countedResp.open() === 0 && redis.connections === 0 && partial.connections === 0, "the RESP clients' connections to close");
    await within(Promise.all([redis.close(), partial.close()]), "the RESP clients to close");
    console.log(
      `  ${net.name}: a resetting node:net server: 10 pending requests, 5 uploads mid-body (${bodyCancelled} body streams cancelled), 5 downloads mid-body, ` +
        "100 pipelined RESP calls and 20 of 30 after ten replies: each rejected with connection-reset",
    );
  } finally {
    peer.stop();
  }
  await sleep(20);
  unhandled.stop();
  assert.equal(unhandled.seen, []);
});

test.run();
