/**
 * The main job as `npm start` runs it (examples/main.ts) as a real process on
 * this runtime: it prints both addresses, answers redis-cli on one and curl on
 * the other (the page's visit counter lives in the Redis server), and exits 0
 * on SIGINT after a graceful shutdown.
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { runtime } from "../_runtime.ts";
import { startProgram } from "./_program.ts";

const test = suite(`examples: npm start's Redis server and web page (${runtime})`);

async function run(cmd: string, ...args: string[]): Promise<string> {
  const { execFile } = await import("node:child_process");
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { timeout: 10_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout.trim())))
  );
}

test("serves Redis and the page, counts visits in Redis, and stops on SIGINT", async () => {
  const { program, captures } = await startProgram("examples/main.ts", ["--port=0", "--http-port=0"], [
    /Redis-compatible server listening on 127\.0\.0\.1:(\d+)/,
    /HTTP page listening on 127\.0\.0\.1:(\d+)/,
  ]);
  const ports = { redis: Number(captures[0]), http: Number(captures[1]) };
  try {
    assert.is(await run("redis-cli", "-p", String(ports.redis), "ping"), "PONG");
    const url = `http://127.0.0.1:${ports.http}/`;
    const first = await run("curl", "-sS", "-i", url);
    assert.match(first, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(first, /content-type: text\/html;charset=utf-8/i);
    assert.match(first, new RegExp(`weft on ${runtime}`));
    assert.match(first, /visit number 1,/);
    assert.match(await run("curl", "-sS", url), /visit number 2,/);
    assert.is(await run("redis-cli", "-p", String(ports.redis), "get", "page:visits"), "2");
    assert.is(await run("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", `${url}missing`), "404");
  } finally {
    const code = await program.interrupt();
    assert.match(program.out(), /stopped/, "the graceful path ran to its end");
    // Deno's node:child_process reports the signal it sent, not the code the child exited with.
    if (runtime !== "deno") assert.is(code, 0);
  }
});

test.run();
