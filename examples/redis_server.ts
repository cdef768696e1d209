/**
 * weft's Redis-compatible server: serve() with respServer(respStore()), on
 * the runtime this runs on. Talk to it with redis-cli (or any Redis client).
 *
 *   node --import tsx examples/redis_server.ts [--port=6380]    (or deno run -A, bun)
 *   redis-cli -p 6380 set greeting hello
 *
 * The port comes from `--port=N`, else the environment's WEFT_REDIS_PORT,
 * else 6380 (next to a real Redis on 6379). Ctrl-C shuts it down gracefully:
 * no new connections, the commands in flight are answered, then it exits.
 */
import { type Adapter, formatAddr, serve, type Server } from "../mod.ts";
import { respServer, respStore } from "../src/protocols/resp/mod.ts";
import { portOption } from "./_options.ts";

/** The default port: next to a real Redis. */
export const DEFAULT_REDIS_PORT = 6380;

/** Starts the server on 127.0.0.1:`port` (0: any free port). */
export async function startRedisServer(net: Adapter, port: number): Promise<Server> {
  const listener = await net.listen({ hostname: "127.0.0.1", port });
  return serve(listener, respServer(respStore()), { onError: () => {} });
}

/** The port to use, from `argv` (`--port=N`) or `env` (WEFT_REDIS_PORT). */
export function portFrom(argv: readonly string[], env: Record<string, string | undefined>): number {
  return portOption(argv, env, "port", "WEFT_REDIS_PORT", DEFAULT_REDIS_PORT);
}

/** Runs until SIGINT or SIGTERM, printing where it listens and how to talk to it. */
export async function main(net: Adapter, runtime: string): Promise<void> {
  const server = await startRedisServer(net, portFrom(process.argv.slice(2), process.env));
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log("shutting down: no new connections; commands in flight are answered");
    await server.shutdown({ timeoutMs: 5000 });
    console.log(`stopped (${server.refused} connections refused over the limit)`);
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  // Printed once Ctrl-C is handled: whoever waits for these lines may send it.
  const port = server.addr.port;
  console.log(`weft's Redis-compatible server on ${runtime}, listening on ${formatAddr(server.addr)}`);
  console.log(`  try: redis-cli -p ${port} ping    redis-cli -p ${port} set greeting hello    redis-cli -p ${port}`);
  console.log("  Ctrl-C stops it");
  await server.finished;
}

if ((import.meta as { main?: boolean }).main ?? process.argv[1]?.endsWith("redis_server.ts")) {
  const { net, runtime } = await import("./_net.ts");
  await main(net, runtime);
}
