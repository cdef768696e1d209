/**
 * The TCP benchmark scenarios, written once against a minimal socket shape so
 * that weft's Conn and each runtime's native API run the very same workload.
 *
 * - discard: one connection, `totalBytes` in 64 KiB chunks, the server reads and drops;
 * - echo: the same, the server writes everything back, the client reads it all;
 * - pingpong: `conns` connections, one `messageBytes` message in flight each,
 *   the server answers each with the same bytes; `roundTrips` in all.
 *
 * Each scenario returns a figure where higher is better (MB/s or round trips/s).
 */

/** One side of a benchmark connection, as each variant implements it. */
export interface BenchServer {
  port: number;
  close(): Promise<void>;
}

/**
 * What a variant provides. Completion is counted in bytes, never signalled by a
 * half-close, so that every variant (Duplex.toWeb included, whose readable
 * does not end on a half-close) runs the same workload.
 */
export interface Variant {
  /** A server that reads and drops bytes; `onDone` fires once a connection has read `total`. */
  discardServer(total: number, onDone: () => void): Promise<BenchServer>;
  /** A server that writes back everything it reads, until the client goes away. */
  echoServer(): Promise<BenchServer>;
  /** Writes `total` bytes from `chunk` (reused); resolves when the last write was taken, then closes. */
  send(port: number, chunk: Uint8Array, total: number): Promise<() => Promise<void>>;
  /** Writes `total` bytes and reads `total` back concurrently; resolves when all came back. */
  sendAndReceive(port: number, chunk: Uint8Array, total: number): Promise<void>;
  /** Opens `conns` connections; each does `perConn` round trips of `message`. */
  pingpong(port: number, conns: number, perConn: number, message: Uint8Array): Promise<void>;
}

const MB = 1e6;

export async function discard(v: Variant, totalBytes: number): Promise<number> {
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const server = await v.discardServer(totalBytes, () => done());
  const chunk = new Uint8Array(64 * 1024).fill(7);
  const started = performance.now();
  const close = await v.send(server.port, chunk, totalBytes);
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await close();
  await server.close();
  return totalBytes / MB / seconds;
}

export async function echo(v: Variant, totalBytes: number): Promise<number> {
  const server = await v.echoServer();
  const chunk = new Uint8Array(64 * 1024).fill(9);
  const started = performance.now();
  await v.sendAndReceive(server.port, chunk, totalBytes);
  const seconds = (performance.now() - started) / 1000;
  await server.close();
  return totalBytes / MB / seconds;
}

export async function pingpong(v: Variant, conns: number, roundTrips: number, messageBytes: number): Promise<number> {
  const server = await v.echoServer();
  const message = new Uint8Array(messageBytes).fill(42);
  const perConn = Math.ceil(roundTrips / conns);
  const started = performance.now();
  await v.pingpong(server.port, conns, perConn, message);
  const seconds = (performance.now() - started) / 1000;
  await server.close();
  return (perConn * conns) / seconds;
}

const PONG = new TextEncoder().encode("+PONG\r\n");
const pongCache: Uint8Array[] = [];

/** `n` replies "+PONG\r\n" in one buffer (cached: the native ping servers reply with it). */
export function pongs(n: number): Uint8Array {
  let out = pongCache[n];
  if (out === undefined) {
    out = new Uint8Array(n * PONG.length);
    for (let i = 0; i < n; i++) out.set(PONG, i * PONG.length);
    if (n < 1024) pongCache[n] = out;
  }
  return out;
}

/** How many "\n" `chunk` holds: each ends an inline command, however the chunks split. */
export function countLines(chunk: Uint8Array): number {
  let n = 0;
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  return n;
}

/** How many request heads (each ends with an empty line) `chunk` holds; a hand-written responder assumes each arrives whole, as wrk's GETs do. */
export function countHeads(chunk: Uint8Array): number {
  let n = 0;
  for (let i = chunk.indexOf(13); i !== -1 && i + 3 < chunk.length; i = chunk.indexOf(13, i + 1)) {
    if (chunk[i + 1] === 10 && chunk[i + 2] === 13 && chunk[i + 3] === 10) n++;
  }
  return n;
}

let helloSecond = -1;
let helloCache: Uint8Array[] = [];

/** `n` responses 200 "Hello, World!" (text/plain;charset=UTF-8, a Date made once a second) in one buffer, as the hand-written HTTP responders send them. */
export function helloReplies(n: number): Uint8Array {
  const second = Math.floor(Date.now() / 1000);
  if (second !== helloSecond) {
    helloSecond = second;
    helloCache = [];
  }
  let out = helloCache[n];
  if (out === undefined) {
    const one = new TextEncoder().encode(
      `HTTP/1.1 200 OK\r\ncontent-type: text/plain;charset=UTF-8\r\ndate: ${new Date(second * 1000).toUTCString()}\r\ncontent-length: 13\r\n\r\nHello, World!`,
    );
    out = new Uint8Array(n * one.length);
    for (let i = 0; i < n; i++) out.set(one, i * one.length);
    if (n < 64) helloCache[n] = out;
  }
  return out;
}
