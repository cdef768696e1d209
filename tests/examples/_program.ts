/** Runs an example as a real process on this runtime, as a user would: for the tests of the main job and the runnable examples. */
import { runtime } from "../_runtime.ts";

const root = new URL("../../", import.meta.url).pathname;

/** A running example: what it printed so far, and how it ended. */
export interface Program {
  /** Everything it printed on stdout so far. */
  readonly out: () => string;
  /** Sends SIGINT (Ctrl-C) and resolves with the exit code (`null` on Deno, whose child_process reports the signal instead). */
  interrupt(): Promise<number | null>;
}

/**
 * Starts `file` with `args` and waits (up to 20 s) until its output matches
 * every pattern and says "Ctrl-C"; resolves with the program and the first
 * capture group of each pattern.
 */
export async function startProgram(file: string, args: string[], patterns: RegExp[]): Promise<{ program: Program; captures: string[] }> {
  const { spawn } = await import("node:child_process");
  const argv = runtime === "deno" ? ["run", "-A"] : runtime === "bun" ? [] : [...process.execArgv];
  const child = spawn(process.execPath, [...argv, file, ...args], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let out = "";
  const program: Program = {
    out: () => out,
    interrupt: () => {
      child.kill("SIGINT");
      return exited;
    },
  };
  try {
    const captures = await new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${file} printed no address: ${out}`)), 20_000);
      child.stdout!.on("data", (d: Uint8Array) => {
        out += new TextDecoder().decode(d);
        const found = patterns.map((p) => p.exec(out)?.[1]);
        if (found.every((c) => c !== undefined) && out.includes("Ctrl-C")) {
          clearTimeout(timer);
          resolve(found as string[]);
        }
      });
    });
    return { program, captures };
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
}
