/**
 * The main job as `npm start` runs it (examples/main.ts) as a real process on
 * this runtime: it prints both addresses, answers redis-cli on one and curl on
 * the other (the page's visit counter lives in the Redis server), and exits 0
 * on SIGINT after a graceful shutdown.
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { runtime } from "../_runtime.ts";

const test = suite(`examples: npm start's Redis server and web page (${runtime})`);
const root = new URL("../../", import.meta.url).pathname;

function command(file: string): [string, string[]] {
  if (runtime === "deno") return [process.execPath, ["run", "-A", file]];
  if (runtime === "bun") return [process.execPath, [file]];
  return [process.execPath, [...process.execArgv, file]];
}

async function run(cmd: string, ...args: string[]): Promise<string> {
  const { execFile } = await import("node:child_process");
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { timeout: 10_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout.trim())))
  );
}

test("serves Redis and the page, counts visits in Redis, and stops on SIGINT", async () => {
  const { spawn } = await import("node:child_process");
  const [cmd, args] = command("examples/main.ts");
  const child = spawn(cmd, [...args, "--port=0", "--http-port=0"], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let out = "";
  const ports = await new Promise<{ redis: number; http: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ports printed: ${out}`)), 20_000);
    child.stdout!.on("data", (d: Uint8Array) => {
      out += new TextDecoder().decode(d);
      const redis = /Redis-compatible server listening on 127\.0\.0\.1:(\d+)/.exec(out);
      const http = /HTTP page listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (redis && http && out.includes("Ctrl-C")) {
        clearTimeout(timer);
        resolve({ redis: Number(redis[1]), http: Number(http[1]) });
      }
    });
  });
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
    child.kill("SIGINT");
  }
  const code = await exited;
  assert.match(out, /stopped/, "the graceful path ran to its end");
  // Deno's node:child_process reports the signal it sent, not the code the child exited with.
  if (runtime !== "deno") assert.is(code, 0);
});

test.run();
