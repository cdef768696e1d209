/** What every benchmark worker shares: which runtime it runs on, and its `--name=value` arguments. */

const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };

/** "node", "deno" or "bun". */
export const runtime = g.Deno ? "deno" : g.Bun ? "bun" : "node";

/** The runtime's version. */
export const version = g.Deno ? g.Deno.version.deno : g.Bun ? g.Bun.version : process.versions.node;

/** The value of the worker's `--name=value` argument, or `fallback`. */
export function arg(name: string, fallback: string): string {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
}
