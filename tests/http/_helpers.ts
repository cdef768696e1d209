/**
 * What the HTTP tests share: a weft HTTP server on this runtime's loopback,
 * raw client connections with a small HTTP/1.1 response parser of their own
 * (written apart from weft's codecs, so that the server is checked by
 * something it did not write), child processes with a time limit, and waits
 * that end by themselves.
 */
import { spawn } from "node:child_process";
import type { Conn, Listener, Server } from "../../mod.ts";
import { serveHttp, type ServeHttpOptions } from "../../src/protocols/http/mod.ts";
import { loadAdapter } from "../_runtime.ts";

export const net = await loadAdapter();

/** The longest any single wait in these tests may take before it fails. */
export const WAIT_MS = 10_000;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Rejects with a clear message when `p` takes longer than `ms`. */
export function within<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Gave up waiting for ${what} after ${ms} ms`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** A promise with its resolve function (Node 20 has no Promise.withResolvers). */
export function deferred<T = void>(): { promise: Promise<T>; resolve(value: T): void; reject(e: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Sleeps `ms` (for pacing a slow peer, never to assert on time). */
export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** A weft HTTP server on 127.0.0.1, a free port; errors reported to it are collected in `errors`. */
export interface TestServer {
  server: Server;
  listener: Listener;
  port: number;
  errors: unknown[];
  /** Graceful shutdown with a short deadline. */
  stop(): Promise<void>;
}

/** Starts serveHttp() with `options` on this runtime's loopback. */
export async function startServer(options: Omit<ServeHttpOptions, "listener">): Promise<TestServer> {
  const listener = await net.listen({ hostname: "127.0.0.1", port: 0 });
  const errors: unknown[] = [];
  const server = serveHttp({ onError: (e) => errors.push(e), ...options, listener });
  return {
    server,
    listener,
    port: listener.addr.port!,
    errors,
    stop: () => within(server.shutdown({ timeoutMs: 2000 }), "the server to shut down", 5000),
  };
}

/** A parsed response. */
export interface RawResponse {
  status: number;
  statusText: string;
  /** `HTTP/1.1` or `HTTP/1.0`. */
  version: string;
  /** Field names lower-cased, in wire order. */
  fields: [string, string][];
  /** The value of a field (several joined with ", "), or undefined. */
  header(name: string): string | undefined;
  body: Uint8Array;
  text: string;
  /** How the body was framed: "length", "chunked", "close" or "none". */
  framing: "length" | "chunked" | "close" | "none";
  trailers: [string, string][];
  /** The head as received, for exact checks. */
  rawHead: string;
}

/**
 * A raw HTTP/1.1 client connection: writes bytes as given, and parses
 * responses with its own small parser.
 */
export class RawClient {
  readonly conn: Conn;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #buf = new Uint8Array(0);
  #eof = false;
  #error: unknown;

  constructor(conn: Conn) {
    this.conn = conn;
    this.#reader = conn.readable.getReader();
    this.#writer = conn.writable.getWriter();
  }

  static async connect(port: number): Promise<RawClient> {
    return new RawClient(await within(net.connect({ hostname: "127.0.0.1", port }), "a connection"));
  }

  /** Bytes received and not parsed yet. */
  get buffered(): Uint8Array {
    return this.#buf;
  }

  async write(data: string | Uint8Array): Promise<void> {
    await within(this.#writer.write(typeof data === "string" ? enc.encode(data) : data), "a write");
  }

  /** Half-closes (sends FIN). */
  async end(): Promise<void> {
    await this.#writer.close().catch(() => {});
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

  /** Reads one more chunk into the buffer; false at the end (or an error). */
  async #fill(what: string): Promise<boolean> {
    if (this.#eof) return false;
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await within(this.#reader.read(), what);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith("Gave up")) throw error;
      this.#error = error;
      this.#eof = true;
      return false;
    }
    if (r.done) {
      this.#eof = true;
      return false;
    }
    const next = new Uint8Array(this.#buf.length + r.value.length);
    next.set(this.#buf);
    next.set(r.value, this.#buf.length);
    this.#buf = next;
    return true;
  }

  #indexOf(seq: string, from = 0): number {
    const b = this.#buf;
    outer: for (let i = from; i + seq.length <= b.length; i++) {
      for (let j = 0; j < seq.length; j++) if (b[i + j] !== seq.charCodeAt(j)) continue outer;
      return i;
    }
    return -1;
  }

  #take(n: number): Uint8Array {
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
    return out;
  }

  /** Reads up to and including CRLF; the line without it. */
  async #line(what: string): Promise<string> {
    for (;;) {
      const i = this.#indexOf("\r\n");
      if (i >= 0) {
        const line = latin1(this.#take(i + 2)).slice(0, -2);
        return line;
      }
      if (!(await this.#fill(what))) throw new Error(`The connection ended in the middle of ${what} (got ${JSON.stringify(latin1(this.#buf))})`);
    }
  }

  async #exactly(n: number, what: string): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    await this.readBytes(n, (chunk) => {
      parts.push(chunk.slice());
    }, what);
    return concat(parts);
  }

  /**
   * Reads exactly `n` bytes, handing them to `onChunk` as they come (the
   * callback may wait: the next read waits for it), without holding them.
   */
  async readBytes(n: number, onChunk: (chunk: Uint8Array) => void | Promise<void>, what = "a body"): Promise<void> {
    let left = n;
    if (this.#buf.length > 0 && left > 0) {
      const k = Math.min(left, this.#buf.length);
      const head = this.#take(k);
      left -= k;
      await onChunk(head);
    }
    while (left > 0) {
      if (this.#eof) throw new Error(`The connection ended in the middle of ${what}: ${n - left} of ${n} bytes`);
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await within(this.#reader.read(), what);
      } catch (error) {
        if (error instanceof Error && error.message.startsWith("Gave up")) throw error;
        this.#error = error;
        this.#eof = true;
        continue;
      }
      if (r.done) {
        this.#eof = true;
        continue;
      }
      let chunk = r.value;
      if (chunk.length > left) {
        this.#buf = chunk.slice(left);
        chunk = chunk.subarray(0, left);
      }
      left -= chunk.length;
      await onChunk(chunk);
    }
  }

  /** Reads bytes until the text `text` has arrived; returns everything up to and including it. */
  async readUntil(text: string): Promise<string> {
    for (;;) {
      const i = this.#indexOf(text);
      if (i >= 0) return latin1(this.#take(i + text.length));
      if (!(await this.#fill(`"${text}"`))) throw new Error(`The connection ended before ${JSON.stringify(text)} (got ${JSON.stringify(latin1(this.#buf))})`);
    }
  }

  /** Reads just the next head (status line and fields), for interim responses. */
  async readHead(): Promise<{ status: number; statusText: string; version: string; fields: [string, string][]; rawHead: string }> {
    let rawHead = "";
    const statusLine = await this.#line("a status line");
    rawHead += statusLine + "\r\n";
    const m = /^(HTTP\/1\.[01]) (\d{3})(?: (.*))?$/.exec(statusLine);
    if (!m) throw new Error(`Malformed status line ${JSON.stringify(statusLine)}`);
    const fields: [string, string][] = [];
    for (;;) {
      const line = await this.#line("a head");
      rawHead += line + "\r\n";
      if (line === "") break;
      const colon = line.indexOf(":");
      if (colon <= 0) throw new Error(`Malformed field line ${JSON.stringify(line)}`);
      fields.push([line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]);
    }
    return { status: Number(m[2]), statusText: m[3] ?? "", version: m[1]!, fields, rawHead };
  }

  /**
   * Reads one whole response. `request` says what it answers: a HEAD's has
   * no body. Interim (1xx) responses are returned too, unless `skipInterim`.
   */
  async readResponse(options: { head?: boolean; skipInterim?: boolean; onBody?: (chunk: Uint8Array) => void | Promise<void> } = {}): Promise<RawResponse> {
    for (;;) {
      const h = await this.readHead();
      const header = (name: string) => {
        const values = h.fields.filter(([n]) => n === name).map(([, v]) => v);
        return values.length === 0 ? undefined : values.join(", ");
      };
      if (h.status < 200 && options.skipInterim) continue;
      let body: Uint8Array = new Uint8Array(0);
      let framing: RawResponse["framing"] = "none";
      const trailers: [string, string][] = [];
      const te = header("transfer-encoding");
      const cl = header("content-length");
      if (h.status < 200 || h.status === 204 || h.status === 304 || options.head) {
        framing = "none";
      } else if (te !== undefined) {
        if (!/(^|,)\s*chunked\s*$/i.test(te)) throw new Error(`Unexpected Transfer-Encoding ${te}`);
        framing = "chunked";
        const parts: Uint8Array[] = [];
        const sink = options.onBody ?? ((chunk: Uint8Array) => void parts.push(chunk.slice()));
        for (;;) {
          const sizeLine = await this.#line("a chunk size");
          const size = parseInt(sizeLine.split(";")[0]!.trim(), 16);
          if (!Number.isFinite(size)) throw new Error(`Malformed chunk size ${JSON.stringify(sizeLine)}`);
          if (size === 0) break;
          await this.readBytes(size, sink, "a chunk");
          const crlf = latin1(await this.#exactly(2, "a chunk's CRLF"));
          if (crlf !== "\r\n") throw new Error("A chunk not followed by CRLF");
        }
        for (;;) {
          const line = await this.#line("the trailers");
          if (line === "") break;
          const colon = line.indexOf(":");
          trailers.push([line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]);
        }
        body = concat(parts);
      } else if (cl !== undefined) {
        framing = "length";
        if (options.onBody) await this.readBytes(Number(cl), options.onBody);
        else body = await this.#exactly(Number(cl), "a body");
      } else {
        framing = "close";
        while (await this.#fill("a body to the end of the connection"));
        body = this.#take(this.#buf.length);
        if (options.onBody) {
          await options.onBody(body);
          body = new Uint8Array(0);
        }
      }
      return { ...h, header, body, text: dec.decode(body), framing, trailers };
    }
  }

  /** Whether the server closed the connection: reads until the end (nothing else may arrive). Fails if bytes come. */
  async closedByPeer(): Promise<boolean> {
    while (await this.#fill("the end of the connection"));
    if (this.#buf.length > 0) throw new Error(`Unexpected bytes before the end: ${JSON.stringify(latin1(this.#buf))}`);
    return this.#eof;
  }

  /** Reads everything until the end of the connection, as Latin-1 text. */
  async readToEnd(): Promise<string> {
    while (await this.#fill("the end of the connection"));
    return latin1(this.#take(this.#buf.length));
  }

  /** The error the connection ended with, if it did not end cleanly. */
  get readError(): unknown {
    return this.#error;
  }
}

export function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode.apply(null, b.subarray(i, i + 8192) as unknown as number[]);
  return s;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One request, on a fresh connection, with `Connection: close`; the response. */
export async function oneShot(port: number, request: string, options: { head?: boolean } = {}): Promise<RawResponse> {
  const c = await RawClient.connect(port);
  try {
    await c.write(request);
    return await c.readResponse(options);
  } finally {
    await c.close();
  }
}

/** Runs `cmd args` with a time limit; its exit code, stdout and stderr. */
export function run(cmd: string, args: string[], options: { input?: string | Uint8Array; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} ${args.join(" ")} did not finish within ${options.timeoutMs ?? 20_000} ms (stderr: ${stderr})`));
    }, options.timeoutMs ?? 20_000);
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin!.on("error", () => {});
    child.stdin!.end(options.input ?? "");
  });
}

/** Polls `check` until it holds; fails after `limitMs`. */
export async function until(check: () => boolean, what: string, limitMs = WAIT_MS): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > limitMs) throw new Error(`Gave up waiting for ${what} after ${limitMs} ms`);
    await sleep(2);
  }
}
