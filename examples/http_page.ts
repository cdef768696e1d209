/**
 * The small web page `npm start` serves next to the Redis-compatible server:
 * serveHttp() with a fetch handler that keeps its visit counter in that
 * server, through weft's Redis client, so one request crosses every layer
 * (HTTP in, RESP out, both on weft).
 *
 *   node --import tsx examples/http_page.ts [--http-port=8080] [--redis-port=6380]   (or deno run -A, bun)
 *   curl http://127.0.0.1:8080/
 *
 * Without a Redis server on `--redis-port` the page still answers, and says so.
 */
import { type Adapter, formatAddr, type Server } from "../mod.ts";
import { serveHttp } from "../src/protocols/http/mod.ts";
import { respClient } from "../src/protocols/resp/mod.ts";
import { portOption } from "./_options.ts";

/** The default HTTP port. */
export const DEFAULT_HTTP_PORT = 8080;

/** A running page: its server, and the Redis client to close with it. */
export interface HttpPage {
  server: Server;
  close(): Promise<void>;
}

/** Starts the page on 127.0.0.1:`port` (0: any free port), counting visits in the Redis server on `redisPort`. */
export async function startHttpPage(net: Adapter, runtime: string, port: number, redisPort: number): Promise<HttpPage> {
  const redis = respClient({ connect: (signal) => net.connect({ hostname: "127.0.0.1", port: redisPort, signal }), poolSize: 4 });
  const listener = await net.listen({ hostname: "127.0.0.1", port });
  const server = serveHttp({
    listener,
    onError: () => {},
    async fetch(request, info) {
      const url = new URL(request.url);
      if (url.pathname === "/health") return new Response("ok\n");
      if (url.pathname !== "/") return new Response("not found\n", { status: 404 });
      if (request.method !== "GET" && request.method !== "HEAD") return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
      let visits: string;
      try {
        visits = `visit number ${await redis.call(["INCR", "page:visits"], { signal: AbortSignal.timeout(1000) })}, counted in the Redis-compatible server on port ${redisPort}`;
      } catch (error) {
        visits = `no Redis server answers on port ${redisPort} (${(error as Error).message})`;
      }
      const html = `<!doctype html>
<html lang="en"><meta charset="utf-8"><title>weft</title>
<h1>weft on ${runtime}</h1>
<p>This page came over weft's HTTP/1.1 server (<code>serveHttp</code>), from ${escape(formatAddr(info.localAddr))} to you at ${escape(formatAddr(info.remoteAddr))}.</p>
<p>${escape(visits)}.</p>
<p>Try <code>redis-cli -p ${redisPort} get page:visits</code>.</p>
</html>
`;
      return new Response(html, { headers: { "content-type": "text/html;charset=utf-8" } });
    },
  });
  return {
    server,
    async close() {
      await server.shutdown({ timeoutMs: 5000 });
      await redis.close();
    },
  };
}

function escape(text: string): string {
  return text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

if ((import.meta as { main?: boolean }).main ?? process.argv[1]?.endsWith("http_page.ts")) {
  const { net, runtime } = await import("./_net.ts");
  const argv = process.argv.slice(2);
  const page = await startHttpPage(
    net,
    runtime,
    portOption(argv, process.env, "http-port", "WEFT_HTTP_PORT", DEFAULT_HTTP_PORT),
    portOption(argv, process.env, "redis-port", "WEFT_REDIS_PORT", 6380),
  );
  console.log(`weft's HTTP page on ${runtime}: http://${formatAddr(page.server.addr)}/   (Ctrl-C stops it)`);
  const stop = () => page.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
