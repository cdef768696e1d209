/**
 * A Hono app served by serveHttp() unchanged (`fetch: app.fetch`) on this
 * runtime, called with the runtime's own fetch(): routes with parameters,
 * JSON bodies, middleware, 404 and error handlers, and a streamed response
 * from hono/streaming that arrives while the handler is still writing.
 */
import { Hono } from "hono";
import { streamText } from "hono/streaming";
import * as assert from "uvu/assert";
import { suite } from "uvu";
import type { HttpInfo } from "../../src/protocols/http/mod.ts";
import { deferred, net, startServer, type TestServer, until, within } from "./_helpers.ts";

const test = suite(`http: a Hono app (${net.name})`);

const gate = deferred();
const seen: string[] = [];

const app = new Hono<{ Bindings: HttpInfo }>();
app.use("*", async (c, next) => {
  seen.push(`${c.req.method} ${c.req.path}`);
  await next();
  c.header("x-served-by", "weft");
});
app.get("/", (c) => c.text("hello from hono"));
app.get("/users/:id", (c) => c.json({ id: c.req.param("id"), fields: c.req.queries("f") ?? [], accept: c.req.header("accept") }));
app.get("/users/:id/posts/:post", (c) => c.json(c.req.param()));
app.post("/items", async (c) => {
  const body = await c.req.json<{ name: string; tags: string[] }>();
  return c.json({ created: body.name, tags: body.tags.length }, 201, { location: `/items/${encodeURIComponent(body.name)}` });
});
app.put("/raw", async (c) => c.body(await c.req.arrayBuffer(), 200, { "content-type": "application/octet-stream" }));
app.get("/ip", (c) => c.text(`${c.env.remoteAddr.hostname}`));
app.get("/redirect", (c) => c.redirect("/users/7", 302));
app.get("/fail", () => {
  throw new Error("a route that breaks");
});
app.get("/stream", (c) =>
  streamText(c, async (stream) => {
    await stream.writeln("line 0");
    await gate.promise;
    for (let i = 1; i < 5; i++) await stream.writeln(`line ${i}`);
  }));
app.notFound((c) => c.json({ error: "not found", path: c.req.path }, 404));
app.onError((err, c) => c.json({ error: err.message }, 500));

let s: TestServer;
let base = "";

test.before(async () => {
  s = await startServer({ fetch: app.fetch });
  base = `http://127.0.0.1:${s.port}`;
});
test.after(async () => {
  await s.stop();
});

const get = (path: string, init?: RequestInit) => within(fetch(base + path, init), `fetch ${path}`);

test("GET routes with parameters and queries, through the middleware", async () => {
  const root = await get("/");
  assert.is(root.status, 200);
  assert.is(await root.text(), "hello from hono");
  assert.is(root.headers.get("x-served-by"), "weft");

  const user = await get("/users/42?f=name&f=email", { headers: { accept: "application/json" } });
  assert.is(user.status, 200);
  assert.match(user.headers.get("content-type") ?? "", /^application\/json/);
  assert.equal(await user.json(), { id: "42", fields: ["name", "email"], accept: "application/json" });

  const post = await get("/users/a%20b/posts/9");
  assert.equal(await post.json(), { id: "a b", post: "9" });
  assert.ok(seen.includes("GET /users/42"));
});

test("POST JSON read with c.req.json(); a body echoed byte for byte", async () => {
  const res = await get("/items", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "widget", tags: ["a", "b", "c"] }) });
  assert.is(res.status, 201);
  assert.is(res.headers.get("location"), "/items/widget");
  assert.equal(await res.json(), { created: "widget", tags: 3 });

  const bytes = new Uint8Array(300_000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
  const raw = await get("/raw", { method: "PUT", body: bytes });
  const back = new Uint8Array(await raw.arrayBuffer());
  assert.is(back.length, bytes.length);
  assert.ok(back.every((b, i) => b === bytes[i]));
});

test("404 from notFound, 500 from onError, a redirect, the connection's info as c.env", async () => {
  const missing = await get("/nope/nothing");
  assert.is(missing.status, 404);
  assert.equal(await missing.json(), { error: "not found", path: "/nope/nothing" });

  const broken = await get("/fail");
  assert.is(broken.status, 500);
  assert.equal(await broken.json(), { error: "a route that breaks" });

  const redirect = await get("/redirect", { redirect: "manual" });
  assert.is(redirect.status, 302);
  assert.is(redirect.headers.get("location"), "/users/7");
  await redirect.body?.cancel();

  const followed = await get("/redirect");
  assert.equal(await followed.json(), { id: "7", fields: [], accept: "*/*" });

  assert.is(await (await get("/ip")).text(), "127.0.0.1");
  assert.equal(s.errors, [], "Hono answered its errors itself");
});

test("hono/streaming: the first line arrives while the handler is still writing", async () => {
  const res = await get("/stream");
  assert.is(res.status, 200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes("line 0\n")) {
    const { done, value } = await within(reader.read(), "the first line");
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  assert.is(text, "line 0\n", "the first line came before the rest was written");
  gate.resolve();
  for (;;) {
    const { done, value } = await within(reader.read(), "the rest");
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  assert.is(text, "line 0\nline 1\nline 2\nline 3\nline 4\n");
});

test("many requests at once from the runtime's fetch", async () => {
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => get(`/users/${i}`).then((r) => r.json() as Promise<{ id: string }>)));
  assert.equal(results.map((r) => r.id), Array.from({ length: 50 }, (_, i) => String(i)));
  assert.ok(s.server.connections >= 1);
});

test("shutdown: the fetch client's idle connections are closed, nothing reported", async () => {
  await s.stop();
  await until(() => s.server.connections === 0, "the connections to close");
  assert.equal(s.errors, []);
});

test.run();
