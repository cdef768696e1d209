/**
 * `npm run build`: emits dist/ (JavaScript and .d.ts) from the TypeScript
 * sources, so that Node users import `weft` and `weft/node` with no loader.
 * Each adapter is compiled against its own runtime's types (the settings of
 * tsconfig.<runtime>.json, with only the adapter as input); the core is the
 * same in every pass.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../", import.meta.url).pathname;
const tsc = join(root, "node_modules/.bin/tsc");
const work = join(root, ".build");
rmSync(join(root, "dist"), { recursive: true, force: true });
mkdirSync(work, { recursive: true });
try {
  for (const runtime of ["node", "deno", "bun", "cloudflare"]) {
    const config = join(work, `tsconfig.${runtime}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        extends: `../tsconfig.${runtime}.json`,
        compilerOptions: { noEmit: false, declaration: true, outDir: "../dist", rootDir: ".." },
        include: [],
        files: [`../adapters/${runtime}.ts`, "../mod.ts", "../src/protocols/resp/mod.ts", "../src/protocols/http/mod.ts"],
      }),
    );
    execFileSync(tsc, ["-p", config], { cwd: root, stdio: "inherit" });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

// Declarations keep the sources' `.ts` specifiers; consumers resolve `.js`.
function rewrite(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) rewrite(path);
    else if (path.endsWith(".d.ts")) {
      const text = readFileSync(path, "utf8");
      const fixed = text.replace(/(["'])(\.{1,2}\/[^"']*?)\.ts\1/g, "$1$2.js$1");
      if (fixed !== text) writeFileSync(path, fixed);
    }
  }
}
rewrite(join(root, "dist"));
console.log("build: dist/ written");
