/**
 * What the reliability tests share: raw RESP connections with a reply reader
 * of their own, a watch for unhandled rejections, a server in a process of
 * its own on this runtime (for memory measured from the outside), and the
 * HTTP tests' raw client and bounded waits.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import type { Conn } from "../../mod.ts";
import { runtime } from "../_runtime.ts";
import { latin1, net, within } from "../http/_helpers.ts";

export { deferred, latin1, net, RawClient, sleep, until, WAIT_MS, within } from "../http/_helpers.ts";

const enc = new TextEncoder();

/** A RESP command as its multibulk bytes. */
export function command(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${enc.encode(a).length}\r\n${a}\r\n`).join("")}`;
}

/** One RESP2 reply as the tests see it: `+OK` → "OK", `-ERR x` → { error }, `:1` → 1, `$3 abc` → "abc", `$-1` → null, arrays. */
export type Reply = string | number | null | { error: string } | Reply[];

/**
 * A raw RESP connection: writes bytes as given, reads RESP2 replies with a
 * small parser of its own (apart from weft's codec, so that the server is
 * checked by something it did not write).
 */
export class RespRaw {
  readonly conn: Conn;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #buf = "";
  #eof = false;
  /** The error the connection ended with, if it did not end cleanly. */
  readError: unknown;

  constructor(conn: Conn) {
    this.conn = conn;
    this.#reader = conn.readable.getReader();
    this.#writer = conn.writable.getWriter();
  }

  static async connect(port: number): Promise<RespRaw> {
    return new RespRaw(await within(net.connect({ hostname: "127.0.0.1", port }), "a connection"));
  }

  async write(data: string | Uint8Array): Promise<void> {
    await within(this.#writer.write(typeof data === "string" ? enc.encode(data) : data), "a write");
  }

  /** Aborts the connection (a reset where the runtime can send one). */
  async abort(): Promise<void> {
    await this.conn.close(new Error("the test client goes away")).catch(() => {});
  }

  async close(): Promise<void> {
    this.#reader.releaseLock();
    this.#writer.releaseLock();
    await this.conn.close().catch(() => {});
  }

  async #fill(what: string): Promise<boolean> {
    if (this.#eof) return false;
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await within(this.#reader.read(), what);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith("Gave up")) throw error;
      this.readError = error;
      this.#eof = true;
      return false;
    }
    if (r.done) {
      this.#eof = true;
      return false;
    }
    this.#buf += latin1(r.value);
    return true;
  }

  async #line(): Promise<string> {
    for (;;) {
      const i = this.#buf.indexOf("\r\n");
      if (i >= 0) {
        const line = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + 2);
        return line;
      }
      if (!(await this.#fill("a reply"))) throw new Error(`The connection ended in the middle of a reply (got ${JSON.stringify(this.#buf.slice(0, 80))})`);
    }
  }

  /** Reads one reply. */
  async reply(): Promise<Reply> {
    const line = await this.#line();
    const rest = line.slice(1);
    switch (line[0]) {
      case "+":
        return rest;
      case "-":
        return { error: rest };
      case ":":
        return Number(rest);
      case "$": {
        const n = Number(rest);
        if (n < 0) return null;
        while (this.#buf.length < n + 2) {
          if (!(await this.#fill("a bulk reply"))) throw new Error("The connection ended in the middle of a bulk reply");
        }
        const value = this.#buf.slice(0, n);
        this.#buf = this.#buf.slice(n + 2);
        return value;
      }
      case "*": {
        const n = Number(rest);
        if (n < 0) return null;
        const items: Reply[] = [];
        for (let i = 0; i < n; i++) items.push(await this.reply());
        return items;
      }
      default:
        throw new Error(`Malformed reply line ${JSON.stringify(line.slice(0, 80))}`);
    }
  }

  /** Whether the connection has ended (or was reset) with no byte of another reply: waits for a byte or the end. */
  async atEnd(): Promise<boolean> {
    if (this.#buf.length > 0) return false;
    return !(await this.#fill("a reply or the end"));
  }

  /** Reads until the end of the connection (or its reset); what arrived, as Latin-1 text. */
  async readToEnd(): Promise<string> {
    while (await this.#fill("the end of the connection"));
    const rest = this.#buf;
    this.#buf = "";
    return rest;
  }
}

/** Collects unhandled rejections while it is on (the runner counts them too, but per test is clearer). */
export function watchUnhandled(): { readonly seen: unknown[]; stop(): void } {
  const seen: unknown[] = [];
  const onUnhandled = (reason: unknown) => void seen.push(reason);
  process.on("unhandledRejection", onUnhandled);
  return { seen, stop: () => void process.off("unhandledRejection", onUnhandled) };
}

/** What the server process reports on `stats`. */
export interface ProcessStats {
  http: { requests: number; connections: number; refused: number };
  resp: { commands: number; connections: number; refused: number };
  rss: number;
}

/** A server process of this runtime (tests/reliability/_server_process.ts). */
export interface ServerProcess {
  pid: number;
  http: number;
  resp: number;
  stats(): Promise<ProcessStats>;
  stop(): Promise<void>;
}

/** Starts tests/reliability/_server_process.ts on the runtime these tests run on. */
export async function startServerProcess(args: string[] = []): Promise<ServerProcess> {
  const file = new URL("./_server_process.ts", import.meta.url).pathname;
  const root = new URL("../../", import.meta.url).pathname;
  const argv = runtime === "deno" ? ["run", "-A"] : runtime === "bun" ? [] : [...process.execArgv];
  const child = spawn(process.execPath, [...argv, file, ...args], { cwd: root, stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<void>((done) => child.on("exit", () => done()));
  let out = "";
  const waiting: ((line: string) => void)[] = [];
  let started!: (line: string) => void;
  const first = new Promise<string>((resolve) => (started = resolve));
  waiting.push((l) => started(l));
  child.stdout!.on("data", (d: Uint8Array) => {
    out += new TextDecoder().decode(d);
    for (let i = out.indexOf("\n"); i >= 0; i = out.indexOf("\n")) {
      const line = out.slice(0, i);
      out = out.slice(i + 1);
      if (line.startsWith("{")) waiting.shift()?.(line);
    }
  });
  try {
    const info = JSON.parse(await within(Promise.race([first, exited.then(() => Promise.reject(new Error("the server process exited before it started")))]), "the server process to start", 30_000)) as {
      http: number;
      resp: number;
      pid: number;
    };
    return {
      ...info,
      pid: child.pid!,
      stats: () =>
        within(
          new Promise<ProcessStats>((resolve) => {
            waiting.push((l) => resolve(JSON.parse(l) as ProcessStats));
            child.stdin!.write("stats\n");
          }),
          "the server process's stats",
        ),
      stop: async () => {
        child.stdin!.end();
        await within(exited, "the server process to exit").catch(() => child.kill("SIGKILL"));
      },
    };
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
}

/** A field of /proc/<pid>/status in bytes: VmRSS (resident now) or VmHWM (the peak). */
export function procMemory(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  if (m === null) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(m[1]) * 1024;
}

/** Resets a process's peak resident memory (VmHWM) to what it holds now; false where Linux does not allow it. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5"); // "5": reset the peak resident set size (Linux 4.0+)
    return true;
  } catch {
    return false;
  }
}

/** Resolves after `ms` unless `p` settles first; whether `p` was still pending (a liveness check, never a timing assertion). */
export async function stillPendingAfter(p: Promise<unknown>, ms: number): Promise<boolean> {
  const pending = Symbol();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const r = await Promise.race([p.then(() => undefined, () => undefined), new Promise((done) => (timer = setTimeout(() => done(pending), ms)))]);
  clearTimeout(timer);
  return r === pending;
}

/** Mebibytes, for messages. */
export function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}


/** The Node binary that runs peers written for Node (the orchestrator passes its own path). */
const nodeBin = process.env.WEFT_NODE ?? "node";

/** Starts `node <file> <args>` (a peer written for Node); resolves with the JSON object of its first line and a stop function. */
export async function startNodePeer<T>(file: string, args: string[], waitMs = 20_000): Promise<{ info: T; stop(): void }> {
  const child = spawn(nodeBin, [new URL(file, import.meta.url).pathname, ...args], { stdio: ["pipe", "pipe", "inherit"] });
  try {
    const line = await within(new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d: Uint8Array) => {
        out += new TextDecoder().decode(d);
        if (out.includes("\n")) resolve(out.slice(0, out.indexOf("\n")));
      });
      child.on("error", reject);
      child.on("close", (code: number) => reject(new Error(`the peer ${file} exited with ${code}`)));
    }), `the peer ${file} to print its line`, waitMs);
    return { info: JSON.parse(line) as T, stop: () => void child.stdin!.end() };
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
}
