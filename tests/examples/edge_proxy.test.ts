/**
 * examples/edge_proxy.ts end to end: the Worker (examples/edge_proxy_worker.mts)
 * bundled and run under workerd (miniflare), forwarding over TCP with
 * weft/cloudflare's connect to an HTTP/1.1 backend on loopback (weft's
 * serveHttp on weft/node); 504 for a backend that never answers, 502 with the
 * NetError code for one that refuses connections. One workerd runs three
 * copies of the Worker, one per backend. Runs once per `npm test` (on the
 * first runtime).
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";

if (process.env.WEFT_PRIMARY === "1") {
  const { listen } = await import("../../adapters/node.ts");
  const { serveHttp } = await import("../../src/protocols/http/mod.ts");
  const { bundleWorker, COMPATIBILITY_DATE } = await import("../cloudflare/_workerd.ts");
  const { edgeProxy } = await import("../../examples/edge_proxy.ts");
  const { Miniflare } = await import("miniflare");
  const net = await import("node:net");

  const test = suite("examples: the edge proxy, a Worker under workerd");
  const MiB = 1024 * 1024;

  /** Rejects when `p` takes longer than `ms`. */
  function within<T>(p: Promise<T>, what: string, ms = 30_000): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Gave up waiting for ${what} after ${ms} ms`)), ms);
    });
    return Promise.race([p, limit]).finally(() => clearTimeout(timer));
  }

  const bytesOf = (n: number) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (i * 7 + (i >>> 9)) & 0xff;
    return out;
  };

  async function route(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === "/upload") {
      let n = 0;
      let sum = 0;
      for await (const chunk of req.body!) {
        for (const b of chunk) sum = (sum + b) % 1_000_000_007;
        n += chunk.byteLength;
      }
      return new Response(`got ${n} ${sum}`);
    }
    if (url.pathname === "/download") return new Response(bytesOf(Number(url.searchParams.get("n"))));
    if (url.pathname === "/moved") return new Response(null, { status: 301, headers: { location: "/elsewhere" } });
    const h = (name: string) => req.headers.get(name);
    return Response.json(
      {
        method: req.method,
        path: url.pathname + url.search,
        host: h("host"),
        via: h("via"),
        forwardedFor: h("x-forwarded-for"),
        forwardedHost: h("x-forwarded-host"),
        forwardedProto: h("x-forwarded-proto"),
        custom: h("x-custom"),
        keepAlive: h("keep-alive"),
      },
      { headers: { "x-backend": "yes", "keep-alive": "timeout=5" } },
    );
  }

  const listener = await listen({ hostname: "127.0.0.1", port: 0 });
  const backend = serveHttp({ listener, onError: () => {}, fetch: route });
  // A backend that takes connections and never answers.
  const silent = net.createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const silentPort = (silent.address() as { port: number }).port;
  // A port where nothing listens.
  const spare = await listen({ hostname: "127.0.0.1", port: 0 });
  const refusedPort = spare.addr.port;
  await spare.close();

  // One workerd, three copies of the proxy Worker: in front of the real backend, the silent one, and the refused port.
  let mf: InstanceType<typeof Miniflare> | undefined;
  type Fetch = (input: string, init?: RequestInit) => Promise<Response>;
  const workers: Record<"proxy" | "silent" | "refused", Fetch> = {} as never;

  test.before(async () => {
    const script = await bundleWorker("examples/edge_proxy_worker.mts");
    const worker = (name: string, bindings: Record<string, string>) => ({ name, modules: true, script, compatibilityDate: COMPATIBILITY_DATE, bindings });
    mf = new Miniflare({
      workers: [
        worker("proxy", { BACKEND: `http://127.0.0.1:${listener.addr.port}` }),
        worker("silent", { BACKEND: `http://127.0.0.1:${silentPort}`, BACKEND_TIMEOUT_MS: "300" }),
        worker("refused", { BACKEND: `http://127.0.0.1:${refusedPort}` }),
      ],
    });
    await within(mf.ready, "workerd to start", 30_000);
    for (const name of ["proxy", "silent", "refused"] as const) {
      const fetcher = await mf.getWorker(name);
      workers[name] = async (input, init) => {
        // miniflare's Response is undici's: hand back the platform's, the body streamed.
        const res = await fetcher.fetch(input, init as never);
        return new Response(res.body as ReadableStream<Uint8Array> | null, { status: res.status, statusText: res.statusText, headers: [...res.headers] });
      };
    }
  });
  test.after(async () => {
    await mf?.dispose();
    silent.close();
    await backend.shutdown({ timeoutMs: 1000 });
  });

  test("a GET goes to the backend with its path, query and headers, forwarding fields added, hop-by-hop ones dropped", async () => {
    const res = await within(
      workers.proxy("http://edge.example/hello/there?x=1&y=2", { headers: { "x-custom": "kept", "cf-connecting-ip": "198.51.100.9", "keep-alive": "timeout=1" } }),
      "the response",
    );
    assert.is(res.status, 200);
    assert.is(res.headers.get("x-backend"), "yes");
    assert.is(res.headers.get("keep-alive"), null, "hop-by-hop fields of the response dropped");
    assert.ok(res.headers.get("via")?.includes("1.1 weft"));
    const seen = await res.json() as Record<string, string | null>;
    assert.equal(seen, {
      method: "GET",
      path: "/hello/there?x=1&y=2",
      host: `127.0.0.1:${listener.addr.port}`,
      via: "1.1 weft",
      forwardedFor: "198.51.100.9",
      forwardedHost: "edge.example",
      forwardedProto: "http",
      custom: "kept",
      keepAlive: null,
    });
  });

  test("a 1 MiB upload streams through to the backend, a 1 MiB download back", async () => {
    const body = bytesOf(1 * MiB);
    let sum = 0;
    for (const b of body) sum = (sum + b) % 1_000_000_007;
    const up = await within(workers.proxy("http://edge.example/upload", { method: "POST", body }), "the upload");
    assert.is(up.status, 200);
    assert.is(await up.text(), `got ${1 * MiB} ${sum}`);
    const down = await within(workers.proxy(`http://edge.example/download?n=${1 * MiB}`), "the download");
    assert.is(down.status, 200);
    const got = new Uint8Array(await within(down.arrayBuffer(), "the download's body"));
    assert.is(got.byteLength, 1 * MiB);
    assert.ok(got.every((b, i) => b === body[i]), "the bytes are the backend's");
  });

  test("several requests at once, each on its own connection", async () => {
    const all = await within(Promise.all(Array.from({ length: 8 }, (_, i) => workers.proxy(`http://edge.example/n/${i}`).then((r) => r.json()))), "8 responses");
    assert.equal(all.map((s) => (s as { path: string }).path), Array.from({ length: 8 }, (_, i) => `/n/${i}`));
  });

  test("a redirect goes back as it is", async () => {
    const res = await within(workers.proxy("http://edge.example/moved", { redirect: "manual" }), "the response");
    assert.is(res.status, 301);
    assert.is(res.headers.get("location"), "/elsewhere");
    await res.body?.cancel();
  });

  test("a backend slower than BACKEND_TIMEOUT_MS gets the client a 504", async () => {
    const res = await within(workers.silent("http://edge.example/slow"), "the response");
    assert.is(res.status, 504);
    assert.match(await res.text(), /504 Gateway Timeout/);
  });

  test("a backend that refuses connections gets the client a 502 naming the NetError code", async () => {
    const res = await within(workers.refused("http://edge.example/"), "the response");
    assert.is(res.status, 502);
    assert.match(await res.text(), /^502 Bad Gateway: connection-refused: /);
  });

  test("edgeProxy() refuses a backend that is not http:", () => {
    assert.throws(() => edgeProxy({ backend: "ftp://x", connect: () => Promise.reject(new Error("unused")) }), (e: unknown) => e instanceof TypeError);
  });

  test.run();
}
