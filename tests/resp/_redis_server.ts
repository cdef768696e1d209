/** A real redis-server on a free loopback port, for the tests of weft/resp; stopped by its PID. */
import type { Adapter } from "../../mod.ts";

export interface RedisServer {
  port: number;
  stop(): Promise<void>;
}

/** Starts redis-server (without persistence) on a free port of 127.0.0.1 and waits until it answers. */
export async function startRedis(net: Adapter): Promise<RedisServer> {
  const { spawn } = await import("node:child_process");
  const probe = await net.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port!;
  await probe.close();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  for (let i = 0; ; i++) {
    try {
      const conn = await net.connect({ hostname: "127.0.0.1", port });
      await conn.close();
      break;
    } catch (error) {
      if (i === 100) {
        child.kill();
        throw new Error(`redis-server did not start on port ${port}`, { cause: error });
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return {
    port,
    async stop() {
      child.kill();
      await exited;
    },
  };
}
