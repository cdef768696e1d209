/**
 * wrk against serveHttp() on this runtime: ten keep-alive connections for a
 * second, then pipelined requests and POSTs from Lua scripts. Every request
 * must be answered: no socket errors, no status other than 2xx. How many
 * requests a second is not looked at (that is the benchmarks' job).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { net, run, startServer, type TestServer, until } from "./_helpers.ts";

const test = suite(`http: wrk (${net.name})`);
const dir = mkdtempSync(join(tmpdir(), "weft-http-wrk-"));

/** Prints wrk's summary in a form to parse, whatever wrk's text looks like. */
const DONE = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("@@wrk requests=%d connect=%d read=%d write=%d status=%d timeout=%d\\n",
    summary.requests, e.connect, e.read, e.write, e.status, e.timeout))
end
`;

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, body + DONE);
  return path;
}

const plain = script("plain.lua", "");
const pipeline = script(
  "pipeline.lua",
  `
init = function(args)
  local r = {}
  r[1] = wrk.format(nil, "/a")
  r[2] = wrk.format(nil, "/b")
  r[3] = wrk.format("POST", "/post", { ["Content-Type"] = "text/plain" }, "a body in the pipeline")
  r[4] = wrk.format(nil, "/c")
  req = table.concat(r)
end
request = function()
  return req
end
`,
);
const post = script(
  "post.lua",
  `
wrk.method = "POST"
wrk.body = string.rep("x", 20000)
wrk.headers["Content-Type"] = "application/octet-stream"
`,
);

let s: TestServer;
let handled = 0;
let badBodies = 0;

test.before(async () => {
  s = await startServer({
    fetch: async (request) => {
      handled++;
      if (request.method === "POST") {
        const body = await request.text();
        if (body !== "a body in the pipeline" && body !== "x".repeat(20000)) badBodies++;
        return new Response(`got ${body.length}`);
      }
      return new Response(`hello ${new URL(request.url).pathname}`);
    },
  });
});
test.after(async () => {
  await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Summary {
  requests: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
}

async function wrk(path: string, scriptPath: string): Promise<Summary> {
  const { code, stdout, stderr } = await run("wrk", ["-t1", "-c10", "-d1s", "--timeout", "5s", "-s", scriptPath, `http://127.0.0.1:${s.port}${path}`], { timeoutMs: 30_000 });
  assert.is(code, 0, stderr);
  const line = stdout.split("\n").find((l) => l.startsWith("@@wrk "));
  assert.ok(line, stdout);
  const summary = Object.fromEntries(line!.slice(6).split(" ").map((kv) => kv.split("=")).map(([k, v]) => [k, Number(v)])) as unknown as Summary;
  assert.not.match(stdout, /Socket errors/, stdout);
  assert.not.match(stdout, /Non-2xx or 3xx/, stdout);
  return summary;
}

test("wrk -t1 -c10 -d1s: requests completed, no socket errors, nothing but 2xx", async () => {
  const before = handled;
  const r = await wrk("/", plain);
  assert.ok(r.requests > 0, `${r.requests} requests`);
  assert.equal({ ...r, requests: 0 }, { requests: 0, connect: 0, read: 0, write: 0, status: 0, timeout: 0 });
  assert.ok(handled - before >= r.requests, "every completed request reached the handler");
});

test("wrk with a Lua pipeline of four requests (a POST among them): no errors", async () => {
  const r = await wrk("/", pipeline);
  assert.ok(r.requests > 0);
  assert.equal({ ...r, requests: 0 }, { requests: 0, connect: 0, read: 0, write: 0, status: 0, timeout: 0 });
  assert.is(badBodies, 0);
});

test("wrk POSTing 20 kB bodies: no errors", async () => {
  const r = await wrk("/upload", post);
  assert.ok(r.requests > 0);
  assert.equal({ ...r, requests: 0 }, { requests: 0, connect: 0, read: 0, write: 0, status: 0, timeout: 0 });
  assert.is(badBodies, 0);
});

test("after wrk leaves: every connection closed, nothing reported", async () => {
  await until(() => s.server.connections === 0, "wrk's connections to close");
  assert.equal(s.errors, []);
});

test.run();
