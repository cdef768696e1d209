/**
 * npm run soak: weft's HTTP and RESP servers under mixed load with injected
 * faults, on this runtime's loopback, for a while; then what happened.
 *
 *   npm run soak [-- --seconds=N]      default 60 s, on Node
 *   deno run -A scripts/soak.ts / bun scripts/soak.ts    the same on Deno, Bun
 *
 * Load (all in this process, on 127.0.0.1):
 *   - HTTP: an httpClient() fetching small, echoed and 256 KiB streamed
 *     bodies, every body checked;
 *   - RESP: a respClient() doing SET / GET / INCR, every reply checked.
 * Faults, injected all the time alongside:
 *   - raw clients that reset their connection mid-head, mid-body (HTTP) or
 *     mid-command (RESP), and mid-response after one chunk of a large one;
 *   - raw clients that send garbage (HTTP 400, RESP protocol error);
 *   - slow clients that trickle a byte every 200 ms until the head or
 *     command timeout (1 s here) closes them;
 *   - every 10 s, a flood of 250 connections on each server, past its
 *     maxConnections (200), held until each has refused some;
 *   - the servers' side: every 250 ms, one open connection of each server,
 *     picked at random, is reset under whatever it is doing then.
 *
 * Prints requests served, the clients' errors by kind (NetError codes: the
 * injected faults make some expected), peak memory (this process: servers
 * and clients together, VmHWM), and the connections left open once the load
 * stops and the clients close. Exits 1 when a reply was wrong, a rejection
 * went unhandled, an error was no NetError, or a connection was left open.
 */
import { readFileSync } from "node:fs";
import { type Adapter, type Conn, type Listener, NetError, serve } from "../mod.ts";
import { httpClient, serveHttp } from "../src/protocols/http/mod.ts";
import { respClient, respServer, respStore } from "../src/protocols/resp/mod.ts";

const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
const runtime = g.Deno ? `deno ${g.Deno.version.deno}` : g.Bun ? `bun ${g.Bun.version}` : `node ${process.versions.node}`;
// A computed specifier, so that Node's type check does not load Deno's or Bun's adapter.
const { connect, listen } = (await import(`../adapters/${runtime.split(" ")[0]}.ts`)) as Adapter;

const seconds = Number(process.argv.find((a) => a.startsWith("--seconds="))?.slice(10) ?? 60);
if (!(seconds > 0)) throw new RangeError("--seconds=N: expected a positive number");

const MAX_CONNECTIONS = 200;
const TIMEOUT_MS = 1000;
/** How long a client call may take before the soak counts it `timed-out`: generous, since the machine may be busy. */
const CALL_MS = 30_000;
const BIG = 256 * 1024;
const enc = new TextEncoder();
const big = new Uint8Array(BIG).fill(0x62);

const rand = (n: number) => Math.floor(Math.random() * n);
const unhandled: unknown[] = [];
process.on("unhandledRejection", (reason) => void unhandled.push(reason));

/** Counts by kind. */
class Tally {
  readonly counts = new Map<string, number>();
  /** The first message of each kind, to say what it was. */
  readonly first = new Map<string, string>();
  add(kind: string, n = 1, message?: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + n);
    if (message !== undefined && !this.first.has(kind)) this.first.set(kind, message);
  }
  get(kind: string): number {
    return this.counts.get(kind) ?? 0;
  }
  toString(): string {
    return [...this.counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ") || "none";
  }
}

const served = { http: 0, resp: 0 };
const ok = { http: 0, resp: 0 };
const errors = { http: new Tally(), resp: new Tally() };
const faults = new Tally();
let wrong = 0;
let notNetError = 0;

function kind(error: unknown): string {
  if (error instanceof NetError) return error.code;
  notNetError++;
  return `${(error as Error)?.name ?? typeof error}: ${String((error as Error)?.message ?? error).slice(0, 60)}`;
}

/**
 * A listener that keeps the connections it accepted, so that the soak can
 * reset one of them, whatever it is doing, from the server's side.
 */
function faultyListener(inner: Listener): Listener & { resetOne(): void } {
  const open = new Set<Conn>();
  return {
    get addr() {
      return inner.addr;
    },
    async accept() {
      const conn = await inner.accept();
      if (conn !== undefined) {
        open.add(conn);
        conn.closed.finally(() => open.delete(conn)).catch(() => {});
      }
      return conn;
    },
    close: () => inner.close(),
    resetOne() {
      const all = [...open];
      const conn = all[rand(all.length)];
      if (conn === undefined) return;
      open.delete(conn);
      faults.add("server-side reset");
      conn.close(new Error("soak: injected server-side reset")).catch(() => {});
    },
    [Symbol.asyncIterator]: () => inner[Symbol.asyncIterator](),
    [Symbol.asyncDispose]: () => inner[Symbol.asyncDispose](),
  };
}

const httpListener = faultyListener(await listen({ hostname: "127.0.0.1", port: 0 }));
const respListener = faultyListener(await listen({ hostname: "127.0.0.1", port: 0 }));
const httpServer = serveHttp({
  listener: httpListener,
  maxConnections: MAX_CONNECTIONS,
  headTimeoutMs: TIMEOUT_MS,
  idleTimeoutMs: 5000,
  onError: () => {},
  fetch: async (request) => {
    served.http++;
    const url = new URL(request.url);
    if (url.pathname === "/echo") return new Response(await request.arrayBuffer());
    if (url.pathname === "/big") return new Response(new Blob([big]).stream());
    return new Response("ok");
  },
});
const store = respStore();
const respSrv = serve(
  respListener,
  respServer({
    ...store,
    commandTimeoutMs: TIMEOUT_MS,
    guard: (name, args, ctx) => {
      served.resp++;
      return store.guard?.(name, args, ctx);
    },
  }),
  { maxConnections: MAX_CONNECTIONS, idleTimeoutMs: 5000, onError: () => {} },
);
const httpPort = httpServer.addr.port!;
const respPort = respSrv.addr.port!;

const deadline = Date.now() + seconds * 1000;
const running = () => Date.now() < deadline;
const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Any promise, bounded: a wait that does not end by itself is a finding, not a hang. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new NetError("timed-out", `soak: no answer within ${ms} ms`)), ms)))])
    .finally(() => clearTimeout(timer));
}

/** connect(), bounded: a connection that arrives after the bound is closed, not leaked (a leaked one would count as left open). */
function connectWithin(port: number, ms = 5000): Promise<Conn> {
  const p = connect({ hostname: "127.0.0.1", port });
  return within(p, ms).catch((error) => {
    p.then((conn) => conn.close(), () => {});
    throw error;
  });
}

const http = httpClient({ connect, poolSize: 8 });
const resp = respClient({ connect: (signal) => connect({ hostname: "127.0.0.1", port: respPort, signal }), poolSize: 4 });

async function httpLoad(): Promise<void> {
  while (running()) {
    const which = rand(10);
    try {
      if (which < 6) {
        const text = await within(http.fetch(`http://127.0.0.1:${httpPort}/small`).then((r) => r.text()), CALL_MS);
        if (text !== "ok") wrong++;
      } else if (which < 9) {
        const body = `echo ${rand(1e9)} `.repeat(1 + rand(500));
        const text = await within(http.fetch(`http://127.0.0.1:${httpPort}/echo`, { method: "POST", body }).then((r) => r.text()), CALL_MS);
        if (text !== body) wrong++;
      } else {
        const bytes = await within(http.fetch(`http://127.0.0.1:${httpPort}/big`).then((r) => r.arrayBuffer()), CALL_MS);
        if (bytes.byteLength !== BIG) wrong++;
      }
      ok.http++;
    } catch (error) {
      errors.http.add(kind(error), 1, (error as Error)?.message);
    }
  }
}

async function respLoad(worker: number): Promise<void> {
  let counter = 0;
  let key = `soak:${worker}:0`;
  for (let epoch = 1; running(); ) {
    try {
      const value = `v${rand(1e9)}`;
      // One after the other: calls in flight at once may go out on different connections of the pool.
      const set = await within(resp.send("SET", key, value), CALL_MS);
      const got = await within(resp.send("GET", key), CALL_MS);
      if (set !== "OK" || got !== value) wrong++;
      const n = await within(resp.send("INCR", `${key}:n`), CALL_MS);
      // A reset may lose an INCR's reply after it ran: the count only grows.
      if (typeof n !== "number" || n <= counter) wrong++;
      else counter = n;
      ok.resp += 3;
    } catch (error) {
      errors.resp.add(kind(error), 1, (error as Error)?.message);
      // A call that failed may still run later (one that timed out here): go on with fresh keys.
      key = `soak:${worker}:${epoch++}`;
      counter = 0;
    }
  }
}

/** A raw connection that sends `bytes`, maybe reads `readFirst` bytes, then resets. */
async function rawReset(port: number, bytes: string | Uint8Array, readFirst: boolean, what: string): Promise<void> {
  let conn: Conn | undefined;
  try {
    conn = await connectWithin(port);
    const writer = conn.writable.getWriter();
    await within(writer.write(typeof bytes === "string" ? enc.encode(bytes) : bytes), 5000);
    if (readFirst) await within(conn.readable.getReader().read(), 5000);
    else await sleep(rand(20));
    faults.add(what);
  } catch {
    faults.add(`${what} (refused or reset first)`);
  } finally {
    await conn?.close(new Error("soak: injected client reset")).catch(() => {});
  }
}

/** A raw connection that sends `bytes` and reads to the end: garbage, answered with an error and a close. */
async function rawGarbage(port: number, bytes: string, what: string): Promise<void> {
  try {
    const conn = await connectWithin(port);
    await conn.writable.getWriter().write(enc.encode(bytes)).catch(() => {});
    await within(new Response(conn.readable).arrayBuffer(), 5000).catch(() => {});
    await conn.close().catch(() => {});
    faults.add(what);
  } catch {
    faults.add(`${what} (refused)`);
  }
}

/** A raw connection that trickles `bytes` one every 200 ms until the server closes it. */
async function trickle(port: number, bytes: string, what: string): Promise<void> {
  try {
    const conn = await connectWithin(port);
    const writer = conn.writable.getWriter();
    let closed = false;
    const reading = within(new Response(conn.readable).arrayBuffer(), TIMEOUT_MS * 10).catch(() => {}).finally(() => (closed = true));
    for (let i = 0; i < bytes.length && !closed; i++) {
      await writer.write(enc.encode(bytes[i])).catch(() => {});
      await sleep(200);
    }
    await reading;
    await conn.close().catch(() => {});
    faults.add(closed ? what : `${what} (not closed)`);
  } catch {
    faults.add(`${what} (refused)`);
  }
}

/** Connections past maxConnections on both servers, held until each server has refused some (at most 4 s). */
async function flood(): Promise<void> {
  const refused = httpServer.refused + respSrv.refused;
  const conns = await Promise.all(
    Array.from({ length: 2 * (MAX_CONNECTIONS + 50) }, (_, i) => connectWithin(i % 2 ? httpPort : respPort).catch(() => undefined)),
  );
  faults.add("flood connection", conns.filter(Boolean).length);
  for (let i = 0; i < 40 && httpServer.refused + respSrv.refused < refused + 100; i++) await sleep(100);
  await Promise.all(conns.map((c) => c?.close().catch(() => {})));
}

async function faultLoad(): Promise<void> {
  const head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";
  let round = 0;
  let flooded = Date.now();
  while (running()) {
    round++;
    const jobs: Promise<void>[] = [
      rawReset(httpPort, "GET /small HTTP/1.1\r\nHost: x\r\nX-Long: aaaa", false, "client reset mid-head"),
      rawReset(httpPort, head + "x".repeat(rand(50_000)), false, "client reset mid-body"),
      rawReset(httpPort, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", true, "client reset mid-response"),
      rawReset(respPort, "*3\r\n$3\r\nSET\r\n$4\r\nsoak\r\n$100000\r\nxxxx", false, "client reset mid-command"),
      rawReset(respPort, "*2\r\n$3\r\nGET\r\n$4\r\nsoak\r\n".repeat(2000), true, "client reset mid-replies"),
      rawGarbage(httpPort, "\x00\x01 NOT HTTP\r\n\r\n", "HTTP garbage"),
      rawGarbage(respPort, "*x\r\n", "RESP garbage"),
    ];
    if (round % 5 === 0) {
      jobs.push(trickle(httpPort, "GET /slow HTTP/1.1\r\n", "slow HTTP client"));
      jobs.push(trickle(respPort, "*1\r\n$4\r\nPING\r\n", "slow RESP client"));
    }
    if (Date.now() - flooded > 10_000) {
      flooded = Date.now();
      jobs.push(flood());
    }
    await Promise.all(jobs);
    await sleep(20);
  }
}

function procKb(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

let peakConnections = 0;
const sampler = setInterval(() => {
  peakConnections = Math.max(peakConnections, httpServer.connections + respSrv.connections);
}, 100);

const resetter = setInterval(() => {
  httpListener.resetOne();
  respListener.resetOne();
}, 250);
const started = Date.now();
console.log(`soak: ${seconds} s of mixed load and faults on HTTP :${httpPort} and RESP :${respPort} (${runtime})`);
const rssBefore = procKb("VmRSS");
await Promise.all([
  ...Array.from({ length: 16 }, () => httpLoad()),
  ...Array.from({ length: 8 }, (_, i) => respLoad(i)),
  faultLoad(),
  faultLoad(),
]);
clearInterval(sampler);
clearInterval(resetter);
await http.close();
await resp.close();

// The clients are gone: every connection should close by itself (the raw ones are closed, the idle ones time out).
const settleUntil = Date.now() + 10_000;
while (httpServer.connections + respSrv.connections > 0 && Date.now() < settleUntil) await sleep(100);
const left = { http: httpServer.connections, resp: respSrv.connections };
await Promise.all([httpServer.shutdown({ timeoutMs: 1000 }), respSrv.shutdown({ timeoutMs: 1000 })]);
await sleep(100);

const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const elapsed = (Date.now() - started) / 1000;
const lines = [
  `ran ${elapsed.toFixed(1)} s`,
  `HTTP: ${served.http} requests served; client: ${ok.http} ok, errors: ${errors.http}`,
  `RESP: ${served.resp} commands served; client: ${ok.resp} ok, errors: ${errors.resp}`,
  `faults injected: ${faults}`,
  `refused past maxConnections ${MAX_CONNECTIONS}: HTTP ${httpServer.refused}, RESP ${respSrv.refused}`,
  `peak connections served at once: ${peakConnections}`,
  `memory (servers and clients, one process): RSS ${mb(rssBefore)} at start, peak ${mb(procKb("VmHWM"))}, end ${mb(procKb("VmRSS"))}`,
  `connections left open after the clients closed: HTTP ${left.http}, RESP ${left.resp}`,
  `wrong replies: ${wrong}; errors that were no NetError: ${notNetError}; unhandled rejections: ${unhandled.length}`,
];
for (const line of lines) console.log(`  ${line}`);
for (const [which, tally] of Object.entries(errors)) {
  for (const [k, message] of tally.first) console.log(`  first ${which} ${k}: ${message}`);
}
for (const reason of unhandled.slice(0, 5)) console.log("  unhandled:", reason);
console.log(`@@soak ${JSON.stringify({
  runtime,
  seconds: Number(elapsed.toFixed(1)),
  http: { served: served.http, ok: ok.http, errors: Object.fromEntries(errors.http.counts), refused: httpServer.refused, left: left.http },
  resp: { served: served.resp, ok: ok.resp, errors: Object.fromEntries(errors.resp.counts), refused: respSrv.refused, left: left.resp },
  faults: [...faults.counts.values()].reduce((a, b) => a + b, 0),
  peakRss: procKb("VmHWM"),
  wrong,
  notNetError,
  unhandled: unhandled.length,
})}`);
const failed = wrong > 0 || notNetError > 0 || unhandled.length > 0 || left.http + left.resp > 0;
console.log(failed ? "soak: FAILED" : "soak: passed");
process.exit(failed ? 1 : 0);
