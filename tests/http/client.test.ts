/**
 * httpClient() over real sockets on 127.0.0.1: against weft's serveHttp(),
 * against this runtime's own HTTP server (node:http on Node, Deno.serve on
 * Deno, Bun.serve on Bun, and node:http's compatibility layer there too),
 * and against raw peers that send exactly the bytes a case needs (bodies
 * read until close, Connection: close, HTTP/1.0, a keep-alive connection
 * closed under a request, malformed responses).
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { type Conn, FrameError, NetError, stack, timeout } from "../../mod.ts";
import { httpClient, type HttpClient, type HttpClientOptions, serveHttp } from "../../src/protocols/http/mod.ts";
import { patternCopy, readPattern, tlsFixtures } from "../_helpers.ts";
import { runtime } from "../_runtime.ts";
import { deferred, latin1, net, sleep, startServer, until, within } from "./_helpers.ts";

const MiB = 1024 * 1024;

/** The request as the app saw it, in response headers. */
function seen(req: Request, port: number): Record<string, string> {
  return {
    "x-method": req.method,
    "x-port": String(port),
    "x-request-length": req.headers.get("content-length") ?? "none",
    "x-request-te": req.headers.get("transfer-encoding") ?? "none",
    "x-host": req.headers.get("host") ?? "none",
  };
}

/** What the app's routes share with the tests. */
interface AppState {
  produced: number;
  cancelled: boolean;
}

/** The app every server runs: a fetch handler, and `port` is the client's (one per connection). */
function app(state: AppState): (req: Request, port: number) => Promise<Response> {
  return async (req, port) => {
    const url = new URL(req.url);
    const info = seen(req, port);
    switch (url.pathname) {
      case "/hello":
        return new Response(req.method === "HEAD" ? null : "hello", { headers: { ...info, "content-type": "text/plain", "content-length": "5" } });
      case "/echo":
        return new Response(req.body, { headers: info });
      case "/sum": {
        const n = await readPattern(req.body!);
        return new Response(`ok ${n}`, { headers: info });
      }
      case "/bytes": {
        const total = Number(url.searchParams.get("n"));
        let at = 0;
        state.produced = 0;
        state.cancelled = false;
        const body = new ReadableStream<Uint8Array>({
          pull(c) {
            if (at >= total) return c.close();
            const n = Math.min(64 * 1024, total - at);
            c.enqueue(patternCopy(at, n));
            at += n;
            state.produced = at;
          },
          cancel() {
            state.cancelled = true;
          },
        }, { highWaterMark: 0 });
        return new Response(body, { headers: info });
      }
      case "/status": {
        const status = Number(url.searchParams.get("code"));
        return new Response(null, { status, headers: { ...info, etag: '"v1"' } });
      }
      case "/redirect":
        return new Response(null, { status: 302, headers: { ...info, location: "/hello" } });
      default:
        return new Response("not found", { status: 404, headers: info });
    }
  };
}

/** A server for the shared cases. */
interface Backend {
  port: number;
  state: AppState;
  stop(): Promise<void>;
}

async function weftBackend(): Promise<Backend> {
  const state: AppState = { produced: 0, cancelled: false };
  const handle = app(state);
  const s = await startServer({ fetch: (req, info) => handle(req, info.remoteAddr.port!) });
  return { port: s.port, state, stop: s.stop };
}

/** node:http's server, with the same app behind a small fetch-style bridge (bodies streamed with backpressure both ways). */
async function nodeHttpBackend(): Promise<Backend> {
  const http = await import("node:http");
  const state: AppState = { produced: 0, cancelled: false };
  const handle = app(state);
  const server = http.createServer((req, res) => {
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    const it = req[Symbol.asyncIterator]();
    const body = req.method === "GET" || req.method === "HEAD" ? null : new ReadableStream<Uint8Array>({
      async pull(c) {
        const r = await it.next();
        if (r.done) c.close();
        else c.enqueue(new Uint8Array(r.value as Uint8Array));
      },
    }, { highWaterMark: 0 });
    const init: RequestInit & { duplex: "half" } = { method: req.method!, headers, body, duplex: "half" };
    handle(new Request(`http://${req.headers.host}${req.url}`, init), req.socket.remotePort!).then(async (response) => {
      res.statusCode = response.status;
      for (const [name, value] of response.headers) res.setHeader(name, value);
      if (response.body === null || req.method === "HEAD") return void res.end();
      for await (const chunk of response.body) {
        if (!res.write(chunk)) await new Promise((resolve) => res.once("drain", resolve));
      }
      res.end();
    }).catch((error) => res.destroy(error));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    state,
    stop: () =>
      within(new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }), "node:http to close"),
  };
}

interface DenoServe {
  serve(options: { hostname: string; port: number; onListen(addr: unknown): void }, handler: (req: Request, info: { remoteAddr: { port: number } }) => Promise<Response>): {
    addr: { port: number };
    shutdown(): Promise<void>;
  };
}

async function denoBackend(): Promise<Backend> {
  const Deno = (globalThis as unknown as { Deno: DenoServe }).Deno;
  const state: AppState = { produced: 0, cancelled: false };
  const handle = app(state);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req, info) => handle(req, info.remoteAddr.port));
  return { port: server.addr.port, state, stop: () => within(server.shutdown(), "Deno.serve to shut down") };
}

interface BunServe {
  serve(options: { hostname: string; port: number; fetch(req: Request, server: { requestIP(req: Request): { port: number } | null }): Promise<Response> }): {
    port: number;
    stop(force?: boolean): Promise<void> | void;
  };
}

async function bunBackend(): Promise<Backend> {
  const Bun = (globalThis as unknown as { Bun: BunServe }).Bun;
  const state: AppState = { produced: 0, cancelled: false };
  const handle = app(state);
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req, s) => handle(req, s.requestIP(req)?.port ?? 0) });
  return { port: server.port, state, stop: async () => void (await server.stop(true)) };
}

const backends: [string, () => Promise<Backend>][] = [
  ["weft serveHttp", weftBackend],
  ["node:http", nodeHttpBackend],
];
if (runtime === "deno") backends.push(["Deno.serve", denoBackend]);
if (runtime === "bun") backends.push(["Bun.serve", bunBackend]);

function client(options: Partial<HttpClientOptions> = {}): HttpClient {
  return httpClient({ connect: net.connect, ...options });
}

/** A body of `total` pattern bytes that arrives in pieces (so it goes chunked), counting what was pulled. */
function upload(total: number, onPull?: (pulled: number) => void): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      if (at >= total) return c.close();
      await undefined;
      const n = Math.min(64 * 1024, total - at);
      c.enqueue(patternCopy(at, n));
      at += n;
      onPull?.(at);
    },
  }, { highWaterMark: 0 });
}

/** A stream of a few pieces with a real pause between them: certainly not all there at once. */
function trickle(...parts: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      const part = parts.shift();
      if (part === undefined) return c.close();
      await sleep(5);
      c.enqueue(new TextEncoder().encode(part));
    },
  }, { highWaterMark: 0 });
}

const post = (url: string, body: BodyInit | null, init: RequestInit = {}) => new Request(url, { method: "POST", body, duplex: "half", ...init } as RequestInit);

for (const [name, start] of backends) {
  const test = suite(`http client: against ${name} (${runtime})`);
  let backend: Backend;
  let base: string;
  test.before(async () => {
    backend = await start();
    base = `http://127.0.0.1:${backend.port}`;
  });
  test.after(async () => {
    await backend.stop();
  });

  test("GET: status, headers and body; Host from the URL", async () => {
    const c = client();
    const res = await within(c.call(new Request(`${base}/hello?x=1#frag`)), "GET /hello");
    assert.is(res.status, 200);
    assert.is(res.statusText, "OK");
    assert.is(res.headers.get("content-type"), "text/plain");
    assert.is(res.headers.get("x-method"), "GET");
    assert.is(res.headers.get("x-host"), `127.0.0.1:${backend.port}`);
    assert.is(await res.text(), "hello");
    const missing = await c.fetch(`${base}/nowhere`);
    assert.is(missing.status, 404);
    assert.is(await missing.text(), "not found");
    await c.close();
  });

  test("POST and PUT bodies: all there (Content-Length), streamed (chunked), with a Content-Length of the caller's", async () => {
    const c = client();
    const small = await c.call(post(`${base}/echo`, "hello there"));
    assert.is(small.headers.get("x-request-length"), "11");
    assert.is(small.headers.get("x-request-te"), "none");
    assert.is(await small.text(), "hello there");

    const streamed = await c.call(post(`${base}/echo`, trickle("one ", "two ", "three")));
    assert.is(streamed.headers.get("x-request-length"), "none");
    assert.is(streamed.headers.get("x-request-te"), "chunked");
    assert.is(await streamed.text(), "one two three");

    const put = await c.call(post(`${base}/echo`, trickle("abc", "de"), { method: "PUT", headers: { "content-length": "5" } }));
    assert.is(put.headers.get("x-method"), "PUT");
    assert.is(put.headers.get("x-request-length"), "5");
    assert.is(put.headers.get("x-request-te"), "none");
    assert.is(await put.text(), "abcde");

    const empty = await c.call(new Request(`${base}/echo`, { method: "POST" }));
    assert.is(empty.headers.get("x-request-length"), "0", "a POST with no body says so");
    assert.is(await empty.text(), "");
    await c.close();
  });

  test("large bodies both ways: 4 MiB streamed up, 4 MiB streamed down, 4 MiB echoed", async () => {
    const c = client();
    const up = await within(c.call(post(`${base}/sum`, upload(4 * MiB))), "the upload");
    assert.is(await up.text(), `ok ${4 * MiB}`);
    const down = await within(c.fetch(`${base}/bytes?n=${4 * MiB}`), "the download");
    assert.is(await within(readPattern(down.body!), "the download's body"), 4 * MiB);
    const echoed = await within(c.call(post(`${base}/echo`, upload(4 * MiB))), "the echo");
    assert.is(await within(readPattern(echoed.body!), "the echoed body"), 4 * MiB);
    await c.close();
  });

  test("keep-alive: requests one after the other share one connection", async () => {
    const c = client();
    const ports = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const res = await c.fetch(`${base}/hello`);
      ports.add(res.headers.get("x-port")!);
      await res.text();
    }
    const res = await c.call(post(`${base}/echo`, "x"));
    ports.add(res.headers.get("x-port")!);
    await res.text();
    assert.is(ports.size, 1, `ports seen by the server: ${[...ports]}`);
    await c.close();
  });

  test("HEAD, 204 and 304 have no body, and the connection carries on after them", async () => {
    const c = client();
    const head = await c.call(new Request(`${base}/hello`, { method: "HEAD" }));
    assert.is(head.status, 200);
    assert.is(head.body, null);
    const port = head.headers.get("x-port");
    const none = await c.fetch(`${base}/status?code=204`);
    assert.is(none.status, 204);
    assert.is(none.body, null);
    const cached = await c.fetch(`${base}/status?code=304`, { headers: { "if-none-match": '"v1"' } });
    assert.is(cached.status, 304);
    assert.is(cached.headers.get("etag"), '"v1"');
    assert.is(cached.body, null);
    const after = await c.fetch(`${base}/hello`);
    assert.is(await after.text(), "hello");
    assert.is(after.headers.get("x-port"), port, "the same connection");
    await c.close();
  });

  test("redirects come back as they are", async () => {
    const c = client();
    const res = await c.fetch(`${base}/redirect`);
    assert.is(res.status, 302);
    assert.is(res.headers.get("location"), "/hello");
    assert.is(res.redirected, false);
    await c.close();
  });

  test("concurrency: 40 calls at once spread over a pool of 4", async () => {
    const c = client({ poolSize: 4 });
    const results = await within(Promise.all(Array.from({ length: 40 }, async (_, i) => {
      const res = await c.fetch(`${base}/bytes?n=${20_000 + i}`);
      return { port: res.headers.get("x-port")!, n: await readPattern(res.body!) };
    })), "40 calls");
    assert.ok(results.every((r, i) => r.n === 20_000 + i));
    const ports = new Set(results.map((r) => r.port));
    assert.ok(ports.size >= 1 && ports.size <= 4, `${ports.size} connections`);
    await c.close();
  });

  test.run();
}

// ── Behaviour against weft's server, where the tests can see inside it ─────

const behaviour = suite(`http client: aborts, backpressure, limits (${runtime})`);

behaviour("aborting mid-body errors the body and closes the connection; the next call opens another", async () => {
  const b = await weftBackend();
  const c = client();
  const controller = new AbortController();
  const res = await c.call(new Request(`http://127.0.0.1:${b.port}/bytes?n=${64 * MiB}`), { signal: controller.signal });
  const reader = res.body!.getReader();
  assert.ok((await reader.read()).value!.length > 0);
  const reason = new Error("enough");
  controller.abort(reason);
  const failed = await reader.read().then(() => undefined, (e: unknown) => e);
  assert.is(failed, reason);
  await until(() => b.state.cancelled, "the server to see its response cancelled");
  const next = await c.fetch(`http://127.0.0.1:${b.port}/hello`);
  assert.is.not(next.headers.get("x-port"), res.headers.get("x-port"));
  assert.is(await next.text(), "hello");
  await c.close();
  await b.stop();
});

behaviour("cancelling a body before its end closes the connection; an unread small body does not hold its connection", async () => {
  const b = await weftBackend();
  const c = client({ poolSize: 1 });
  const big = await c.fetch(`http://127.0.0.1:${b.port}/bytes?n=${64 * MiB}`);
  await big.body!.cancel();
  await until(() => b.state.cancelled, "the server to see its response cancelled");
  const ports = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const res = await within(c.fetch(`http://127.0.0.1:${b.port}/hello`), "a call after unread bodies");
    ports.add(res.headers.get("x-port")!); // the body ("hello") is never read
  }
  assert.is(ports.size, 1);
  assert.not.ok(ports.has(big.headers.get("x-port")!));
  await c.close();
  await b.stop();
});

behaviour("the request's own signal aborts too, and an aborted signal rejects at once", async () => {
  const b = await weftBackend();
  const c = client();
  const controller = new AbortController();
  const res = await c.call(new Request(`http://127.0.0.1:${b.port}/bytes?n=${64 * MiB}`, { signal: controller.signal }));
  const reader = res.body!.getReader();
  await reader.read();
  controller.abort(new Error("stop"));
  const failed = await reader.read().then(() => undefined, (e: unknown) => e);
  assert.is((failed as Error).message, "stop");
  const already = await c.fetch(`http://127.0.0.1:${b.port}/hello`, { signal: AbortSignal.abort(new Error("before")) }).catch((e: unknown) => e);
  assert.is((already as Error).message, "before");
  await c.close();
  await b.stop();
});

behaviour("timeout() bounds the wait for the head; the slow connection is closed and the next call works", async () => {
  const gate = deferred();
  let aborted = false;
  const s = await startServer({
    fetch: async (req) => {
      if (new URL(req.url).pathname === "/slow") {
        req.signal.addEventListener("abort", () => (aborted = true));
        await gate.promise;
      }
      return new Response("fast");
    },
  });
  const c = client();
  const timed = stack(timeout({ ms: 100 }))(c);
  const error = await timed.call(new Request(`http://127.0.0.1:${s.port}/slow`)).catch((e: unknown) => e);
  assert.instance(error, DOMException);
  assert.is((error as DOMException).name, "TimeoutError");
  await until(() => aborted, "the server to see the client go");
  const res = await c.call(new Request(`http://127.0.0.1:${s.port}/fast`));
  assert.is(await res.text(), "fast");
  gate.resolve();
  await c.close();
  await s.stop();
});

/** Waits until `value()` has not changed for a while: the producer has stopped. */
async function stalls(value: () => number, what: string): Promise<number> {
  let last = -1;
  let still = 0;
  const started = Date.now();
  while (still < 10) {
    await sleep(20);
    const now = value();
    still = now === last ? still + 1 : 0;
    last = now;
    if (Date.now() - started > 10_000) throw new Error(`${what} never stopped (at ${now})`);
  }
  return last;
}

behaviour("backpressure down: a response body nobody reads stops the server's producer", async () => {
  const b = await weftBackend();
  const c = client();
  const total = 256 * MiB;
  const res = await c.fetch(`http://127.0.0.1:${b.port}/bytes?n=${total}`);
  const reader = res.body!.getReader();
  await reader.read();
  const produced = await stalls(() => b.state.produced, "the server's producer");
  assert.ok(produced < total / 4, `the server produced ${produced} bytes of ${total} for a reader that stopped`);
  let read = 0;
  for (let i = 0; i < 10; i++) read += (await reader.read()).value!.length;
  assert.ok(read > 0);
  await reader.cancel();
  await c.close();
  await b.stop();
});

behaviour("backpressure up: a request body the server does not read is not pulled ahead", async () => {
  const gate = deferred();
  const s = await startServer({
    fetch: async (req) => {
      const reader = req.body!.getReader();
      let n = (await reader.read()).value!.length;
      await gate.promise;
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        n += r.value.length;
      }
      return new Response(`got ${n}`);
    },
  });
  const c = client();
  const total = 64 * MiB;
  let pulled = 0;
  const call = c.call(post(`http://127.0.0.1:${s.port}/`, upload(total, (n) => (pulled = n))));
  const stopped = await stalls(() => pulled, "the request body's reads");
  assert.ok(stopped < total / 2, `pulled ${stopped} bytes of ${total} while the server read none`);
  gate.resolve();
  const res = await within(call, "the upload to finish", 60_000);
  assert.is(await res.text(), `got ${total}`);
  await c.close();
  await s.stop();
});

behaviour("a request body that fails, or breaks its Content-Length, rejects the call and closes the connection", async () => {
  const b = await weftBackend();
  const c = client({ poolSize: 1 });
  const url = `http://127.0.0.1:${b.port}/echo`;
  const first = await c.fetch(url, { method: "POST", body: "warm" });
  const port = first.headers.get("x-port");
  await first.text();
  let sent = false;
  const failing = new ReadableStream<Uint8Array>({
    async pull(ctl) {
      if (sent) throw new Error("the source broke");
      sent = true;
      await sleep(5);
      ctl.enqueue(new Uint8Array(10));
    },
  });
  const broken = await c.call(post(url, failing)).then((r) => r.text()).catch((e: unknown) => e);
  assert.instance(broken, NetError);
  const short = await c.call(post(url, trickle("12345"), { headers: { "content-length": "10" } })).then((r) => r.text()).catch((e: unknown) => e);
  assert.instance(short, Error);
  const after = await within(c.fetch(url, { method: "POST", body: "again" }), "a call after the broken bodies");
  assert.is(await after.text(), "again");
  assert.is.not(after.headers.get("x-port"), port);
  await c.close();
  await b.stop();
});

behaviour("a full pool queues calls up to maxQueued, then refuses with overloaded", async () => {
  const gate = deferred();
  const s = await startServer({ fetch: async () => (await gate.promise, new Response("done")) });
  const c = client({ poolSize: 1, maxQueued: 2 });
  const url = `http://127.0.0.1:${s.port}/`;
  const first = c.fetch(url);
  await sleep(20);
  const queued = [c.fetch(url), c.fetch(url)];
  const refused = await c.fetch(url).catch((e: unknown) => e);
  assert.instance(refused, NetError);
  assert.is((refused as NetError).code, "overloaded");
  gate.resolve();
  for (const r of await within(Promise.all([first, ...queued]), "the queued calls")) assert.is(await r.text(), "done");
  await c.close();
  await s.stop();
});

behaviour("connection refused is a NetError with its code; bad arguments are TypeError and RangeError", async () => {
  const l = await net.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port!;
  await l.close();
  const c = client();
  const error = await c.fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
  assert.instance(error, NetError);
  assert.is((error as NetError).code, "connection-refused");

  assert.throws(() => httpClient({} as HttpClientOptions), (e: unknown) => e instanceof TypeError && /connect/.test((e as Error).message));
  assert.throws(() => httpClient({ connect: net.connect, poolSize: 0 }), (e: unknown) => e instanceof RangeError && /poolSize 0/.test((e as Error).message));
  assert.throws(() => httpClient({ connect: net.connect, maxHeadBytes: -1 }), RangeError);
  const ftp = await c.fetch("ftp://127.0.0.1/x").catch((e: unknown) => e);
  assert.instance(ftp, TypeError);
  const https = await c.fetch("https://127.0.0.1/").catch((e: unknown) => e);
  assert.instance(https, TypeError);
  assert.match((https as Error).message, /connectTls/);
  const notRequest = await c.call("http://127.0.0.1/" as unknown as Request).catch((e: unknown) => e);
  assert.instance(notRequest, TypeError);
  const badLength = await c.fetch(`http://127.0.0.1:${port}/`, { headers: { "content-length": "x" } }).catch((e: unknown) => e);
  assert.instance(badLength, TypeError);
  await c.close();
  const closed = await c.fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
  assert.is((closed as NetError).code, "closed");
});

behaviour("one client, several origins; past maxOrigins an idle origin gives way", async () => {
  const a = await weftBackend();
  const b = await weftBackend();
  const c = client({ maxOrigins: 1 });
  assert.is(await (await c.fetch(`http://127.0.0.1:${a.port}/hello`)).text(), "hello");
  assert.is(await (await c.fetch(`http://127.0.0.1:${b.port}/hello`)).text(), "hello");
  assert.is(await (await c.fetch(`http://localhost:${a.port}/hello`)).text(), "hello");
  await c.close();
  await a.stop();
  await b.stop();
});

behaviour("https: through connectTls, the certificate checked against the given CA", async () => {
  const listener = await net.listenTls({ hostname: "127.0.0.1", port: 0, cert: tlsFixtures.cert, key: tlsFixtures.key });
  const server = serveHttp({ listener, scheme: "https", onError: () => {}, fetch: (req) => new Response(`secure ${new URL(req.url).protocol}`) });
  const url = `https://localhost:${listener.addr.port}/`;
  const c = httpClient({ connectTls: net.connectTls, tls: { caCerts: [tlsFixtures.ca] } });
  assert.is(await (await within(c.fetch(url), "an https call")).text(), "secure https:");
  const plain = await c.fetch(url.replace("https:", "http:")).catch((e: unknown) => e);
  assert.instance(plain, TypeError, "no connect: http: is refused");
  await c.close();
  const untrusting = httpClient({ connectTls: net.connectTls });
  const error = await untrusting.fetch(url).catch((e: unknown) => e);
  assert.instance(error, NetError);
  assert.is((error as NetError).code, "tls-certificate");
  await untrusting.close();
  await within(server.shutdown({ timeoutMs: 1000 }), "the https server to stop");
});

behaviour.run();

// ── Raw peers: exactly the bytes each case needs ──────────────────────────

/** A server connection that reads request heads and writes what the test says. */
class Peer {
  readonly conn: Conn;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #buffered = "";

  constructor(conn: Conn) {
    this.conn = conn;
    this.#reader = conn.readable.getReader();
    this.#writer = conn.writable.getWriter();
  }

  /** The next request head, or undefined at the end of the connection. */
  async head(): Promise<string | undefined> {
    for (;;) {
      const end = this.#buffered.indexOf("\r\n\r\n");
      if (end >= 0) {
        const head = this.#buffered.slice(0, end + 4);
        this.#buffered = this.#buffered.slice(end + 4);
        return head;
      }
      const r = await this.#reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (r.done) return undefined;
      this.#buffered += latin1(r.value);
    }
  }

  /** Bytes after the head, as far as they have come: `n` of them. */
  async body(n: number): Promise<string> {
    while (this.#buffered.length < n) {
      const r = await this.#reader.read();
      if (r.done) break;
      this.#buffered += latin1(r.value);
    }
    const body = this.#buffered.slice(0, n);
    this.#buffered = this.#buffered.slice(n);
    return body;
  }

  async write(text: string): Promise<void> {
    await this.#writer.write(Uint8Array.from(text, (ch) => ch.charCodeAt(0)));
  }

  /** Sends FIN after what was written. */
  async end(): Promise<void> {
    await this.#writer.close().catch(() => {});
  }
}

/** A raw server: `script(peer, index)` runs for each connection, then the connection closes. */
async function rawServer(script: (peer: Peer, index: number) => Promise<void>) {
  const listener = await net.listen({ hostname: "127.0.0.1", port: 0 });
  const heads: string[] = [];
  let accepted = 0;
  const running: Promise<void>[] = [];
  (async () => {
    for await (const conn of listener) {
      const peer = new Peer(conn);
      const original = peer.head.bind(peer);
      peer.head = async () => {
        const h = await original();
        if (h !== undefined) heads.push(h);
        return h;
      };
      running.push(script(peer, accepted++).catch(() => {}).finally(() => conn.close().catch(() => {})));
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${listener.addr.port}`,
    heads,
    get accepted() {
      return accepted;
    },
    async stop() {
      await listener.close();
      await within(Promise.all(running), "the raw server's connections");
    },
  };
}

/** Answers every request on the connection with `response`, until the client closes. */
async function answerAll(peer: Peer, response: string): Promise<void> {
  while ((await peer.head()) !== undefined) await peer.write(response);
}

const OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

const raw = suite(`http client: raw peers (${runtime})`);

raw("the request on the wire: method, target, Host first, no hop-by-hop fields, Connection: close kept", async () => {
  const s = await rawServer((p) => answerAll(p, OK));
  const c = client();
  await (await c.fetch(`${s.url}/path/x?q=1&r=2#frag`, {
    headers: { "x-one": "1", connection: "keep-alive, x-private", "x-private": "secret", "keep-alive": "timeout=5", te: "trailers", upgrade: "websocket" },
  })).text();
  await (await c.fetch(`${s.url}/other`, { headers: { host: "virtual.example", connection: "close" } })).text();
  const [first, second] = s.heads;
  assert.ok(first!.startsWith(`GET /path/x?q=1&r=2 HTTP/1.1\r\nhost: 127.0.0.1:${s.url.split(":")[2]}\r\n`), first);
  assert.match(first!, /\r\nx-one: 1\r\n/);
  assert.not.match(first!, /connection|keep-alive|x-private|\r\nte:|upgrade|content-length|transfer-encoding/i);
  assert.ok(second!.startsWith("GET /other HTTP/1.1\r\nhost: virtual.example\r\n"), second);
  assert.match(second!, /\r\nconnection: close\r\n/);
  assert.is(s.accepted, 1);
  await c.close();
  await s.stop();
});

raw("a body read until the server closes; that connection carries nothing more", async () => {
  const s = await rawServer(async (p) => {
    await p.head();
    await p.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello ");
    await sleep(5);
    await p.write("world");
    await p.end();
  });
  const c = client();
  for (let i = 0; i < 2; i++) assert.is(await within((await c.fetch(`${s.url}/`)).text(), "a body until close"), "hello world");
  assert.is(s.accepted, 2);
  await c.close();
  await s.stop();
});

raw("Connection: close and HTTP/1.0 end their connection; HTTP/1.0 with keep-alive does not", async () => {
  for (const [response, reused] of [
    ["HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", false],
    ["HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false],
    ["HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", true],
    [OK, true],
  ] as const) {
    // The peer keeps every connection open: only the client's choice decides.
    const s = await rawServer((p) => answerAll(p, response));
    const c = client();
    for (let i = 0; i < 3; i++) assert.is(await (await c.fetch(`${s.url}/`)).text(), "ok");
    assert.is(s.accepted, reused ? 1 : 3, response);
    await c.close();
    await s.stop();
  }
});

raw("a keep-alive connection the server closed as a request arrived: a GET goes again on a new one, a POST rejects", async () => {
  // Each connection answers one request, then closes when the next one arrives, unanswered.
  const s = await rawServer(async (p) => {
    await p.head();
    await p.write(OK);
    await p.head();
  });
  const c = client({ poolSize: 1 });
  assert.is(await (await c.fetch(`${s.url}/1`)).text(), "ok");
  assert.is(await within((await c.fetch(`${s.url}/2`)).text(), "the retried GET"), "ok");
  assert.is(s.accepted, 2, "the GET was sent again on a fresh connection");
  const error = await c.fetch(`${s.url}/3`, { method: "POST" }).catch((e: unknown) => e);
  assert.instance(error, NetError);
  assert.is((error as NetError).code, "closed");
  assert.is(s.accepted, 2, "the POST was not sent again");
  await c.close();
  await s.stop();
});

raw("an idle connection closes after idleTimeoutMs; one the server closed while idle is not used again", async () => {
  let ended = 0;
  const s = await rawServer(async (p) => {
    await answerAll(p, OK);
    ended++;
  });
  const c = client({ idleTimeoutMs: 30 });
  assert.is(await (await c.fetch(`${s.url}/`)).text(), "ok");
  await until(() => ended === 1, "the client to close its idle connection");
  assert.is(await (await c.fetch(`${s.url}/`)).text(), "ok");
  assert.is(s.accepted, 2);
  await c.close();
  await s.stop();

  // The server answers once and closes at once (FIN while the connection is idle in the pool).
  const once = await rawServer(async (p) => {
    await p.head();
    await p.write(OK);
    await p.end();
  });
  const d = client({ poolSize: 1 });
  for (let i = 0; i < 3; i++) {
    assert.is(await (await within(d.fetch(`${once.url}/`), "a call after the server closed")).text(), "ok");
    await sleep(10);
  }
  assert.is(once.accepted, 3);
  await d.close();
  await once.stop();
});

raw("the server closing before it answers, or in the middle of a body, is a NetError closed", async () => {
  const s = await rawServer(async (p, i) => {
    await p.head();
    if (i === 1) await p.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
    if (i === 2) await p.write("HTTP/1.1 200 OK\r\nContent-Le");
  });
  const c = client();
  const before = await c.fetch(`${s.url}/`).catch((e: unknown) => e);
  assert.instance(before, NetError);
  assert.is((before as NetError).code, "closed");
  assert.is(s.accepted, 1, "a fresh connection is not tried again");
  const res = await c.fetch(`${s.url}/`);
  const mid = await res.text().catch((e: unknown) => e);
  assert.instance(mid, NetError);
  assert.is((mid as NetError).code, "closed");
  const inHead = await c.fetch(`${s.url}/`).catch((e: unknown) => e);
  assert.is((inHead as NetError).code, "closed");
  await c.close();
  await s.stop();
});

raw("malformed responses are FrameErrors; a 101 nobody asked for is a protocol-error; each closes its connection", async () => {
  const closed = new Set<number>();
  const responses = [
    "HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n",
    "SSH-2.0-OpenSSH_9.6\r\n\r\n",
    "HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
    "HTTP/2.0 200 OK\r\n\r\n",
  ];
  const s = await rawServer(async (p, i) => {
    await p.head();
    if (i < responses.length) await p.write(responses[i]!);
    else if (i === responses.length) await p.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n");
    else await p.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n");
    if ((await p.head()) === undefined) closed.add(i);
  });
  const c = client();
  for (const response of responses) {
    const error = await c.fetch(`${s.url}/`).catch((e: unknown) => e);
    assert.instance(error, FrameError, response);
  }
  const chunked = await c.fetch(`${s.url}/`);
  const bad = await chunked.text().catch((e: unknown) => e);
  assert.instance(bad, FrameError);
  const upgrade = await c.fetch(`${s.url}/`).catch((e: unknown) => e);
  assert.instance(upgrade, NetError);
  assert.is((upgrade as NetError).code, "protocol-error");
  await until(() => closed.size === responses.length + 2, "the client to close every connection that broke HTTP");
  await c.close();
  await s.stop();
});

raw("interim responses are skipped; repeated fields are kept", async () => {
  const s = await rawServer(async (p) => {
    await p.head();
    await p.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n");
    await p.write("HTTP/1.1 201 Created\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Multi: 1\r\nX-Multi: 2\r\nContent-Length: 4\r\n\r\ndone");
    await p.head();
  });
  const c = client();
  const res = await c.fetch(`${s.url}/`, { method: "POST", body: "x" });
  assert.is(res.status, 201);
  assert.is(res.statusText, "Created");
  assert.equal(res.headers.getSetCookie(), ["a=1", "b=2"]);
  assert.is(res.headers.get("x-multi"), "1, 2");
  assert.is(await res.text(), "done");
  await c.close();
  await s.stop();
});

raw.run();
