/**
 * Packs weft as npm would publish it, installs the tarball into an empty
 * project and uses it from plain Node ESM with no loader: `weft` and
 * `weft/node` import, an echo over loopback works, and the types check.
 * Runs once per `npm test` (on the first runtime).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { nodeBin } from "../_helpers.ts";

if (process.env.WEFT_PRIMARY === "1") {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const test = suite("package: npm pack, install, import from plain Node");
  const dir = mkdtempSync(join(tmpdir(), "weft-pack-"));
  test.after(() => rmSync(dir, { recursive: true, force: true }));

  test("the tarball holds dist/ and no sources or tests", () => {
    const out = execFileSync("npm", ["pack", "--json", "--pack-destination", dir], { cwd: root, encoding: "utf8" });
    const [info] = JSON.parse(out.slice(out.indexOf("["))) as { files: { path: string }[] }[];
    const paths = info!.files.map((f) => f.path);
    for (const needed of ["dist/mod.js", "dist/mod.d.ts", "dist/adapters/node.js", "dist/adapters/deno.js", "dist/adapters/bun.js", "package.json", "README.md"]) {
      assert.ok(paths.includes(needed), `${needed} missing from the tarball`);
    }
    assert.not.ok(paths.some((p) => p.startsWith("tests/") || p.startsWith("src/") || p.endsWith(".ts") && !p.endsWith(".d.ts")), "sources in the tarball");
  });

  test("installs and runs from plain Node ESM, and type-checks", () => {
    const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"))!;
    const app = join(dir, "app");
    execFileSync("mkdir", ["-p", app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", join(dir, tarball)], { cwd: app, stdio: "pipe" });
    writeFileSync(
      join(app, "main.js"),
      `import { memoryPipe, NetError } from "weft";
import { connect, listen } from "weft/node";
import { respCodec } from "weft/resp";
import { serveHttp } from "weft/http";
if (typeof respCodec().decode !== "function") throw new Error("weft/resp");
const web = serveHttp({ listener: await listen({ hostname: "127.0.0.1", port: 0 }), fetch: () => new Response("over http") });
const page = await (await fetch(\`http://127.0.0.1:\${web.addr.port}/\`)).text();
await web.shutdown();
if (page !== "over http") throw new Error("weft/http: " + page);
const listener = await listen({ hostname: "127.0.0.1", port: 0 });
(async () => { for await (const c of listener) c.readable.pipeTo(c.writable).catch(() => {}); })();
const conn = await connect({ hostname: "127.0.0.1", port: listener.addr.port });
const w = conn.writable.getWriter();
await w.write(new TextEncoder().encode("packed"));
await w.close();
const text = await new Response(conn.readable).text();
await listener.close();
const [a] = memoryPipe();
await a.close();
console.log(text, typeof NetError);
`,
    );
    const out = execFileSync(nodeBin, ["main.js"], { cwd: app, encoding: "utf8" });
    assert.is(out.trim(), "packed function");

    writeFileSync(
      join(app, "check.ts"),
      `import { memoryPipe, type Conn, NetError } from "weft";
import { connect } from "weft/node";
import { RespError, type RespValue } from "weft/resp";
import { type FetchHandler, serveHttp } from "weft/http";
const handler: FetchHandler = (request, info) => new Response(request.url + info.remoteAddr.hostname);
void serveHttp;
void handler;
const reply: RespValue = new RespError("ERR x");
void reply;
const [a]: [Conn, Conn] = memoryPipe();
const p: Promise<Conn> = connect({ port: 1 });
p.catch((e: unknown) => e instanceof NetError && e.code);
void a;
`,
    );
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "nodenext", moduleResolution: "nodenext", target: "es2022", strict: true, noEmit: true,
          lib: ["es2022", "esnext.disposable", "dom", "dom.iterable", "dom.asynciterable"],
          types: ["node"], typeRoots: [join(root, "node_modules/@types")], skipLibCheck: false,
        },
        files: ["check.ts"],
      }),
    );
    execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"], { cwd: app, stdio: "pipe" });
  });

  test.run();
}
