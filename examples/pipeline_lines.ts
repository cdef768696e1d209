/**
 * A pipelined line protocol: a tiny key-value store. Each request is a line
 * ("SET key value", "GET key", "INCR key", "DEL key"), each response a line,
 * in request order. The server is serve() with lines() and the pipeline
 * dispatcher; the client is a pool of pipelined connections, itself a
 * Service, so that calls made at once share connections and travel together.
 *
 *   node --import tsx examples/pipeline_lines.ts      (or deno run -A, bun)
 */
import { type Adapter, framed, lines, pipelineClient, pool, type Pool, serve, type Server, type Service, serviceFn } from "../mod.ts";

/** The store's logic: a Service from a command line to a reply line. */
export function kvService(): Service<string, string> {
  const data = new Map<string, string>();
  return serviceFn((line: string) => {
    const [command = "", key = "", ...rest] = line.split(" ");
    switch (command.toUpperCase()) {
      case "SET":
        data.set(key, rest.join(" "));
        return "OK";
      case "GET":
        return data.get(key) ?? "(nil)";
      case "DEL":
        return data.delete(key) ? "1" : "0";
      case "INCR": {
        const n = Number(data.get(key) ?? "0") + 1;
        if (!Number.isSafeInteger(n)) return "ERR value is not an integer";
        data.set(key, String(n));
        return String(n);
      }
      default:
        return `ERR unknown command '${command}'`;
    }
  });
}

/** Serves the store on `listener` until `server.shutdown()`. */
export function serveKv(listener: Awaited<ReturnType<Adapter["listen"]>>): Server {
  return serve(listener, { codec: () => lines(), mode: "pipeline", service: kvService() });
}

/** A pool of up to `size` pipelined connections to the store at `port`. */
export function kvClient(net: Adapter, port: number, size = 2): Pool<string, string> {
  return pool({
    size,
    connect: async (signal) => pipelineClient(framed(await net.connect({ hostname: "127.0.0.1", port, signal }), lines())),
  });
}

/** Runs a short session against a fresh server; returns what it printed. */
export async function demo(net: Adapter, log: (line: string) => void): Promise<string[]> {
  const listener = await net.listen({ hostname: "127.0.0.1", port: 0 });
  const server = serveKv(listener);
  const client = kvClient(net, listener.addr.port!);
  const out: string[] = [];
  const ask = async (line: string) => {
    const reply = await client.call(line);
    out.push(reply);
    log(`  ${line} -> ${reply}`);
  };
  await ask("SET greeting hello pipelined world");
  await ask("GET greeting");
  // 100 calls at once: they are written back to back on the pool's connections and answered in order.
  const counts = await Promise.all(Array.from({ length: 100 }, () => client.call("INCR hits")));
  log(`  100 x INCR hits, made at once -> last reply ${Math.max(...counts.map(Number))} over ${client.connections} connection(s)`);
  out.push(String(Math.max(...counts.map(Number))));
  await ask("NOPE");
  await client.close();
  await server.shutdown();
  return out;
}

if ((import.meta as { main?: boolean }).main ?? process.argv[1]?.endsWith("pipeline_lines.ts")) {
  const { net, runtime } = await import("./_net.ts");
  console.log(`pipelined key-value store on ${runtime}:`);
  await demo(net, console.log);
}
