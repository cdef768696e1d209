/**
 * curl against serveHttp() on this runtime: GET, HEAD, POST with a length,
 * chunked uploads from a file and from stdin, Expect: 100-continue, HTTP/1.0,
 * a reused connection across two URLs; and pipelining, which curl no longer
 * does, through a raw socket.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { patternCopy } from "../_helpers.ts";
import { net, RawClient, run, startServer, type TestServer, until } from "./_helpers.ts";

const test = suite(`http: curl (${net.name})`);
const CURL = "curl";
const dir = mkdtempSync(join(tmpdir(), "weft-http-curl-"));
const FILE_BYTES = 3 * 1024 * 1024 + 17;
const file = join(dir, "upload.bin");
const fileBytes = patternCopy(0, FILE_BYTES);
writeFileSync(file, fileBytes);
const fileSha = createHash("sha256").update(fileBytes).digest("hex");

function hex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

let s: TestServer;
const connections = new Set<number>();

/** The handler: tells what it got, so curl's side can be checked. */
async function handler(request: Request, info: { remoteAddr: { port?: number } }): Promise<Response> {
  connections.add(info.remoteAddr.port!);
  const url = new URL(request.url);
  const body = request.body ? new Uint8Array(await request.arrayBuffer()) : new Uint8Array(0);
  const digest = hex(await crypto.subtle.digest("SHA-256", body));
  if (url.pathname === "/echo") return new Response(body, { headers: { "content-type": request.headers.get("content-type") ?? "application/octet-stream" } });
  return Response.json({
    method: request.method,
    path: url.pathname,
    query: url.search,
    host: request.headers.get("host"),
    userAgent: request.headers.get("user-agent"),
    contentLength: request.headers.get("content-length"),
    transferEncoding: request.headers.get("transfer-encoding"),
    expect: request.headers.get("expect"),
    bytes: body.length,
    sha: digest,
    text: body.length < 200 ? new TextDecoder().decode(body) : "",
  });
}

test.before(async () => {
  s = await startServer({ fetch: handler });
});
test.after(async () => {
  await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

const url = (path: string) => `http://127.0.0.1:${s.port}${path}`;
const curl = (...args: string[]) => run(CURL, ["-sS", "--max-time", "20", ...args], { timeoutMs: 30_000 });

test("GET: status, fields and a JSON body", async () => {
  const { code, stdout, stderr } = await curl("-i", url("/hello?x=1&y=%20"));
  assert.is(code, 0, stderr);
  const [head, body] = stdout.split("\r\n\r\n");
  assert.match(head!, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(head!, /\r\ncontent-type: application\/json/i);
  assert.match(head!, /\r\ncontent-length: \d+/i);
  assert.match(head!, /\r\ndate: /i);
  const got = JSON.parse(body!);
  assert.is(got.method, "GET");
  assert.is(got.path, "/hello");
  assert.is(got.query, "?x=1&y=%20");
  assert.is(got.host, `127.0.0.1:${s.port}`);
  assert.match(got.userAgent, /^curl\//);
  assert.is(got.bytes, 0);
});

test("HEAD (-I): the head alone, curl does not wait for a body", async () => {
  const { code, stdout, stderr } = await curl("-I", url("/echo"));
  assert.is(code, 0, stderr);
  assert.match(stdout, /^HTTP\/1\.1 200 OK\r\n/);
  assert.ok(stdout.endsWith("\r\n\r\n"));
});

test("POST with Content-Length: -d and --data-binary", async () => {
  const form = await curl("-d", "a=1&b=two words", url("/form"));
  assert.is(form.code, 0, form.stderr);
  const got = JSON.parse(form.stdout);
  assert.is(got.method, "POST");
  assert.is(got.contentLength, "15");
  assert.is(got.transferEncoding, null);
  assert.is(got.text, "a=1&b=two words");

  const binary = await curl("--data-binary", `@${file}`, "-H", "Content-Type: application/octet-stream", url("/file"));
  assert.is(binary.code, 0, binary.stderr);
  const b = JSON.parse(binary.stdout);
  assert.is(b.contentLength, String(FILE_BYTES));
  assert.is(b.bytes, FILE_BYTES);
  assert.is(b.sha, fileSha);
  assert.is(b.expect, "100-continue", "curl asked for 100-continue for a body this size");

  // The body comes back byte for byte.
  const echoed = await run(CURL, ["-sS", "--max-time", "20", "--data-binary", `@${file}`, url("/echo"), "-o", join(dir, "echoed.bin"), "-w", "%{size_download} %{http_code}"]);
  assert.is(echoed.code, 0, echoed.stderr);
  assert.is(echoed.stdout, `${FILE_BYTES} 200`);
});

test("Expect: 100-continue: curl gets the 100 and sends the body", async () => {
  const { code, stdout, stderr } = await curl("-v", "-H", "Expect: 100-continue", "--data-binary", "small body", url("/continue"));
  assert.is(code, 0, stderr);
  assert.match(stderr, /< HTTP\/1\.1 100 Continue/);
  assert.match(stderr, /< HTTP\/1\.1 200 OK/);
  assert.is(JSON.parse(stdout).text, "small body");
});

test("chunked uploads: from a file and from stdin", async () => {
  const fromFile = await curl("-H", "Transfer-Encoding: chunked", "--data-binary", `@${file}`, url("/chunked"));
  assert.is(fromFile.code, 0, fromFile.stderr);
  const f = JSON.parse(fromFile.stdout);
  assert.is(f.transferEncoding, "chunked");
  assert.is(f.contentLength, null);
  assert.is(f.bytes, FILE_BYTES);
  assert.is(f.sha, fileSha);

  const input = "line one\nline two\n".repeat(5000);
  const fromStdin = await run(CURL, ["-sS", "--max-time", "20", "-H", "Transfer-Encoding: chunked", "--data-binary", "@-", url("/stdin")], { input });
  assert.is(fromStdin.code, 0, fromStdin.stderr);
  const g = JSON.parse(fromStdin.stdout);
  assert.is(g.transferEncoding, "chunked");
  assert.is(g.bytes, input.length);
  assert.is(g.sha, createHash("sha256").update(input).digest("hex"));
});

test("keep-alive: two URLs in one curl run share one connection", async () => {
  connections.clear();
  const { code, stdout, stderr } = await curl("-o", "/dev/null", "-o", "/dev/null", "-w", "%{num_connects} %{http_code}\\n", url("/one"), url("/two"));
  assert.is(code, 0, stderr);
  assert.equal(stdout.trim().split("\n"), ["1 200", "0 200"], "the second transfer made no new connection");
  assert.is(connections.size, 1, "one connection seen by the server");
  const verbose = await curl("-v", "-o", "/dev/null", "-o", "/dev/null", url("/a"), url("/b"));
  assert.match(verbose.stderr, /Re-using existing connection/i);
});

test("HTTP/1.0 (-0): answered, and the connection closed", async () => {
  const { code, stdout, stderr } = await curl("-0", "-i", url("/old"));
  assert.is(code, 0, stderr);
  assert.match(stdout, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(stdout, /\r\nconnection: close\r\n/i);
  assert.is(JSON.parse(stdout.split("\r\n\r\n")[1]!).path, "/old");
});

test("--http1.1 pipelining through a raw socket: many requests in one write, responses in order", async () => {
  const c = await RawClient.connect(s.port);
  const N = 100;
  let wire = "";
  for (let n = 0; n < N; n++) {
    wire += n % 3 === 1
      ? `POST /p${n} HTTP/1.1\r\nHost: x\r\nContent-Length: ${String(n).length}\r\n\r\n${n}`
      : n % 3 === 2
      ? `POST /p${n} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${String(n).length.toString(16)}\r\n${n}\r\n0\r\n\r\n`
      : `GET /p${n} HTTP/1.1\r\nHost: x\r\n\r\n`;
  }
  await c.write(wire + "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  for (let n = 0; n < N; n++) {
    const r = await c.readResponse();
    const got = JSON.parse(r.text);
    assert.is(got.path, `/p${n}`);
    assert.is(got.text, n % 3 === 0 ? "" : String(n));
  }
  const last = await c.readResponse();
  assert.is(JSON.parse(last.text).path, "/last");
  assert.ok(await c.closedByPeer());
  await c.close();
});

test("every connection ends; nothing was reported as an error", async () => {
  await until(() => s.server.connections === 0, "curl's connections to close");
  assert.equal(s.errors, []);
});

test.run();
