/**
 * examples/http_proxy.ts: the proxy in this process in front of a weft
 * backend and a node:http one, checked with this runtime's own fetch (a
 * client weft did not write); 502 for a backend that is down; and the
 * program itself as a real process that exits 0 on SIGINT.
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { serveHttp } from "../../src/protocols/http/mod.ts";
import { backendFrom, type HttpProxy, startHttpProxy } from "../../examples/http_proxy.ts";
import { loadAdapter, runtime } from "../_runtime.ts";
import { startProgram } from "./_program.ts";
import { patternCopy, readPattern } from "../_helpers.ts";

const net = await loadAdapter();
const test = suite(`examples: the HTTP proxy (${runtime})`);
const MiB = 1024 * 1024;

/** Rejects when `p` takes longer than `ms`. */
function within<T>(p: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Gave up waiting for ${what} after ${ms} ms`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** What the backend saw, as JSON. */
function seen(req: Request): Record<string, string | null> {
  const url = new URL(req.url);
  const h = (name: string) => req.headers.get(name);
  return {
    method: req.method,
    path: url.pathname + url.search,
    host: h("host"),
    via: h("via"),
    forwardedFor: h("x-forwarded-for"),
    forwardedHost: h("x-forwarded-host"),
    custom: h("x-custom"),
    connection: h("connection"),
  };
}

/** The backend's routes, the same on weft and node:http. */
async function route(req: Request): Promise<Response> {
  const url = new URL(req.url);
  if (url.pathname === "/upload") return new Response(`got ${await readPattern(req.body!)}`);
  if (url.pathname === "/download") {
    const total = Number(url.searchParams.get("n"));
    let at = 0;
    return new Response(new ReadableStream<Uint8Array>({
      pull(c) {
        if (at >= total) return c.close();
        const n = Math.min(64 * 1024, total - at);
        c.enqueue(patternCopy(at, n));
        at += n;
      },
    }, { highWaterMark: 0 }));
  }
  if (url.pathname === "/moved") return new Response(null, { status: 301, headers: { location: "/elsewhere" } });
  return Response.json(seen(req), { headers: { "x-backend": "yes", connection: "close" } });
}

/** node:http in front of the same routes (bodies streamed). */
async function nodeBackend(): Promise<{ port: number; stop(): Promise<void> }> {
  const http = await import("node:http");
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
    route(new Request(`http://${req.headers.host}${req.url}`, init)).then(async (response) => {
      res.statusCode = response.status;
      for (const [name, value] of response.headers) if (name !== "connection") res.setHeader(name, value);
      if (response.body === null) return void res.end();
      for await (const chunk of response.body) {
        if (!res.write(chunk)) await new Promise((resolve) => res.once("drain", resolve));
      }
      res.end();
    }).catch((error) => res.destroy(error));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function weftBackend(): Promise<{ port: number; stop(): Promise<void> }> {
  const listener = await net.listen({ hostname: "127.0.0.1", port: 0 });
  const server = serveHttp({ listener, onError: () => {}, fetch: route });
  return { port: listener.addr.port!, stop: () => server.shutdown({ timeoutMs: 2000 }) };
}

/** A request body that arrives in pieces (so it is streamed, not buffered first). */
function upload(total: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      if (at >= total) return c.close();
      await undefined;
      const n = Math.min(64 * 1024, total - at);
      c.enqueue(patternCopy(at, n));
      at += n;
    },
  }, { highWaterMark: 0 });
}

for (const [name, start] of [["weft serveHttp", weftBackend], ["node:http", nodeBackend]] as const) {
  test(`GET, a streamed POST both ways, a redirect, through the proxy to ${name}`, async () => {
    const backend = await start();
    let proxy: HttpProxy | undefined;
    try {
      proxy = await startHttpProxy(net, { backend: `http://127.0.0.1:${backend.port}`, port: 0 });
      const res = await within(fetch(`${proxy.url}/some/path?q=1`, { headers: { "x-custom": "kept", "x-forwarded-for": "10.0.0.1" } }), "a GET");
      assert.is(res.status, 200);
      assert.is(res.headers.get("via"), "1.1 weft");
      if (name === "weft serveHttp") assert.is(res.headers.get("x-backend"), "yes");
      const got = (await res.json()) as Record<string, string | null>;
      assert.is(got.method, "GET");
      assert.is(got.path, "/some/path?q=1");
      assert.is(got.host, `127.0.0.1:${backend.port}`);
      assert.is(got.via, "1.1 weft");
      assert.is(got.forwardedFor, "10.0.0.1, 127.0.0.1");
      assert.is(got.forwardedHost, new URL(proxy.url).host);
      assert.is(got.custom, "kept");
      assert.not.ok(got.connection?.includes("x-custom"));

      const up = await within(fetch(`${proxy.url}/upload`, { method: "POST", body: upload(4 * MiB), duplex: "half" } as RequestInit), "the upload");
      assert.is(await up.text(), `got ${4 * MiB}`);
      const down = await within(fetch(`${proxy.url}/download?n=${4 * MiB}`), "the download");
      assert.is(await within(readPattern(down.body!), "the download's body"), 4 * MiB);

      const moved = await within(fetch(`${proxy.url}/moved`, { redirect: "manual" }), "a redirect");
      assert.is(moved.status, 301);
      assert.is(moved.headers.get("location"), "/elsewhere");
    } finally {
      await proxy?.close();
      await backend.stop();
    }
  });
}

test("a backend that is down: 502 Bad Gateway, and the proxy keeps serving", async () => {
  const l = await net.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port!;
  await l.close();
  const proxy = await startHttpProxy(net, { backend: `http://127.0.0.1:${port}`, port: 0 });
  try {
    for (let i = 0; i < 2; i++) {
      const res = await within(fetch(`${proxy.url}/`), "the 502");
      assert.is(res.status, 502);
      assert.match(await res.text(), /connection-refused/);
    }
  } finally {
    await proxy.close();
  }
});

test("a backend too slow to answer: 504 Gateway Timeout", async () => {
  const listener = await net.listen({ hostname: "127.0.0.1", port: 0 });
  let release!: () => void;
  const never = new Promise<void>((resolve) => (release = resolve));
  const server = serveHttp({ listener, onError: () => {}, fetch: async () => (await never, new Response("late")) });
  const proxy = await startHttpProxy(net, { backend: `http://127.0.0.1:${listener.addr.port}`, port: 0, backendTimeoutMs: 100 });
  try {
    const res = await within(fetch(`${proxy.url}/`), "the 504");
    assert.is(res.status, 504);
    await res.text();
  } finally {
    release();
    await proxy.close();
    await server.shutdown({ timeoutMs: 1000 });
  }
});

test("a client that goes away mid-download: the backend's response is cancelled too", async () => {
  let cancelled = false;
  const listener = await net.listen({ hostname: "127.0.0.1", port: 0 });
  const server = serveHttp({
    listener,
    onError: () => {},
    fetch: () =>
      new Response(new ReadableStream<Uint8Array>({
        pull: (c) => c.enqueue(new Uint8Array(64 * 1024)),
        cancel: () => void (cancelled = true),
      }, { highWaterMark: 0 })),
  });
  const proxy = await startHttpProxy(net, { backend: `http://127.0.0.1:${listener.addr.port}`, port: 0 });
  try {
    const conn = await net.connect({ hostname: "127.0.0.1", port: proxy.server.addr.port! });
    const writer = conn.writable.getWriter();
    await writer.write(new TextEncoder().encode("GET /endless HTTP/1.1\r\nHost: proxy\r\n\r\n"));
    const reader = conn.readable.getReader();
    let got = 0;
    while (got < 256 * 1024) got += (await within(reader.read(), "the download through the proxy")).value!.length;
    reader.releaseLock();
    writer.releaseLock();
    await conn.close(new Error("the client leaves"));
    const started = Date.now();
    while (!cancelled) {
      if (Date.now() - started > 10_000) throw new Error("the backend's response was never cancelled");
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await proxy.close();
    await server.shutdown({ timeoutMs: 1000 });
  }
});

test("options: the backend from --backend= or WEFT_PROXY_BACKEND; a bad one is refused", async () => {
  assert.is(backendFrom(["--backend=http://b:1"], {}), "http://b:1");
  assert.is(backendFrom([], { WEFT_PROXY_BACKEND: "http://e:2" }), "http://e:2");
  assert.throws(() => backendFrom([], {}), TypeError);
  await startHttpProxy(net, { backend: "ftp://x/", port: 0 }).then(() => assert.unreachable(), (e: unknown) => assert.instance(e, TypeError));
});

test("the program: prints its address, forwards, and exits 0 on SIGINT", async () => {
  const backend = await weftBackend();
  const { program, captures } = await startProgram("examples/http_proxy.ts", ["--port=0", `--backend=http://127.0.0.1:${backend.port}`], [
    /listening on 127\.0\.0\.1:(\d+)/,
  ]);
  const port = Number(captures[0]);
  try {
    const res = await within(fetch(`http://127.0.0.1:${port}/from-the-program`), "a request through the program");
    assert.is(((await res.json()) as { path: string }).path, "/from-the-program");
  } finally {
    const code = await within(program.interrupt(), "the program to exit");
    assert.match(program.out(), /stopped/, "the graceful path ran to its end");
    // Deno's node:child_process reports the signal it sent, not the code the child exited with.
    if (runtime !== "deno") assert.is(code, 0);
  }
  await backend.stop();
});

test.run();
