/**
 * FastResponse: behaves as the platform's Response does (fields, body,
 * clone, errors, instanceof both ways), and serveHttp() writes it as it
 * writes the platform's — the same fields and body on the wire, HEAD, 204,
 * Content-Length checks, fields changed after it was made — on this
 * runtime's loopback; with installFastResponse() a Hono app runs on it
 * unchanged.
 */
import { Hono } from "hono";
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { FastResponse, installFastResponse } from "../../src/protocols/http/mod.ts";
import { net, oneShot, RawClient, type RawResponse, startServer, type TestServer, within } from "./_helpers.ts";

const test = suite(`http: FastResponse (${net.name})`);
const Platform = globalThis.Response;

let servers: TestServer[] = [];
test.after.each(async () => {
  for (const s of servers) await s.stop().catch(() => {});
  servers = [];
});

async function serve(fetch: (request: Request) => Response | Promise<Response>, lazyRequests = false): Promise<TestServer> {
  const s = await startServer({ fetch, lazyRequests });
  servers.push(s);
  return s;
}

/** What `make()` throws, or undefined. */
function thrown(make: () => unknown): string | undefined {
  try {
    make();
    return undefined;
  } catch (error) {
    return (error as Error).constructor.name;
  }
}

/** A response's fields without its Date, sorted (Headers sorts them), for comparing two servers' answers. */
function fieldsOf(r: RawResponse): [string, string][] {
  return withSpecType(r.fields.filter(([name]) => name !== "date")).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** `fields` with the Content-Type Fetch gives a string body, where the platform left it out. */
function withSpecType(fields: [string, string][]): [string, string][] {
  return fields.some(([name]) => name === "content-type") ? fields : [...fields, ["content-type", "text/plain;charset=UTF-8"]].sort(([a], [b]) => (a! < b! ? -1 : 1)) as [string, string][];
}

// ── As a Response ───────────────────────────────────────────────────────────

test("fields, body and instanceof as the platform's", async () => {
  const fast = new FastResponse("héllo", { status: 201, statusText: "Made", headers: { "X-One": " 1 ", "x-two": "2" } });
  const real = new Platform("héllo", { status: 201, statusText: "Made", headers: { "X-One": " 1 ", "x-two": "2" } });
  assert.ok(fast instanceof Platform);
  assert.ok(real instanceof FastResponse, "a platform response is a FastResponse for instanceof");
  assert.is(Object.prototype.toString.call(fast), "[object Response]");
  for (const key of ["status", "statusText", "ok", "type", "url", "redirected", "bodyUsed"] as const) assert.is(fast[key], real[key], key);
  // A string body's Content-Type is in the headers, as Fetch says (Bun's own Response adds it only when it sends).
  assert.equal([...fast.headers], withSpecType([...real.headers]));
  assert.is(await fast.text(), await real.text());
  assert.is(fast.bodyUsed, true);
  await fast.text().then(() => assert.unreachable("a body read twice"), (e: unknown) => assert.instance(e, TypeError));
});

test("bodies: none, bytes (copied, as the platform does), ArrayBuffer, and streams through the platform", async () => {
  assert.is(new FastResponse().body, null);
  assert.is(new FastResponse(null, { status: 204 }).status, 204);
  const bytes = new Uint8Array([1, 2, 3]);
  const fromBytes = new FastResponse(bytes);
  bytes[0] = 9;
  assert.equal([...new Uint8Array(await fromBytes.arrayBuffer())], [1, 2, 3]);
  assert.is(fromBytes.headers.get("content-type"), null);
  assert.equal([...new Uint8Array(await new FastResponse(new Uint8Array([4, 5]).buffer).arrayBuffer())], [4, 5]);
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode("streamed"));
      c.close();
    },
  });
  assert.is(await new FastResponse(stream).text(), "streamed");
  assert.is(await new FastResponse(new URLSearchParams({ a: "1" })).text(), "a=1");
  assert.is(await new FastResponse("x", { headers: new Headers({ "content-type": "text/html" }) }).headers.get("content-type"), "text/html");
  assert.equal([...new FastResponse("x", { headers: [["set-cookie", "a=1"], ["set-cookie", "b=2"]] }).headers.getSetCookie()], ["a=1", "b=2"]);
});

test("clone(), Response.json() and the platform's errors for bad arguments", async () => {
  const fast = new FastResponse("twice");
  const copy = fast.clone();
  assert.is(await fast.text(), "twice");
  assert.is(await copy.text(), "twice");
  const json = FastResponse.json({ a: 1 });
  assert.ok(json instanceof Platform);
  assert.equal(await json.json(), { a: 1 });
  const cases: [string, () => unknown, () => unknown][] = [
    ["status 99", () => new FastResponse("x", { status: 99 }), () => new Platform("x", { status: 99 })],
    ["status 600", () => new FastResponse("x", { status: 600 }), () => new Platform("x", { status: 600 })],
    ["a body on 204", () => new FastResponse("x", { status: 204 }), () => new Platform("x", { status: 204 })],
    ["a bad field name", () => new FastResponse("x", { headers: { "bad name": "1" } }), () => new Platform("x", { headers: { "bad name": "1" } })],
    ["a newline in a value", () => new FastResponse("x", { headers: { a: "1\r\n2" } }), () => new Platform("x", { headers: { a: "1\r\n2" } })],
    ["a bad status text", () => new FastResponse("x", { statusText: "a\nb" }), () => new Platform("x", { statusText: "a\nb" })],
    ["no new", () => (FastResponse as unknown as () => unknown)(), () => (Platform as unknown as () => unknown)()],
  ];
  for (const [what, fast, real] of cases) assert.is(thrown(fast), thrown(real), what);
});

test("installFastResponse() makes it the global Response, and puts the platform's back", async () => {
  const uninstall = installFastResponse();
  try {
    assert.is(globalThis.Response, FastResponse);
    const made = new Response("global");
    assert.ok(made instanceof Platform);
    assert.is(await made.text(), "global");
    assert.ok(new Platform("p") instanceof Response, "platform responses still pass instanceof Response");
  } finally {
    uninstall();
  }
  assert.is(globalThis.Response, Platform);
});

// ── Served ──────────────────────────────────────────────────────────────────

test("serveHttp() writes it as it writes the platform's: status, fields, Content-Length, body", async () => {
  const make = (R: typeof Response) => new R("héllo wörld", { status: 202, statusText: "Accepted Later", headers: { "x-a": "1", "cache-control": "no-store" } });
  const fast = await serve(() => make(FastResponse));
  const real = await serve(() => make(Platform));
  const request = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const a = await oneShot(fast.port, request);
  const b = await oneShot(real.port, request);
  assert.is(a.status, 202);
  assert.is(a.statusText, b.statusText);
  assert.equal(fieldsOf(a), fieldsOf(b));
  assert.is(a.framing, "length");
  assert.is(a.text, "héllo wörld");
  assert.ok(a.header("date") !== undefined);
  assert.equal(fast.errors, []);
});

test("HEAD gets the Content-Length its GET would have; 204 and a null body go without one; bytes go as they are", async () => {
  const s = await serve((request) => {
    const path = new URL(request.url).pathname;
    if (path === "/none") return new FastResponse(null, { status: 204 });
    if (path === "/empty") return new FastResponse(null);
    if (path === "/bytes") return new FastResponse(new Uint8Array([0, 255, 10]), { headers: { "content-type": "application/octet-stream" } });
    return new FastResponse("body of twelve".slice(0, 12));
  });
  const c = await RawClient.connect(s.port);
  try {
    await c.write("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
    const head = await c.readResponse({ head: true });
    assert.is(head.header("content-length"), "12");
    assert.is(head.body.length, 0);
    await c.write("GET /none HTTP/1.1\r\nHost: x\r\n\r\n");
    const none = await c.readResponse();
    assert.is(none.status, 204);
    assert.is(none.header("content-length"), undefined);
    await c.write("GET /empty HTTP/1.1\r\nHost: x\r\n\r\n");
    const empty = await c.readResponse();
    assert.is(empty.status, 200);
    assert.is(empty.body.length, 0);
    await c.write("GET /bytes HTTP/1.1\r\nHost: x\r\n\r\n");
    const bytes = await c.readResponse();
    assert.equal([...bytes.body], [0, 255, 10]);
    assert.is(bytes.header("content-length"), "3");
    await c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.is((await c.readResponse()).text, "body of twel");
  } finally {
    await c.close();
  }
});

test("fields changed after it was made go out; connection: close closes; a wrong Content-Length fails the connection, not the server", async () => {
  const s = await serve((request) => {
    const path = new URL(request.url).pathname;
    if (path === "/wrong") return new FastResponse("four", { headers: { "content-length": "5" } });
    const response = new FastResponse("changed", { headers: { "x-before": "1" } });
    response.headers.set("x-after", "2"); // middleware that adds a field
    if (path === "/close") response.headers.set("connection", "close");
    return response;
  });
  const changed = await oneShot(s.port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert.is(changed.header("x-before"), "1");
  assert.is(changed.header("x-after"), "2");
  assert.is(changed.text, "changed");
  const c = await RawClient.connect(s.port);
  try {
    await c.write("GET /close HTTP/1.1\r\nHost: x\r\n\r\n");
    const closing = await c.readResponse();
    assert.is(closing.header("connection"), "close");
    assert.ok(await within(c.closedByPeer(), "the server to close"));
  } finally {
    await c.close();
  }
  const wrong = await RawClient.connect(s.port);
  try {
    await wrong.write("GET /wrong HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.ok(await within(wrong.closedByPeer(), "the server to drop the connection"));
  } finally {
    await wrong.close();
  }
  // Other connections carry on.
  assert.is((await oneShot(s.port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).text, "changed");
});

test("a Hono app on installFastResponse() and lazyRequests, unchanged", async () => {
  const uninstall = installFastResponse();
  try {
    const app = new Hono();
    app.use("*", async (c, next) => {
      await next();
      c.header("x-served-by", "weft");
    });
    app.get("/", (c) => c.text("hello from hono"));
    app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
    app.post("/items", async (c) => c.json(await c.req.json(), 201, { location: "/items/1" }));
    const s = await serve(app.fetch, true);
    const base = `http://127.0.0.1:${s.port}`;
    const text = await fetch(`${base}/`);
    assert.is(await text.text(), "hello from hono");
    assert.is(text.headers.get("x-served-by"), "weft");
    assert.match(text.headers.get("content-type") ?? "", /^text\/plain/);
    assert.equal(await (await fetch(`${base}/users/7`)).json(), { id: "7" });
    const created = await fetch(`${base}/items`, { method: "POST", body: JSON.stringify({ name: "x" }), headers: { "content-type": "application/json" } });
    assert.is(created.status, 201);
    assert.is(created.headers.get("location"), "/items/1");
    assert.equal(await created.json(), { name: "x" });
    assert.is((await fetch(`${base}/missing`)).status, 404);
    assert.equal(s.errors, []);
  } finally {
    uninstall();
  }
});

test.run();
