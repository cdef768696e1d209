/** Helpers shared by the tests: byte patterns, readers, waits that end by themselves. */
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Conn } from "../mod.ts";

const PERIOD = 1_000_003; // prime, so no chunk size lines up with it
const BLOCK = new Uint8Array(PERIOD + 16 * 1024 * 1024);
for (let i = 0; i < PERIOD; i++) BLOCK[i] = (i * 7 + (i >>> 9)) & 0xff;
for (let i = PERIOD; i < BLOCK.length; i++) BLOCK[i] = BLOCK[i - PERIOD]!; // periodic, so any offset lines up

/** The bytes of the test pattern from `offset`, `length` long (a view: copy before handing it to a writer). */
export function pattern(offset: number, length: number): Uint8Array {
  if (length > BLOCK.length - PERIOD) throw new RangeError("pattern: length too large");
  const start = offset % PERIOD;
  return BLOCK.subarray(start, start + length);
}

/** A fresh copy of the pattern, for writers that must own their chunks. */
export function patternCopy(offset: number, length: number): Uint8Array {
  return pattern(offset, length).slice();
}

/** Reads `readable` to its end, checking every byte against the pattern; returns the byte count. */
export async function readPattern(readable: ReadableStream<Uint8Array>, onChunk?: (total: number) => void): Promise<number> {
  let total = 0;
  for await (const chunk of readable) {
    const expected = pattern(total, chunk.byteLength);
    for (let i = 0; i < chunk.byteLength; i++) {
      if (chunk[i] !== expected[i]) throw new Error(`byte ${total + i} is ${chunk[i]}, expected ${expected[i]}`);
    }
    total += chunk.byteLength;
    onChunk?.(total);
  }
  return total;
}

/** Writes `total` bytes of the pattern in `chunkBytes` pieces, awaiting each write. */
export async function writePattern(writable: WritableStream<Uint8Array>, total: number, chunkBytes = 64 * 1024, close = true): Promise<void> {
  const writer = writable.getWriter();
  for (let at = 0; at < total; at += chunkBytes) {
    await writer.write(patternCopy(at, Math.min(chunkBytes, total - at)));
  }
  if (close) await writer.close();
  else writer.releaseLock();
}

/** Reads everything as text. */
export function readText(readable: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(readable).text();
}

/** Reads until `text` has been seen (or the stream ends); returns what was read and releases the reader. */
export async function readUntil(readable: ReadableStream<Uint8Array>, text: string): Promise<string> {
  const reader = readable.getReader();
  const decoder = new TextDecoder();
  let got = "";
  try {
    while (!got.includes(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      got += decoder.decode(value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
  return got;
}

/** Writes one string and releases the writer. */
export async function writeText(writable: WritableStream<Uint8Array>, text: string, close = false): Promise<void> {
  const writer = writable.getWriter();
  await writer.write(new TextEncoder().encode(text));
  if (close) await writer.close();
  else writer.releaseLock();
}

/** Echoes `conn` back to itself until the peer's FIN, then half-closes. */
export async function echo(conn: Conn): Promise<void> {
  const reader = conn.readable.getReader();
  const writer = conn.writable.getWriter();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    await writer.write(value);
  }
  await writer.close();
}

/** Resolves with the settled state of `p` without ever rejecting. */
export function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return p.then((value) => ({ ok: true as const, value }), (error) => ({ ok: false as const, error }));
}

/** Whether `p` is still pending after the event loop has run for `ms` (a liveness check, not a timing one). */
export async function stillPending(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = Symbol();
  const r = await Promise.race([p.then(() => undefined, () => undefined), new Promise((done) => (timer = setTimeout(() => done(pending), ms)))]);
  clearTimeout(timer);
  return r === pending;
}

/** Polls `check` every millisecond until it holds; fails after `limitMs`. */
export async function until(check: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > limitMs) throw new Error(`Gave up waiting for ${what} after ${limitMs} ms`);
    await new Promise((done) => setTimeout(done, 1));
  }
}

const fixtures = new URL("./fixtures/tls/", import.meta.url);
/** The TLS test fixtures: a CA, a leaf for localhost/127.0.0.1/::1 signed by it, and an untrusted self-signed pair. */
export const tlsFixtures = {
  ca: readFileSync(new URL("ca.pem", fixtures), "utf8"),
  cert: readFileSync(new URL("cert.pem", fixtures), "utf8"),
  key: readFileSync(new URL("key.pem", fixtures), "utf8"),
  untrustedCert: readFileSync(new URL("untrusted.pem", fixtures), "utf8"),
  untrustedKey: readFileSync(new URL("untrusted-key.pem", fixtures), "utf8"),
};

let sockets = 0;
/** A fresh Unix socket path in the temp directory. */
export function unixPath(): string {
  return join(tmpdir(), `weft-${process.pid}-${++sockets}.sock`);
}

/** Whether this machine has an IPv6 loopback address. */
export function hasIpv6(): boolean {
  try {
    return readFileSync("/proc/net/if_inet6", "utf8").includes("00000000000000000000000000000001");
  } catch {
    return false;
  }
}

/** The Node binary that runs peers written for Node (the orchestrator passes its own path). */
export const nodeBin = process.env.WEFT_NODE ?? "node";

/** Starts `tests/peers/<name>` under Node; resolves with the port it prints and a stop function. */
export function startPeer(name: string): Promise<{ port: number; stop(): void }> {
  return startNode([new URL(`./peers/${name}`, import.meta.url).pathname]);
}

/** Runs `body` against `tests/peers/<name>`, stopping the peer however it ends. */
export async function withPeer<T>(name: string, body: (port: number) => Promise<T>): Promise<T> {
  const peer = await startPeer(name);
  try {
    return await body(peer.port);
  } finally {
    peer.stop();
  }
}

/**
 * Starts a program under the machine's Node (a `.ts` file through tsx), as a
 * peer for a runtime that cannot play that part itself. It must print its
 * port on the first line of stdout and exit when its stdin closes.
 */
export async function startNode(args: string[]): Promise<{ port: number; stop(): void }> {
  const { spawn } = await import("node:child_process");
  const root = new URL("../", import.meta.url).pathname;
  const argv = args[0]!.endsWith(".ts") ? ["--import", "tsx", ...args] : args;
  const child = spawn(nodeBin, argv, { cwd: root, stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Uint8Array) => {
      out += new TextDecoder().decode(d);
      if (out.includes("\n")) resolve(Number(out.trim()));
    });
    child.on("error", reject);
    child.on("exit", (code: number) => reject(new Error(`peer ${args.join(" ")} exited with ${code}`)));
  });
  return {
    port,
    stop() {
      child.stdin!.end();
    },
  };
}

/** A ReadableStream of `items` (ReadableStream.from, which the DOM typings lack). */
export function streamOf<T>(items: Iterable<T>): ReadableStream<T> {
  return (ReadableStream as unknown as { from(items: Iterable<T>): ReadableStream<T> }).from(items);
}
