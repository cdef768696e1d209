/**
 * The socket adapter of the runtime this example runs on. A program written
 * for one runtime imports its adapter directly (`weft/node`); the examples
 * pick it at startup so that one file runs on Node, Deno and Bun.
 */
import type { Adapter } from "../mod.ts";

const g = globalThis as { Deno?: unknown; Bun?: unknown };

/** `node`, `deno` or `bun`. */
export const runtime = g.Deno ? "deno" : g.Bun ? "bun" : "node";

/** This runtime's adapter: connect, listen, connectTls, listenTls, startTls. */
export const net: Adapter = await import(`../adapters/${runtime}.ts`);
