/**
 * serveHttp() over this runtime's TCP loopback, checked byte by byte with a
 * raw client: keep-alive, pipelining, Expect: 100-continue, bodiless
 * responses, bodies streaming with backpressure both ways, request.signal,
 * HTTP/1.0 clients, Connection: close, Upgrade and CONNECT hand-offs with
 * leftover bytes, graceful shutdown, and handlers that fail.
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { pattern, patternCopy, stillPending } from "../_helpers.ts";
import { deferred, net, RawClient, sleep, startServer, type TestServer, until, within } from "./_helpers.ts";

const test = suite(`http: server (${net.name})`);
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Servers a test started, shut down after it whatever happened. */
let servers: TestServer[] = [];
async function server(options: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const s = await startServer(options);
  servers.push(s);
  return s;
}
test.after.each(async () => {
  for (const s of servers) await s.stop().catch(() => {});
  servers = [];
});

/** Checks that every byte of `chunk` at `offset` is the test pattern's. */
function checkPattern(chunk: Uint8Array, offset: number): void {
  const expected = pattern(offset, chunk.length);
  for (let i = 0; i < chunk.length; i++) {
    if (chunk[i] !== expected[i]) throw new Error(`byte ${offset + i} is ${chunk[i]}, expected ${expected[i]}`);
  }
}

/** Resolves once `read()` has stopped growing for `quietMs` (a liveness check: nothing is measured). */
async function settles(read: () => number, quietMs = 300, limitMs = 20_000): Promise<number> {
  const started = Date.now();
  let last = read();
  let since = Date.now();
  for (;;) {
    await sleep(20);
    const now = read();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return now;
    }
    if (Date.now() - started > limitMs) throw new Error(`Still moving after ${limitMs} ms: ${now}`);
  }
}

// ── Connections ─────────────────────────────────────────────────────────────

test("keep-alive: several requests and their bodies one after the other on one connection", async () => {
  const ports = new Set<number>();
  const s = await server({
    fetch: async (request, info) => {
      ports.add(info.remoteAddr.port!);
      const url = new URL(request.url);
      const body = request.body ? await request.text() : "";
      return new Response(`${request.method} ${url.pathname}${url.search} host=${url.host} body=${body}`, { headers: { "x-n": url.searchParams.get("n") ?? "" } });
    },
  });
  const c = await RawClient.connect(s.port);
  for (let n = 0; n < 5; n++) {
    if (n % 2 === 0) await c.write(`GET /get?n=${n} HTTP/1.1\r\nHost: example.test:8080\r\n\r\n`);
    else await c.write(`POST /post?n=${n} HTTP/1.1\r\nHost: example.test\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nbody${n}`);
    const r = await c.readResponse();
    assert.is(r.status, 200);
    assert.is(r.version, "HTTP/1.1");
    assert.is(r.header("x-n"), String(n));
    assert.is(r.header("connection"), undefined, "no connection: close");
    assert.ok(r.header("date"), "a Date field");
    assert.is(r.framing, "length");
    assert.is(r.text, n % 2 === 0 ? `GET /get?n=${n} host=example.test:8080 body=` : `POST /post?n=${n} host=example.test body=body${n}`);
  }
  assert.is(ports.size, 1, "one connection");
  assert.is(s.server.connections, 1);
  await c.close();
  await until(() => s.server.connections === 0, "the connection to close");
  assert.equal(s.errors, []);
});

test("pipelining: many requests in one write, answered in order", async () => {
  const s = await server({
    fetch: async (request) => {
      const n = Number(new URL(request.url).searchParams.get("n"));
      const body = request.method === "POST" ? await request.text() : "";
      return new Response(`#${n}${body}`);
    },
  });
  const c = await RawClient.connect(s.port);
  const N = 50;
  let wire = "";
  for (let n = 0; n < N; n++) {
    if (n % 10 === 5) wire += `POST /?n=${n} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n+ab\r\n2\r\ncd\r\n0\r\n\r\n`;
    else wire += `GET /?n=${n} HTTP/1.1\r\nHost: x\r\n\r\n`;
  }
  await c.write(wire);
  for (let n = 0; n < N; n++) {
    const r = await c.readResponse();
    assert.is(r.status, 200);
    assert.is(r.text, n % 10 === 5 ? `#${n}+abcd` : `#${n}`);
  }
  await c.close();
  assert.equal(s.errors, []);
});

test("Connection: close from the client or the handler: the response says so, then the server closes", async () => {
  let calls = 0;
  const s = await server({
    fetch: (request) => {
      calls++;
      return new URL(request.url).pathname === "/bye" ? new Response("bye", { headers: { connection: "close" } }) : new Response("ok");
    },
  });
  const c = await RawClient.connect(s.port);
  // The request after the one with Connection: close is never answered.
  await c.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: x\r\n\r\n");
  const r = await c.readResponse();
  assert.is(r.text, "ok");
  assert.is(r.header("connection"), "close");
  assert.ok(await c.closedByPeer());
  await c.close();
  assert.is(calls, 1);

  const d = await RawClient.connect(s.port);
  await d.write("GET /bye HTTP/1.1\r\nHost: x\r\n\r\n");
  const bye = await d.readResponse();
  assert.is(bye.text, "bye");
  assert.is(bye.header("connection"), "close");
  assert.ok(await d.closedByPeer());
  await d.close();
  await until(() => s.server.connections === 0, "the connections to close");
});

test("HTTP/1.0 clients: no chunked (a stream runs until close), keep-alive only when asked", async () => {
  const s = await server({
    fetch: (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/stream") {
        let n = 0;
        return new Response(new ReadableStream({ pull: (c) => (n < 3 ? c.enqueue(enc.encode(`part${n++};`)) : c.close()) }, { highWaterMark: 0 }));
      }
      return new Response(`fixed ${path}`);
    },
  });
  // A whole body, no keep-alive: Content-Length, then the server closes.
  const a = await RawClient.connect(s.port);
  await a.write("GET /a HTTP/1.0\r\n\r\n");
  const ra = await a.readResponse();
  assert.is(ra.text, "fixed /a");
  assert.is(ra.framing, "length");
  assert.is(ra.header("connection"), "close");
  assert.ok(await a.closedByPeer());
  await a.close();

  // A stream: no chunked for HTTP/1.0, the body ends with the connection.
  const b = await RawClient.connect(s.port);
  await b.write("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  const rb = await b.readResponse();
  assert.is(rb.header("transfer-encoding"), undefined);
  assert.is(rb.header("connection"), "close");
  assert.is(rb.framing, "close");
  assert.is(rb.text, "part0;part1;part2;");
  await b.close();

  // Keep-alive asked for: granted for whole bodies, the connection stays.
  const c = await RawClient.connect(s.port);
  for (const path of ["/one", "/two"]) {
    await c.write(`GET ${path} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`);
    const r = await c.readResponse();
    assert.is(r.text, `fixed ${path}`);
    assert.is(r.header("connection"), "keep-alive");
    assert.is(r.framing, "length");
  }
  await c.close();
  await until(() => s.server.connections === 0, "the connections to close");
  assert.equal(s.errors, []);
});

test("HEAD, 204 and 304 go without a body; a HEAD's body stream is not read", async () => {
  let pulls = 0;
  const s = await server({
    fetch: (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/204") return new Response(null, { status: 204, headers: { "x-a": "1" } });
      if (path === "/304") return new Response(null, { status: 304, headers: { etag: '"v1"' } });
      if (path === "/stream") return new Response(new ReadableStream({ pull: (c) => void (pulls++, c.enqueue(enc.encode("never sent"))) }, { highWaterMark: 0 }));
      return new Response("hello body", { headers: { "content-length": "10" } });
    },
  });
  const c = await RawClient.connect(s.port);
  await c.write(
    "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"v1\"\r\n\r\nHEAD /stream HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  const head = await c.readResponse({ head: true });
  assert.is(head.status, 200);
  assert.is(head.header("content-length"), "10", "HEAD keeps the length a GET would have");
  const noContent = await c.readResponse();
  assert.is(noContent.status, 204);
  assert.is(noContent.header("x-a"), "1");
  assert.is(noContent.header("content-length"), undefined);
  assert.is(noContent.header("transfer-encoding"), undefined);
  const notModified = await c.readResponse();
  assert.is(notModified.status, 304);
  assert.is(notModified.header("etag"), '"v1"');
  assert.is(notModified.header("transfer-encoding"), undefined);
  const headStream = await c.readResponse({ head: true });
  assert.is(headStream.status, 200);
  const get = await c.readResponse();
  assert.is(get.text, "hello body", "nothing stray between the responses");
  // Read at most to see whether it is a whole body (whose length a HEAD response gives), never pumped.
  assert.ok(pulls <= 2, `a HEAD's body stream is cancelled, not read through (${pulls} pulls)`);
  await c.close();
  assert.equal(s.errors, []);
});

test("info: remoteAddr and localAddr are the connection's", async () => {
  const s = await server({
    fetch: (_request, info) => Response.json({ remote: info.remoteAddr, local: info.localAddr }),
  });
  const c = await RawClient.connect(s.port);
  await c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const got = JSON.parse((await c.readResponse()).text);
  assert.is(got.remote.hostname, "127.0.0.1");
  assert.is(got.remote.port, c.conn.localAddr.port);
  assert.is(got.remote.transport, "tcp");
  assert.is(got.local.hostname, "127.0.0.1");
  assert.is(got.local.port, s.port);
  await c.close();
});

test("whole bodies (text, bytes, JSON) leave with a Content-Length, streams chunked", async () => {
  const s = await server({
    fetch: (request) => {
      switch (new URL(request.url).pathname) {
        case "/text":
          return new Response("some text");
        case "/bytes":
          return new Response(new Uint8Array([1, 2, 3]));
        case "/json":
          return Response.json({ a: [1, 2] });
        case "/empty":
          return new Response("");
        default:
          return new Response(new ReadableStream({ start: (c) => void (c.enqueue(enc.encode("now ")), setTimeout(() => (c.enqueue(enc.encode("later")), c.close()), 10)) }));
      }
    },
  });
  const c = await RawClient.connect(s.port);
  const cases: [string, string, string][] = [["/text", "length", "some text"], ["/bytes", "length", "\x01\x02\x03"], ["/json", "length", '{"a":[1,2]}'], ["/empty", "length", ""], ["/stream", "chunked", "now later"]];
  for (const [path, framing, body] of cases) {
    await c.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const r = await c.readResponse();
    assert.is(r.framing, framing, path);
    assert.is(r.text, body, path);
  }
  await c.close();
  assert.equal(s.errors, []);
});

test("idleTimeoutMs: an idle keep-alive connection is closed; one with a request in flight is not", async () => {
  const release = deferred();
  const started = deferred();
  const s = await server({
    idleTimeoutMs: 200,
    fetch: async (request) => {
      if (new URL(request.url).pathname === "/slow") {
        started.resolve();
        await within(release.promise, "the release");
      }
      return new Response("ok");
    },
  });
  const idle = await RawClient.connect(s.port);
  await idle.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.is((await idle.readResponse()).text, "ok");
  const busy = await RawClient.connect(s.port);
  await busy.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  await within(started.promise, "the slow request");
  assert.ok(await idle.closedByPeer(), "the idle connection is closed");
  await idle.close();
  release.resolve();
  const r = await busy.readResponse();
  assert.is(r.text, "ok", "the busy one was answered");
  await busy.close();
  assert.equal(s.errors, []);
});

// ── Expect: 100-continue ────────────────────────────────────────────────────

test("Expect: 100-continue: the 100 arrives before the body is sent, once the handler reads", async () => {
  const reading = deferred();
  let gate = deferred();
  let readingStarted = false;
  const s = await server({
    fetch: async (request) => {
      if (new URL(request.url).pathname === "/refuse") return new Response("too big", { status: 413 });
      await within(gate.promise, "the gate");
      readingStarted = true;
      reading.resolve();
      return new Response(`got ${await request.text()}`);
    },
  });
  const c = await RawClient.connect(s.port);
  await c.write("POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n");
  const pending = c.readHead();
  assert.ok(await stillPending(pending, 100), "no 100 while the handler has not read");
  gate.resolve();
  const interim = await pending;
  assert.ok(readingStarted, "the 100 came once the handler read, not before");
  assert.is(interim.status, 100);
  assert.is(interim.statusText, "Continue");
  assert.is(interim.rawHead, "HTTP/1.1 100 Continue\r\n\r\n");
  await within(reading.promise, "the handler to read");
  await c.write("hello world");
  const r = await c.readResponse();
  assert.is(r.status, 200);
  assert.is(r.text, "got hello world");
  // The connection goes on.
  gate = deferred();
  gate.resolve();
  await c.write("POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nTransfer-Encoding: chunked\r\n\r\n");
  assert.is((await c.readHead()).status, 100);
  await c.write("3\r\nabc\r\n0\r\n\r\n");
  assert.is((await c.readResponse()).text, "got abc");
  await c.close();

  // A handler that answers without reading: no 100, the final response, and the connection closes (the body was never sent).
  const d = await RawClient.connect(s.port);
  await d.write("POST /refuse HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n");
  const refused = await d.readResponse();
  assert.is(refused.status, 413, "the final response comes first");
  assert.is(refused.text, "too big");
  assert.is(refused.header("connection"), "close");
  assert.ok(await d.closedByPeer());
  await d.close();

  // An expectation the server cannot meet.
  const e = await RawClient.connect(s.port);
  await e.write("POST /upload HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\nContent-Length: 1\r\n\r\nx");
  assert.is((await e.readResponse()).status, 417);
  await e.close();
  assert.equal(s.errors, []);
});

// ── Bodies and backpressure ─────────────────────────────────────────────────

test("a large upload read slowly: the client is held back, nothing piles up, every byte arrives", async () => {
  const TOTAL = 48 * 1024 * 1024;
  const gate = deferred();
  let received = 0;
  const s = await server({
    fetch: async (request) => {
      await gate.promise;
      const reader = request.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        checkPattern(value, received);
        received += value.length;
        if (received % (4 * 1024 * 1024) < value.length) await sleep(1); // slow reader
      }
      return new Response(`received ${received}`);
    },
  });
  const c = await RawClient.connect(s.port);
  await c.write(`PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${TOTAL}\r\n\r\n`);
  let written = 0;
  const CHUNK = 256 * 1024;
  const writing = (async () => {
    while (written < TOTAL) {
      const n = Math.min(CHUNK, TOTAL - written);
      await c.write(patternCopy(written, n));
      written += n;
    }
  })();
  writing.catch(() => {});
  // While the handler does not read, the writes stop: the server holds at most its buffers, not the upload.
  const stalled = await settles(() => written);
  // What sits in the socket buffers of both kernels (a few MiB on Linux) and the server's read-ahead (64 KiB), not the upload.
  assert.ok(stalled < 16 * 1024 * 1024, `the client was held back after ${stalled} of ${TOTAL} bytes`);
  assert.is(received, 0);
  gate.resolve();
  await within(writing, "the upload", 60_000);
  const r = await c.readResponse();
  assert.is(r.text, `received ${TOTAL}`);
  assert.is(received, TOTAL);
  await c.close();
  assert.equal(s.errors, []);
});

test("a large response read slowly: the body's source is pulled only as the client reads", async () => {
  const TOTAL = 64 * 1024 * 1024;
  const CHUNK = 64 * 1024;
  for (const framing of ["length", "chunked"] as const) {
    let pulled = 0;
    const s = await server({
      fetch: () => {
        const body = new ReadableStream<Uint8Array>(
          {
            pull(c) {
              c.enqueue(patternCopy(pulled, CHUNK));
              pulled += CHUNK;
              if (pulled >= TOTAL) c.close();
            },
          },
          { highWaterMark: 0 },
        );
        return new Response(body, framing === "length" ? { headers: { "content-length": String(TOTAL) } } : {});
      },
    });
    const c = await RawClient.connect(s.port);
    await c.write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    // The client reads nothing for a while: the server stops pulling.
    const stalled = await settles(() => pulled);
    assert.ok(stalled < 16 * 1024 * 1024, `${framing}: the source was held back after ${stalled} of ${TOTAL} bytes`);
    let got = 0;
    const r = await c.readResponse({
      onBody: async (chunk) => {
        checkPattern(chunk, got);
        got += chunk.length;
        if (got % (8 * 1024 * 1024) < chunk.length) await sleep(1);
      },
    });
    assert.is(r.framing, framing);
    assert.is(got, TOTAL);
    assert.is(pulled, TOTAL);
    // The connection is fine after it.
    await c.write("GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let again = 0;
    pulled = 0;
    await c.readResponse({ onBody: (chunk) => void (again += chunk.length) });
    assert.is(again, TOTAL);
    await c.close();
    assert.equal(s.errors, []);
  }
});

test("request bodies: unread ones are dropped to keep the connection; Content-Length and chunked alike", async () => {
  const s = await server({
    fetch: async (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/ignore") return new Response("ignored");
      if (path === "/half") {
        const reader = request.body!.getReader();
        const first = await reader.read();
        reader.releaseLock();
        return new Response(`first ${(first.value?.length ?? 0) > 0}`);
      }
      return new Response(new Uint8Array(await request.arrayBuffer()).length.toString());
    },
  });
  const c = await RawClient.connect(s.port);
  const big = "x".repeat(100_000);
  await c.write(`POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: ${big.length}\r\n\r\n${big}`);
  assert.is((await c.readResponse()).text, "ignored");
  await c.write(`POST /half HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`);
  assert.is((await c.readResponse()).text, "first true");
  await c.write(`POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: ${big.length}\r\n\r\n${big}`);
  assert.is((await c.readResponse()).text, String(big.length));
  // A GET's body (fetch's Request cannot carry one) is dropped too.
  await c.write("GET /count HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /count HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.is((await c.readResponse()).text, "0");
  assert.is((await c.readResponse()).text, "0");
  await c.close();

  // Past maxDrainBytes, the connection closes after the response instead.
  const t = await server({ fetch: () => new Response("no"), maxDrainBytes: 1000 });
  const d = await RawClient.connect(t.port);
  await d.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${big.length}\r\n\r\n${big}`);
  const r = await d.readResponse();
  assert.is(r.text, "no");
  await until(() => t.server.connections === 0, "the connection to close");
  await d.close();
  assert.equal(s.errors, []);
});

test("request.signal aborts when the client goes away mid-request (its end or a reset)", async () => {
  for (const how of ["end", "reset"] as const) {
    const started = deferred();
    const aborted = deferred<unknown>();
    const s = await server({
      fetch: async (request) => {
        started.resolve();
        request.signal.addEventListener("abort", () => aborted.resolve(request.signal.reason));
        await within(aborted.promise, "the abort");
        return new Response("too late");
      },
    });
    const c = await RawClient.connect(s.port);
    await c.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    await within(started.promise, "the handler to start");
    if (how === "end") await c.close();
    else await c.abort();
    const reason = await within(aborted.promise, `request.signal to abort (${how})`);
    assert.ok(reason !== undefined, how);
    await until(() => s.server.connections === 0, "the connection to close");
    assert.equal(s.errors, [], how);
  }
});

// ── Upgrade and CONNECT ─────────────────────────────────────────────────────

test("Upgrade: the handler gets the connection and the bytes sent behind the head in the same write", async () => {
  const handed = deferred<string>();
  const s = await server({
    fetch: (request, info) => {
      if (request.headers.get("upgrade") !== "echo") return new Response("no upgrade here", { status: 426 });
      const { response, conn } = info.upgrade({ headers: { upgrade: "echo", "x-proto": "1" } });
      conn.then(async ({ conn, leftover }) => {
        handed.resolve(dec.decode(leftover));
        const writer = conn.writable.getWriter();
        await writer.write(leftover.slice());
        const reader = conn.readable.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          await writer.write(value);
        }
        await writer.close().catch(() => {});
        await conn.close();
      }).catch((e) => handed.reject(e));
      return response;
    },
  });
  const c = await RawClient.connect(s.port);
  await c.write("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nHELLO-LEFTOVER|");
  const head = await c.readHead();
  assert.is(head.status, 101);
  assert.is(head.statusText, "Switching Protocols");
  const fields = Object.fromEntries(head.fields);
  assert.is(fields["upgrade"], "echo");
  assert.is(fields["connection"], "upgrade");
  assert.is(fields["x-proto"], "1");
  assert.is(fields["content-length"], undefined);
  assert.is(fields["transfer-encoding"], undefined);
  assert.is(await within(handed.promise, "the hand-over"), "HELLO-LEFTOVER|");
  assert.is(await c.readUntil("HELLO-LEFTOVER|"), "HELLO-LEFTOVER|");
  await c.write("GET / HTTP/1.1\r\n\r\n"); // the new protocol's bytes now, not HTTP
  assert.is(await c.readUntil("\r\n\r\n"), "GET / HTTP/1.1\r\n\r\n");
  assert.is(s.server.connections, 1, "an upgraded connection is counted");
  await c.end();
  assert.is(await c.readToEnd(), "");
  await c.close();
  await until(() => s.server.connections === 0, "the upgraded connection to close");

  // Declined: an ordinary response, and HTTP goes on on that connection.
  const d = await RawClient.connect(s.port);
  await d.write("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n");
  const declined = await d.readResponse();
  assert.is(declined.status, 426);
  assert.is((await d.readResponse()).status, 426);
  await d.close();
  assert.equal(s.errors, []);
});

test("info.upgrade() on a request that asks for none throws a TypeError", async () => {
  const s = await server({
    fetch: (_request, info) => {
      try {
        info.upgrade();
        return new Response("upgraded?");
      } catch (error) {
        return new Response(String((error as Error).name));
      }
    },
  });
  const c = await RawClient.connect(s.port);
  await c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.is((await c.readResponse()).text, "TypeError");
  await c.close();
});

test("CONNECT through the connect option: a tunnel to a real echo server, with the bytes sent behind the head", async () => {
  // The far end of the tunnel: an echo server.
  const far = await net.listen({ hostname: "127.0.0.1", port: 0 });
  const farConns: Promise<void>[] = [];
  (async () => {
    for await (const conn of far) farConns.push(conn.readable.pipeTo(conn.writable).catch(() => {}));
  })().catch(() => {});
  const authorities: string[] = [];
  const s = await server({
    fetch: () => new Response("not a proxy"),
    connect: async (request, info) => {
      authorities.push(request.authority);
      if (request.headers.get("proxy-authorization") !== "Basic dGVzdA==") return new Response("who are you", { status: 407, headers: { "proxy-authenticate": "Basic" } });
      const [host, port] = request.authority.split(":");
      const upstream = await net.connect({ hostname: host!, port: Number(port) });
      const { response, conn } = info.upgrade();
      conn.then(async ({ conn, leftover }) => {
        const w = upstream.writable.getWriter();
        await w.write(leftover.slice());
        w.releaseLock();
        await Promise.all([conn.readable.pipeTo(upstream.writable).catch(() => {}), upstream.readable.pipeTo(conn.writable).catch(() => {})]);
        await conn.close().catch(() => {});
        await upstream.close().catch(() => {});
      }).catch(() => upstream.close());
      return response;
    },
  });
  const target = `127.0.0.1:${far.addr.port}`;
  const refused = await RawClient.connect(s.port);
  await refused.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  const r407 = await refused.readResponse();
  assert.is(r407.status, 407);
  assert.is(r407.text, "who are you");
  await refused.close();

  const c = await RawClient.connect(s.port);
  await c.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\nProxy-Authorization: Basic dGVzdA==\r\n\r\nSENT-EARLY|`);
  const head = await c.readHead();
  assert.is(head.status, 200);
  const fields = Object.fromEntries(head.fields);
  assert.is(fields["content-length"], undefined, "a 2xx to CONNECT has no Content-Length");
  assert.is(fields["transfer-encoding"], undefined, "a 2xx to CONNECT has no Transfer-Encoding");
  assert.is(await c.readUntil("SENT-EARLY|"), "SENT-EARLY|");
  await c.write("through the tunnel");
  assert.is(await c.readUntil("tunnel"), "through the tunnel");
  await c.end();
  assert.is(await c.readToEnd(), "");
  await c.close();
  assert.equal(authorities, [target, target]);
  await until(() => s.server.connections === 0, "the tunnel to close");
  await far.close();
  await Promise.all(farConns);

  // Without a connect option: 405.
  const t = await server({ fetch: () => new Response("x") });
  const d = await RawClient.connect(t.port);
  await d.write("CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n");
  assert.is((await d.readResponse()).status, 405);
  await d.close();
});

// ── Shutdown and failures ───────────────────────────────────────────────────

test("graceful shutdown: idle connections close, a request in flight finishes with connection: close", async () => {
  const inFlight = deferred();
  const release = deferred();
  let shutdownSeen = false;
  const s = await server({
    fetch: async (request, info) => {
      if (new URL(request.url).pathname === "/slow") {
        inFlight.resolve();
        await within(release.promise, "the release");
        shutdownSeen = info.shutdown.aborted;
        return new Response("finished");
      }
      return new Response("quick");
    },
  });
  const idle = await RawClient.connect(s.port);
  await idle.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.is((await idle.readResponse()).text, "quick");
  const busy = await RawClient.connect(s.port);
  await busy.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  await within(inFlight.promise, "the slow request to start");
  assert.is(s.server.connections, 2);

  const shutdown = s.server.shutdown({ timeoutMs: 10_000 });
  assert.ok(await idle.closedByPeer(), "the idle connection closes at once");
  await idle.close();
  release.resolve();
  const r = await busy.readResponse();
  assert.is(r.text, "finished");
  assert.is(r.header("connection"), "close");
  assert.ok(await busy.closedByPeer());
  await busy.close();
  await within(shutdown, "the shutdown");
  assert.ok(shutdownSeen, "info.shutdown aborted");
  assert.is(s.server.connections, 0);
  // Nothing listens any more.
  const late = await net.connect({ hostname: "127.0.0.1", port: s.port }).then((conn) => conn.close().then(() => "connected"), () => "refused");
  assert.is(late, "refused");
  assert.equal(s.errors, []);
});

test("a handler that throws or rejects: 500, reported, and the connection still serves", async () => {
  const s = await server({
    fetch: async (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/throw") throw new Error("boom");
      if (path === "/reject") return Promise.reject(new RangeError("later boom"));
      return new Response("fine");
    },
  });
  const c = await RawClient.connect(s.port);
  await c.write("GET /throw HTTP/1.1\r\nHost: x\r\n\r\nGET /ok HTTP/1.1\r\nHost: x\r\n\r\nPOST /reject HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
  const r1 = await c.readResponse();
  assert.is(r1.status, 500);
  assert.is(r1.statusText, "Internal Server Error");
  assert.not.match(r1.text, "boom", "the error is not shown to the client");
  assert.is((await c.readResponse()).text, "fine");
  assert.is((await c.readResponse()).status, 500);
  assert.is((await c.readResponse()).text, "fine");
  await c.close();
  assert.is(s.errors.length, 2);
  assert.is((s.errors[0] as Error).message, "boom");
  assert.instance(s.errors[1], RangeError);
});

test("a handler that returns something other than a Response: 500, reported as a TypeError", async () => {
  const values: unknown[] = ["a string", null, undefined, { status: 200 }, 42];
  let i = 0;
  const s = await server({ fetch: (() => values[i++]) as unknown as () => Response });
  const c = await RawClient.connect(s.port);
  for (let n = 0; n < values.length; n++) {
    await c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.is((await c.readResponse()).status, 500, String(values[n]));
  }
  await c.close();
  assert.is(s.errors.length, values.length);
  for (const e of s.errors) assert.instance(e, TypeError);
});

test("a response body that fails half-way: the connection closes, the others carry on", async () => {
  const s = await server({
    fetch: (request) => {
      if (new URL(request.url).pathname !== "/broken") return new Response("fine");
      let n = 0;
      return new Response(
        new ReadableStream({
          pull(c) {
            if (n++ < 2) c.enqueue(enc.encode("some bytes "));
            else c.error(new Error("the source broke"));
          },
        }, { highWaterMark: 0 }),
      );
    },
  });
  const other = await RawClient.connect(s.port);
  const c = await RawClient.connect(s.port);
  await c.write("GET /broken HTTP/1.1\r\nHost: x\r\n\r\n");
  const head = await c.readHead();
  assert.is(head.status, 200, "the head had left already");
  const rest = await c.readToEnd();
  assert.ok(!rest.endsWith("0\r\n\r\n"), "the chunked body is never ended: the client sees it cut short");
  await c.close();
  await other.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.is((await other.readResponse()).text, "fine");
  await other.close();
  await until(() => s.server.connections === 0, "the connections to close");
  assert.ok(s.errors.length <= 1);
});

test.run();
