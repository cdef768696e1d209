// `npm start` / `bun run start`: runs examples/main.ts on the runtime that
// runs the script: under `bun run`, on Bun (a package script's `node` would
// otherwise be Node); else on this Node, with tsx for Node 20.
import { spawn } from "node:child_process";

const bun = (process.env.npm_config_user_agent ?? "").startsWith("bun");
const [cmd, args] = bun ? ["bun", ["examples/main.ts"]] : [process.execPath, ["--import", "tsx", "examples/main.ts"]];
const child = spawn(cmd, [...args, ...process.argv.slice(2)], { stdio: "inherit" });
// Ctrl-C reaches the child too (the same process group); wait for it to finish.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
