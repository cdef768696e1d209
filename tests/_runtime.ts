/** Which runtime the tests run on, and its socket adapter. */
import type { Adapter } from "../mod.ts";

const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };

/** `node`, `deno` or `bun`. */
export const runtime: "node" | "deno" | "bun" = g.Deno ? "deno" : g.Bun ? "bun" : "node";

/** The runtime with its version: `node-20.20.2`, `deno-2.9.6`, `bun-1.4.5`. */
export const runtimeName = runtime === "deno"
  ? `deno-${g.Deno!.version.deno}`
  : runtime === "bun"
  ? `bun-${g.Bun!.version}`
  : `node-${process.versions.node}`;

/** The adapter module of this runtime. */
export async function loadAdapter(): Promise<Adapter & { name: string }> {
  // A computed specifier, so that one runtime's type check does not load another's adapter.
  const mod = (await import(`../adapters/${runtime}.ts`)) as Adapter;
  return { ...mod, name: runtime };
}

/** Resident memory of this process in bytes. */
export function rss(): number {
  return process.memoryUsage().rss;
}
