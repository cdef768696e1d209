/**
 * Runs weft's uvu test files on the current runtime (Node, Deno or Bun) and
 * exits when they are done, even if a test leaked a handle.
 *
 *   run.ts [file-or-dir ...]     default: every *.test.ts under tests/
 *
 * Prints uvu's report, then one line for the orchestrator:
 *   @@weft {"runtime":"node-20.20.2","passed":N,"failed":N,"skipped":N}
 * A file whose tests do not finish within WEFT_FILE_TIMEOUT_MS (default 300 s)
 * counts as one failure and the run stops there.
 */
import { readdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runtimeName } from "./_runtime.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = resolve(here, "..");
const fileTimeoutMs = Number(process.env.WEFT_FILE_TIMEOUT_MS ?? 300_000);

function collect(path: string, out: string[]): void {
  const st = statSync(path);
  if (st.isDirectory()) {
    for (const name of readdirSync(path).sort()) {
      if (name === "node_modules" || name.startsWith(".")) continue;
      collect(join(path, name), out);
    }
  } else if (path.endsWith(".test.ts")) {
    out.push(path);
  }
}

const args = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const files: string[] = [];
for (const a of args.length ? args : [here]) collect(resolve(a), files);

type Runner = () => Promise<[string | true, number, number, number]>;
const g = globalThis as unknown as { UVU_DEFER: number; UVU_QUEUE: (string | Runner)[][]; UVU_INDEX: number };
g.UVU_DEFER = 1;
g.UVU_QUEUE = [];

let passed = 0;
let failed = 0;
let skipped = 0;
const unhandled: unknown[] = [];
process.on("unhandledRejection", (reason) => unhandled.push(reason));
process.on("uncaughtException", (error) => unhandled.push(error));

const write = (s: string) => process.stdout.write(s);
const started = Date.now();

for (const [index, file] of files.entries()) {
  g.UVU_INDEX = index;
  g.UVU_QUEUE[index] = [relative(root, file)];
  try {
    await import(pathToFileURL(file).href);
  } catch (error) {
    write(`\n✘ ${relative(root, file)} failed to load: ${(error as Error)?.stack ?? error}\n`);
    failed++;
    g.UVU_QUEUE[index] = [relative(root, file)];
  }
}

async function runGroup(group: (string | Runner)[]): Promise<void> {
  const [name, ...suites] = group;
  write(`\n${name}\n`);
  for (const suite of suites as Runner[]) {
    const [errors, ran, skip, total] = await suite();
    passed += ran;
    failed += total - ran;
    skipped += skip;
    if (errors !== true) write(`\n${errors}\n`);
  }
}

for (const group of g.UVU_QUEUE) {
  if (!group) continue;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((done) => {
    timer = setTimeout(() => done("timeout"), fileTimeoutMs);
  });
  const outcome = await Promise.race([runGroup(group), timeout]);
  clearTimeout(timer);
  if (outcome === "timeout") {
    write(`\n✘ ${group[0]} did not finish within ${fileTimeoutMs} ms; stopping\n`);
    failed++;
    break;
  }
}

// Let late rejections from the last test surface before counting them.
await new Promise((done) => setTimeout(done, 50));
for (const reason of unhandled) {
  write(`\n✘ unhandled rejection or exception: ${(reason as Error)?.stack ?? reason}\n`);
  failed++;
}

write(`\n  ${runtimeName}: ${passed} passed, ${failed} failed, ${skipped} skipped in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
write(`@@weft ${JSON.stringify({ runtime: runtimeName, passed, failed, skipped })}\n`);
process.exit(failed > 0 ? 1 : 0);
