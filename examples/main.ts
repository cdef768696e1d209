/**
 * `npm start` (also `deno task start`, `bun run start`): the main job. On
 * this runtime it starts weft's Redis-compatible server on 127.0.0.1:6380
 * (`--port=N` or WEFT_REDIS_PORT) and, next to it, a small web page on
 * 127.0.0.1:8080 (`--http-port=N` or WEFT_HTTP_PORT) whose visit counter
 * lives in that Redis server; prints how to reach both; and shuts both down
 * cleanly on Ctrl-C. `npm run demo` is the tour of the layers instead
 * (examples/tour.ts).
 */
import { formatAddr } from "../mod.ts";
import { DEFAULT_HTTP_PORT, startHttpPage } from "./http_page.ts";
import { net, runtime } from "./_net.ts";
import { portOption } from "./_options.ts";
import { portFrom, startRedisServer } from "./redis_server.ts";

const argv = process.argv.slice(2);
const redis = await startRedisServer(net, portFrom(argv, process.env));
const page = await startHttpPage(net, runtime, portOption(argv, process.env, "http-port", "WEFT_HTTP_PORT", DEFAULT_HTTP_PORT), redis.addr.port!);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.log("shutting down: no new connections; requests and commands in flight are answered");
  await Promise.all([page.close(), redis.shutdown({ timeoutMs: 5000 })]);
  console.log("stopped");
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

// Printed once Ctrl-C is handled: whoever waits for these lines may send it.
const port = redis.addr.port;
console.log(`weft on ${runtime}`);
console.log(`  Redis-compatible server listening on ${formatAddr(redis.addr)}`);
console.log(`    try: redis-cli -p ${port} ping    redis-cli -p ${port} set greeting hello    redis-cli -p ${port}`);
console.log(`  HTTP page listening on ${formatAddr(page.server.addr)}`);
console.log(`    try: curl http://${formatAddr(page.server.addr)}/    (or open it in a browser)`);
console.log("  Ctrl-C stops both");
await Promise.all([redis.finished, page.server.finished]);
