/**
 * Runs a Worker under workerd (miniflare) for the tests: bundles its source
 * with esbuild as Wrangler would (ES modules, `cloudflare:sockets` left to
 * the runtime), and starts one Miniflare for it.
 *
 * TLS to the test servers on loopback needs the test CA. miniflare reads
 * NODE_EXTRA_CA_CERTS once, when it is imported, into the trust of the
 * network service that Workers' sockets go out through; this process was
 * started without it. So the Worker gets an outbound service of its own with
 * the same settings (private and public addresses, the browsers' roots) plus
 * the test CA: the Worker's code still passes no `caCerts`, as on Cloudflare.
 * It also blocks one loopback address, {@link BLOCKED_ADDRESS}, as Cloudflare
 * blocks addresses a Worker may not reach.
 */
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { tlsFixtures } from "../_helpers.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** The compatibility date the tests run under: within what this miniflare's workerd supports. */
export const COMPATIBILITY_DATE = "2026-04-01";

/** An address the Worker's network refuses to reach, whatever listens there. */
export const BLOCKED_ADDRESS = "127.0.0.3";

/** Bundles `entry` (a path from the repository root) into one ES module for workerd. */
export async function bundleWorker(entry: string): Promise<string> {
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: [`${root}${entry}`],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    external: ["cloudflare:sockets"],
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

/** A Worker running under workerd. */
export interface Workerd {
  /** Sends a request to the Worker's fetch handler. */
  fetch(input: string, init?: RequestInit): Promise<Response>;
  /** What workerd printed (its own log of failed connects and handshakes), for failure messages. */
  readonly log: string[];
  /** Stops workerd. */
  dispose(): Promise<void>;
}

/** Bundles `entry` and starts it under workerd with `bindings` as its env. */
export async function startWorker(entry: string, bindings: Record<string, string> = {}): Promise<Workerd> {
  const script = await bundleWorker(entry);
  const { Miniflare } = await import("miniflare");
  const log: string[] = [];
  const keep = (stream: Readable) => stream.on("data", (d: Buffer) => log.push(...String(d).split("\n").filter((l) => l.trim() !== "")));
  const mf = new Miniflare({
    modules: true,
    script,
    compatibilityDate: COMPATIBILITY_DATE,
    bindings,
    outboundService: {
      network: { allow: ["public", "private"], deny: [`${BLOCKED_ADDRESS}/32`], tlsOptions: { trustBrowserCas: true, trustedCertificates: [tlsFixtures.ca] } },
    },
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      keep(stdout);
      keep(stderr);
    },
  });
  await mf.ready;
  return {
    log,
    async fetch(input, init) {
      // miniflare's Response is undici's: hand back the platform's, with the body streamed.
      const res = await mf.dispatchFetch(input, init as never);
      return new Response(res.body as ReadableStream<Uint8Array> | null, { status: res.status, statusText: res.statusText, headers: [...res.headers] });
    },
    dispose: () => mf.dispose(),
  };
}
