/**
 * The main job (examples/redis_server.ts, what `npm start` runs) as a real
 * process on this runtime: it prints its port, answers redis-cli, and exits 0
 * on Ctrl-C (SIGINT). And ioredis, a stock npm client, and redis-benchmark
 * against it.
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { runtime } from "../_runtime.ts";
import { startProgram } from "./_program.ts";

const test = suite(`examples: the Redis-compatible server as npm start runs it (${runtime})`);

async function cli(port: number, ...args: string[]): Promise<string> {
  const { execFile } = await import("node:child_process");
  return new Promise((resolve, reject) =>
    execFile("redis-cli", ["-p", String(port), ...args], { timeout: 10_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout.trim())))
  );
}

test("starts, answers redis-cli, ioredis and redis-benchmark, and shuts down cleanly on SIGINT", async () => {
  const { program, captures } = await startProgram("examples/redis_server.ts", ["--port=0"], [/listening on 127\.0\.0\.1:(\d+)/]);
  const port = Number(captures[0]);
  try {
    assert.match(program.out(), new RegExp(`redis-cli -p ${port} ping`));
    assert.is(await cli(port, "ping"), "PONG");
    assert.is(await cli(port, "set", "greeting", "hello"), "OK");
    assert.is(await cli(port, "get", "greeting"), "hello");

    const { Redis } = await import("ioredis");
    const io = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0, enableReadyCheck: false });
    await io.connect();
    assert.is(await io.set("n", "41"), "OK");
    assert.is(await io.incr("n"), 42);
    assert.equal(await io.mget("greeting", "n", "missing"), ["hello", "42", null]);
    assert.is(await io.set("n", "x", "NX"), null);
    const err = await io.incr("greeting").then(() => undefined, (e: Error) => e);
    assert.is(err?.message, "ERR value is not an integer or out of range");
    await io.quit();

    // redis-benchmark, a stock load generator, runs its tests without an error.
    const { execFile } = await import("node:child_process");
    const bench = await new Promise<string>((resolve, reject) =>
      execFile(
        "redis-benchmark",
        ["-p", String(port), "-t", "ping_inline,ping_mbulk,set,get,incr,mset", "-n", "2000", "-c", "10", "-P", "8", "--csv"],
        { timeout: 60_000 },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      )
    );
    for (const name of ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"]) {
      const row = bench.split("\n").find((l) => l.startsWith(`"${name}"`));
      assert.ok(row !== undefined && Number(JSON.parse(`[${row}]`)[1]) > 0, `${name}: ${bench}`);
    }
  } finally {
    const code = await program.interrupt();
    assert.match(program.out(), /stopped/, "the graceful path ran to its end");
    // Deno's node:child_process reports the signal it sent, not the code the child exited with.
    if (runtime !== "deno") assert.is(code, 0);
  }
});

test.run();
