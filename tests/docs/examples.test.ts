/**
 * Runs the examples in the docs: every ```ts block in README.md and in the
 * JSDoc of mod.ts, src/ and adapters/, unless its fence says `ts ignore`.
 * `console.assert` throws inside them, so an example that stops being true
 * fails here. Imports of `weft` point at mod.ts and those of its other entry
 * points (`weft/resp`) at their sources; an example that imports an adapter
 * (`weft/node`) runs on that runtime only.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { suite } from "uvu";
import { runtime } from "../_runtime.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const out = join(tmpdir(), `weft-examples-${process.pid}`);
mkdirSync(out, { recursive: true });

interface Example {
  where: string;
  code: string;
}

function sources(dir: string, acc: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sources(path, acc);
    else if (path.endsWith(".ts")) acc.push(path);
  }
  return acc;
}

function fences(text: string, file: string, jsdoc: boolean): Example[] {
  const found: Example[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^\s*(?:\*\s?)?```(ts|typescript)(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*(?:\*\s?)?```\s*$/.test(lines[i]!); i++) {
      body.push(jsdoc ? lines[i]!.replace(/^\s*\*\s?/, "") : lines[i]!);
    }
    if (/\bignore\b/.test(open[2]!)) continue;
    found.push({ where: `${relative(root, file)}:${start + 1}`, code: body.join("\n") });
  }
  return found;
}

const examples: Example[] = [
  ...fences(readFileSync(join(root, "README.md"), "utf8"), join(root, "README.md"), false),
  ...[join(root, "mod.ts"), ...sources(join(root, "src")), ...sources(join(root, "adapters"))]
    .filter((f) => !f.endsWith(".d.ts"))
    .flatMap((f) => fences(readFileSync(f, "utf8"), f, true)),
];

/** The package's entry points besides `weft` itself, as in package.json's exports. */
const SUBPATHS: Record<string, string> = {
  node: "adapters/node.ts",
  deno: "adapters/deno.ts",
  bun: "adapters/bun.ts",
  resp: "src/protocols/resp/mod.ts",
  http: "src/protocols/http/mod.ts",
};

const PRELUDE = `const console = { ...globalThis.console, log() {}, info() {}, assert(ok, ...m) { if (!ok) throw new Error("console.assert failed" + (m.length ? ": " + m.join(" ") : "")); } };\n`;

const test = suite(`docs: examples (${examples.length} found)`);
let n = 0;
for (const ex of examples) {
  const adapter = /from\s+["']weft\/(node|deno|bun)["']/.exec(ex.code)?.[1];
  if (adapter && adapter !== runtime) continue;
  const code = PRELUDE +
    ex.code.replace(/from\s+["']weft(?:\/(\w+))?["']/g, (m, sub: string | undefined) => {
      const target = sub === undefined ? "mod.ts" : SUBPATHS[sub];
      return target === undefined ? m : `from ${JSON.stringify(pathToFileURL(join(root, target)).href)}`;
    }) + "\nexport {};\n";
  const file = join(out, `example_${++n}.mts`);
  writeFileSync(file, code);
  test(ex.where, async () => {
    await import(pathToFileURL(file).href);
  });
}
test.run();
