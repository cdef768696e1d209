/** redis-cli against weft's store and against a real redis-server started here: the same commands, the same output. */
import { spawn } from "node:child_process";
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { serve } from "../../mod.ts";
import { respServer, respStore } from "../../src/protocols/resp/mod.ts";
import { loadAdapter } from "../_runtime.ts";

const net = await loadAdapter();
const test = suite(`resp: redis-cli against weft and redis-server (${net.name})`);
const TIMEOUT_MS = 10_000;

function run(cmd: string, args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} timed out`));
    }, TIMEOUT_MS);
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
    child.stdin!.end(input);
  });
}

async function freePort(): Promise<number> {
  const l = await net.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port!;
  await l.close();
  return port;
}

async function waitForPing(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await run("redis-cli", ["-p", String(port), "PING"], "").catch(() => "")).trim() === "PONG") return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("redis-server did not start");
}

const SCRIPT = [
  "FLUSHDB", "PING", "PING hello", "ECHO 'hi there'", "SET a 1", "GET a", "INCR a", "INCRBY a 10", "DECR a",
  "SET a x NX", "SET a y XX GET", "SET b 2 PX 100000", "PTTL nope", "TTL a", "EXPIRE a 100", "TTL a", "PEXPIRE b 5000",
  "MSET c 3 d 4", "MGET a b c d nope", "EXISTS a b nope", "DEL c d nope", "SET s hello", "INCR s", "INCRBY s x",
  "SET k v EX 0", "SET k v FOO", "GET", "NOPE a b", "KEYS a", "KEYS [a]*", "SCAN 0 MATCH a COUNT 100", "DBSIZE", "CLIENT SETNAME me",
  "CLIENT GETNAME", "PUBLISH news hi", "SET big 9223372036854775807", "INCR big", "UNSUBSCRIBE", "FLUSHDB", "DBSIZE",
].join("\n") + "\n";

test("the same output from both servers", async () => {
  const port = await freePort();
  const redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  const listener = await net.listen({ hostname: "127.0.0.1", port: 0 });
  const server = serve(listener, respServer(respStore()));
  try {
    await waitForPing(port);
    const real = await run("redis-cli", ["-p", String(port)], SCRIPT);
    const ours = await run("redis-cli", ["-p", String(listener.addr.port)], SCRIPT);
    assert.is(ours, real);
    // In RESP3 redis-cli waits on UNSUBSCRIBE for a reply that comes as a push (with redis-server too).
    const script3 = SCRIPT.replace("UNSUBSCRIBE\n", "");
    const real3 = await run("redis-cli", ["-3", "-p", String(port)], script3);
    const ours3 = await run("redis-cli", ["-3", "-p", String(listener.addr.port)], script3);
    assert.is(ours3, real3);
  } finally {
    redis.kill("SIGTERM");
    await server.shutdown({ timeoutMs: 0 });
  }
});

test.run();
