/**
 * The scenarios that edge_runtime.test.ts runs inside the edge-runtime VM.
 *
 * This file is compiled on its own (esbuild, IIFE) and evaluated in the VM
 * after the IIFE bundles of `mod.ts` (global `weft`), `weft/resp` (global
 * `weftResp`) and `weft/http` (global `weftHttp`): it imports only their
 * types, so the code that runs is the bundles', reached through those globals.
 * It defines `__weftEdge.run(name)`, which runs one scenario and resolves with
 * a JSON string `{ ok, detail }` or `{ ok: false, error }`: plain text, so no
 * object of the VM's realm leaks out to the host's assertions. Assertions are
 * made here, inside the VM; the host checks the outcome and the details.
 *
 * It also registers a `fetch` event listener, which the host reaches through
 * `runtime.dispatchFetch()`: the request goes through weft's HTTP client and
 * server, over a memory listener, inside the VM.
 */
import type * as Weft from "../../mod.ts";
import type * as WeftHttp from "../../src/protocols/http/mod.ts";
import type * as WeftResp from "../../src/protocols/resp/mod.ts";

declare const weft: typeof Weft;
declare const weftResp: typeof WeftResp;
declare const weftHttp: typeof WeftHttp;
declare function addEventListener(type: "fetch", handler: (event: { request: Request; respondWith(r: Promise<Response> | Response): void }) => void): void;

const text = new TextEncoder();
const untext = new TextDecoder();

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`check failed: ${message}`);
}

function equal(actual: unknown, expected: unknown, message: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message}: got ${a}, expected ${e}`);
}

const sleep = (ms: number) => new Promise<"slept">((done) => setTimeout(() => done("slept"), ms));

/** Writes each chunk as it comes, closes, and returns what the readable side gave back as an array. */
async function through<I, O>(pair: ReadableWritablePair<O, I>, input: I[]): Promise<O[]> {
  const writing = (async () => {
    const writer = pair.writable.getWriter();
    for (const item of input) await writer.write(item);
    await writer.close();
  })();
  writing.catch(() => {}); // when the readable errors, so does the writable: the reader's error is the one reported
  const out: O[] = [];
  const reader = pair.readable.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    out.push(value);
  }
  await writing;
  return out;
}

/** Encodes `frames` through an EncoderStream, re-splits the bytes into `split`-byte chunks, decodes them through a DecoderStream. */
async function roundTrip<T>(codec: () => Weft.Codec<T>, frames: T[], split: number): Promise<{ bytes: number; frames: T[] }> {
  const encoded = await through(new weft.EncoderStream(codec()), frames);
  const all = concat(encoded);
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < all.length; at += split) pieces.push(all.slice(at, at + split));
  return { bytes: all.length, frames: await through(new weft.DecoderStream(codec()), pieces) };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

async function readAll(readable: ReadableStream<Uint8Array>): Promise<string> {
  let out = "";
  const reader = readable.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return out + untext.decode();
    out += untext.decode(value, { stream: true });
  }
}

/** StreamFrame<string> as JSON lines, chunks in base64 (as the streamingServer docs do). */
function streamFrames(): Weft.Codec<Weft.StreamFrame<string>> {
  return {
    decode(src) {
      const at = src.indexOf(10);
      if (at < 0) return undefined;
      const f = JSON.parse(untext.decode(src.take(at + 1)));
      if (f.kind === "chunk") f.chunk = Uint8Array.from(atob(f.chunk), (c) => c.charCodeAt(0));
      return f;
    },
    encode(f, dst) {
      const json = f.kind === "chunk" ? { ...f, chunk: btoa(Array.from(f.chunk, (c) => String.fromCharCode(c)).join("")) } : f;
      dst.write(text.encode(JSON.stringify(json) + "\n"));
    },
  };
}

const scenarios: Record<string, () => Promise<unknown>> = {
  /** What the VM offers: no process, no require, no Buffer, no runtime namespaces, no eval. */
  async environment() {
    let evalBlocked = false;
    try {
      (0, eval)("1");
    } catch {
      evalBlocked = true;
    }
    return {
      process: typeof (globalThis as { process?: unknown }).process,
      require: typeof (globalThis as { require?: unknown }).require,
      module: typeof (globalThis as { module?: unknown }).module,
      Buffer: typeof (globalThis as { Buffer?: unknown }).Buffer,
      global: typeof (globalThis as { global?: unknown }).global,
      setImmediate: typeof (globalThis as { setImmediate?: unknown }).setImmediate,
      Deno: typeof (globalThis as { Deno?: unknown }).Deno,
      Bun: typeof (globalThis as { Bun?: unknown }).Bun,
      EdgeRuntime: (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime,
      evalBlocked,
      setTimeoutReturns: typeof setTimeout(() => {}, 0),
      bundles: [typeof weft.memoryPipe, typeof weftResp.respCodec, typeof weftHttp.serveHttp],
    };
  },

  /** lines, lengthDelimited, varintDelimited and jsonLines through EncoderStream and DecoderStream, the bytes re-split into 1, 3, 64 and 1 MiB chunks. */
  async codecs() {
    const detail: Record<string, number> = {};
    const words = ["alpha", "", "β-line", "x".repeat(300)];
    const blobs = [new Uint8Array(0), text.encode("one"), new Uint8Array(200).fill(7), new Uint8Array(70_000).map((_, i) => i & 0xff)];
    const values = [{ a: 1 }, [1, "two", null], "three", 4.5, { nested: { deep: [true, false] } }];
    for (const split of [1, 3, 64, 1 << 20]) {
      const l = await roundTrip(() => weft.lines(), words, split);
      equal(l.frames, words, `lines, split ${split}`);
      detail.lines = l.bytes;
      for (const [name, codec] of [
        ["lengthDelimited", () => weft.lengthDelimited()],
        ["varintDelimited", () => weft.varintDelimited()],
      ] as const) {
        if (split === 1 && name === "lengthDelimited") continue; // 1-byte chunks of 70 KB: covered by 3
        const r = await roundTrip(codec, blobs, split);
        equal(r.frames.map((f) => f.length), blobs.map((b) => b.length), `${name} lengths, split ${split}`);
        check(r.frames.every((f, i) => f.every((byte, j) => byte === blobs[i]![j])), `${name} bytes, split ${split}`);
        detail[name] = r.bytes;
      }
      const j = await roundTrip(() => weft.jsonLines(), values, split);
      equal(j.frames, values, `jsonLines, split ${split}`);
      detail.jsonLines = j.bytes;
    }
    // The wire formats, byte for byte.
    const wire = (codec: Weft.Codec<Uint8Array>, frame: Uint8Array) => {
      const dst = new weft.WriteBuffer();
      codec.encode(frame, dst);
      return Array.from(dst.bytes().slice());
    };
    equal(wire(weft.lengthDelimited(), text.encode("hi")), [0, 0, 0, 2, 104, 105], "lengthDelimited wire");
    equal(wire(weft.varintDelimited(), new Uint8Array(300)).slice(0, 2), [0xac, 0x02], "varint of 300");
    // Limits hold here too: an oversize line is a FrameError with its code.
    const over = await through(new weft.DecoderStream(weft.lines({ maxFrameBytes: 8 })), [text.encode("far too long\n")]).then(
      () => undefined,
      (e: unknown) => e,
    );
    check(over instanceof weft.FrameError && over.code === "frame-too-large", `oversize line: ${String(over)}`);
    return detail;
  },

  /** framed() over a memoryPipe both ways, and parts() handing back the undecoded bytes. */
  async framed() {
    const [a, b] = weft.memoryPipe();
    const left = weft.framed(a, weft.jsonLines<{ n: number }>());
    const right = weft.framed(b, weft.jsonLines<{ n: number }>());
    const writer = left.writable.getWriter();
    const reader = right.readable.getReader();
    for (let n = 0; n < 100; n++) void writer.write({ n });
    const got: number[] = [];
    while (got.length < 100) got.push((await reader.read()).value!.n);
    equal(got, Array.from({ length: 100 }, (_, n) => n), "frames in order");
    reader.releaseLock();
    await writer.write({ n: 100 });
    writer.releaseLock();
    // Release both sides from their framing: the right side gets back the bytes it read but did not decode.
    const leftParts = await left.parts();
    const w = leftParts.conn.writable.getWriter();
    await w.write(text.encode('{"n":101}\nRAW'));
    await w.close();
    const reader2 = right.readable.getReader();
    equal((await reader2.read()).value, { n: 100 }, "frame before the switch");
    equal((await reader2.read()).value, { n: 101 }, "frame of the same chunk");
    reader2.releaseLock();
    const parts = await right.parts();
    const rest = untext.decode(parts.leftover) + (await readAll(parts.conn.readable));
    equal(rest, "RAW", "undecoded bytes after the switch");
    await parts.conn.close();
    await leftParts.conn.close();
    return { frames: 102, leftover: rest };
  },

  /** memoryPipe: a reader that does not read makes writer.ready wait, the bytes in flight stay bounded, then all arrive; half-close. */
  async memoryPipe() {
    const capacityBytes = 16 * 1024;
    const [client, server] = weft.memoryPipe({ capacityBytes });
    const writer = client.writable.getWriter();
    const chunk = 4096;
    let accepted = 0;
    let written = 0;
    const writes: Promise<void>[] = [];
    // Offer 1 MiB to a peer that reads nothing, as fast as the writer lets us.
    const offering = (async () => {
      for (let i = 0; i < 256; i++) {
        await writer.ready;
        const data = new Uint8Array(chunk).fill(i & 0xff);
        accepted += chunk;
        writes.push(writer.write(data).then(() => void (written += chunk)));
      }
    })();
    const raced = await Promise.race([offering.then(() => "finished" as const), sleep(50)]);
    check(raced === "slept", "the writer waited for a reader");
    const acceptedWhileStalled = accepted;
    // What may wait with nobody reading: the peer's inbox, its readable's read-ahead, our writable's queue, one chunk.
    const bound = capacityBytes + weft.DEFAULT_READABLE_HIGH_WATER_MARK + weft.DEFAULT_WRITABLE_HIGH_WATER_MARK + chunk;
    check(acceptedWhileStalled <= bound, `bytes taken while nobody reads: ${acceptedWhileStalled}, bound ${bound}`);
    // Now read everything: the writer goes on, and every byte arrives in order.
    const reading = (async () => {
      let total = 0;
      const reader = server.readable.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return total;
        for (let k = 0; k < value.length; k++) {
          const expected = Math.floor((total + k) / chunk) & 0xff;
          if (value[k] !== expected) throw new Error(`byte ${total + k} is ${value[k]}, expected ${expected}`);
        }
        total += value.length;
      }
    })();
    await offering;
    await Promise.all(writes);
    await writer.close(); // half-close: the server sees the end, and can still answer
    const total = await reading;
    equal(total, 256 * chunk, "bytes received");
    const answer = server.writable.getWriter();
    await answer.write(text.encode(`got ${total}`));
    await answer.close();
    equal(await readAll(client.readable), `got ${total}`, "the answer after the half-close");
    await Promise.all([client.closed, server.closed]);
    // A reset reaches the peer as a NetError with its code.
    const [x, y] = weft.memoryPipe();
    await x.close(new Error("reset"));
    const reset = await y.readable.getReader().read().then(
      () => undefined,
      (e: unknown) => e,
    );
    check(reset instanceof weft.NetError && reset.code === "connection-reset", `reset: ${String(reset)}`);
    return { capacityBytes, acceptedWhileStalled, bound, written, total };
  },

  /** pipelineServer + pipelineClient over a memoryPipe: replies in request order, however long each call takes. */
  async pipeline() {
    const [a, b] = weft.memoryPipe();
    const served = weft.pipelineServer(
      weft.framed(b, weft.lines()),
      weft.serviceFn(async (line: string) => {
        await sleep(line.length % 3); // finishing out of order
        return line === "PING" ? "+PONG" : `-ERR ${line}`;
      }),
      { maxInFlight: 8 },
    );
    const client = weft.pipelineClient<string, string>(weft.framed(a, weft.lines()));
    const requests = Array.from({ length: 200 }, (_, i) => (i % 4 === 0 ? "PING" : `c${i}`));
    const replies = await Promise.all(requests.map((r) => client.call(r)));
    equal(replies, requests.map((r) => (r === "PING" ? "+PONG" : `-ERR ${r}`)), "replies in order");
    // An aborted call leaves the connection in sync.
    const controller = new AbortController();
    const aborted = client.call("slow-abort", { signal: controller.signal }).then(
      () => "answered",
      (e: unknown) => e,
    );
    controller.abort(new Error("gave up"));
    check((await aborted) instanceof Error, "the aborted call rejects");
    equal(await client.call("PING"), "+PONG", "the next call after an abort");
    await client.close();
    await served;
    return { calls: requests.length + 2 };
  },

  /** multiplexServer + multiplexClient over a memoryPipe: responses in any order, each to its own call. */
  async multiplex() {
    type Frame = { id: number; n: number };
    const hooks: Weft.MultiplexHooks<Frame, Frame> = {
      requestId: (f) => f.id,
      responseId: (f) => f.id,
      withRequestId: (f, id) => ({ ...f, id }),
      withResponseId: (f, id) => ({ ...f, id }),
    };
    const [a, b] = weft.memoryPipe();
    const held: { n: number; answer: () => void }[] = [];
    const order: number[] = [];
    const served = weft.multiplexServer(
      weft.framed(b, weft.jsonLines<Frame>()),
      weft.serviceFn(
        (f: Frame) =>
          new Promise<Frame>((resolve) => {
            held.push({ n: f.n, answer: () => resolve({ id: 0, n: f.n * 10 }) });
          }),
      ),
      hooks,
    );
    const client = weft.multiplexClient(weft.framed(a, weft.jsonLines<Frame>()), hooks);
    const calls = [0, 1, 2, 3, 4, 5].map((n) => client.call({ id: -1, n }));
    calls.forEach((c, n) => c.then(() => order.push(n)));
    for (let i = 0; i < 100 && held.length < 6; i++) await sleep(1);
    equal(held.map((h) => h.n), [0, 1, 2, 3, 4, 5], "all six calls running at once on the server");
    for (const h of [...held].reverse()) {
      h.answer(); // the last request is answered first
      await calls[h.n];
    }
    const replies = await Promise.all(calls);
    equal(replies.map((r) => r.n), [0, 10, 20, 30, 40, 50], "each reply to its call");
    equal(order, [5, 4, 3, 2, 1, 0], "answered out of order");
    await client.close();
    await served;
    return { order };
  },

  /** streamingServer + streamingClient: a request body streamed in, upper-cased, streamed back, both modes. */
  async streaming() {
    const detail: Record<string, number> = {};
    for (const mode of ["pipeline", "multiplex"] as const) {
      const [a, b] = weft.memoryPipe({ capacityBytes: 4096 });
      const served = weft.streamingServer<string, string>(
        weft.framed(b, streamFrames()),
        weft.serviceFn(async (req: Weft.Message<string>) => {
          const upper = req.body!.pipeThrough(
            new TransformStream<Uint8Array, Uint8Array>({
              transform: (chunk, c) => c.enqueue(text.encode(untext.decode(chunk).toUpperCase())),
            }),
          );
          return { head: `re:${req.head}`, body: upper };
        }),
        { mode },
      );
      const client = weft.streamingClient<string, string>(weft.framed(a, streamFrames()), { mode });
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent === 200) return c.close();
          c.enqueue(text.encode(`chunk ${sent++} of the body;`));
        },
      });
      const calls = [client.call({ head: "one", body }), client.call({ head: "two", body: new Response("second body").body! })];
      const one = await calls[0]!;
      equal(one.head, "re:one", `${mode}: head`);
      const got = await readAll(one.body!); // in pipeline mode the second response waits behind this body
      const two = await calls[1];
      equal(got, Array.from({ length: 200 }, (_, i) => `CHUNK ${i} OF THE BODY;`).join(""), `${mode}: streamed body`);
      equal([two!.head, await readAll(two!.body!)], ["re:two", "SECOND BODY"], `${mode}: second call`);
      await client.close();
      await served;
      detail[mode] = got.length;
    }
    return detail;
  },

  /** serve() over a memoryListener with a pool of clients, then a graceful shutdown; serve() with a handler. */
  async serve() {
    const listener = weft.memoryListener();
    const shutdown = new AbortController();
    const server = weft.serve(
      listener,
      {
        codec: () => weft.lines(),
        mode: "pipeline",
        service: weft.serviceFn(async (line: string) => (line === "PING" ? "+PONG" : `-ERR unknown command '${line}'`)),
      },
      { maxConnections: 16, idleTimeoutMs: 10_000, signal: shutdown.signal, shutdownTimeoutMs: 2_000 },
    );
    const client = weft.pool({
      size: 4,
      connect: async () => weft.pipelineClient<string, string>(weft.framed(await listener.connect(), weft.lines())),
    });
    const replies = await Promise.all(Array.from({ length: 100 }, () => client.call("PING")));
    check(replies.every((r) => r === "+PONG"), "every reply");
    const connections = client.connections;
    equal(connections, 4, "pool size");
    await client.close();
    shutdown.abort();
    await server.finished;
    equal(server.connections, 0, "connections after shutdown");

    // The handler form: an echo that upper-cases.
    const listener2 = weft.memoryListener();
    const echo = weft.serve(listener2, async (conn) => {
      const line = await readAll(conn.readable);
      const w = conn.writable.getWriter();
      await w.write(text.encode(line.toUpperCase()));
      await w.close();
    });
    const conn = await listener2.connect();
    const w = conn.writable.getWriter();
    await w.write(text.encode("edge"));
    await w.close();
    equal(await readAll(conn.readable), "EDGE", "handler reply");
    await echo.shutdown();
    return { calls: replies.length, connections };
  },

  /** timeout() and retry() stacked around a service. */
  async middleware() {
    let attempts = 0;
    const flaky = weft.serviceFn(async (key: string, { signal }) => {
      signal?.throwIfAborted();
      if (++attempts === 1) throw new weft.NetError("connection-refused", "Cannot connect");
      return `value of ${key}`;
    });
    const client = weft.stack(weft.timeout({ ms: 2000 }), weft.retry({ backoff: () => 1 }))(flaky);
    equal(await client.call("k"), "value of k", "retried result");
    equal(attempts, 2, "attempts");

    let innerAborted = false;
    const stuck = weft.serviceFn(
      (_req: string, { signal }) =>
        new Promise<string>((_resolve, reject) => {
          signal!.addEventListener("abort", () => {
            innerAborted = true;
            reject(signal!.reason);
          });
        }),
    );
    const started = performance.now();
    const timedOut = await weft.stack(weft.timeout({ ms: 30 }), weft.retry({ backoff: () => 1 }))(stuck).call("x").then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    const ms = performance.now() - started;
    check(timedOut?.name === "TimeoutError", `timeout rejects with a TimeoutError, got ${String(timedOut)}`);
    check(innerAborted, "the inner call's signal aborted");
    check(ms >= 25 && ms < 1000, `timed out after ${ms} ms`);

    // A request that is not safe to send again is not retried.
    let tries = 0;
    const failing = weft.retry({ backoff: () => 1 })(
      weft.serviceFn(async () => {
        tries++;
        throw new weft.NetError("connection-reset", "reset mid-call");
      }),
    );
    const e = await failing.call("y").then(() => undefined, (x: unknown) => x);
    check(e instanceof weft.NetError && e.code === "connection-reset" && tries === 1, `no retry of a reset: ${tries}`);
    return { attempts, timeoutMs: Math.round(ms) };
  },

  /** weft/resp: the codecs both ways, and the README's store served and called over a memoryListener. */
  async resp() {
    const client = weftResp.respCodec();
    const server = weftResp.respServerCodec();
    const dst = new weft.WriteBuffer();
    client.encode(["SET", "greeting", "hello"], dst);
    const wire = dst.bytes().slice();
    equal(untext.decode(wire), "*3\r\n$3\r\nSET\r\n$8\r\ngreeting\r\n$5\r\nhello\r\n", "command on the wire");
    const src = new weft.ReadBuffer();
    src.push(wire);
    const command = server.decode(src)!;
    equal(command.map((b) => untext.decode(b)), ["SET", "greeting", "hello"], "command decoded");
    const replies = new weft.WriteBuffer();
    server.encode(new weftResp.SimpleString("OK"), replies);
    server.encode(new Map([["role", "master"]]), replies);
    server.encode(new weftResp.RespError("ERR x"), replies);
    const back = new weft.ReadBuffer();
    back.push(replies.bytes().slice());
    equal(client.decode(back), "OK", "simple string");
    const map = client.decode(back);
    check(Array.isArray(map) && map.join() === "role,master", "a map to a RESP2 connection is a flat array");
    const err = client.decode(back);
    check(err instanceof weftResp.RespError && err.prefix === "ERR", "an error reply");

    const listener = weft.memoryListener();
    const served = weft.serve(listener, weftResp.respServer(weftResp.respStore()));
    const redis = weftResp.respClient({ connect: () => listener.connect() });
    equal(await redis.send("SET", "greeting", "hello"), "OK", "SET");
    equal(await redis.send("GET", "greeting"), "hello", "GET");
    const [x, y] = await Promise.all([redis.send("INCR", "n"), redis.send("INCR", "n")]);
    equal([x, y], [1, 2], "pipelined INCR");
    const bad = await redis.send("INCR", "greeting");
    check(bad instanceof weftResp.RespError && bad.prefix === "ERR", "INCR of a string");
    await redis.close();
    await served.shutdown();
    return { wireBytes: wire.length };
  },

  /** weft/http: serveHttp over a memoryListener answering raw HTTP/1.1, streaming a POST body back, and httpClient. */
  async http() {
    const listener = weft.memoryListener();
    const server = weftHttp.serveHttp({
      listener,
      async fetch(request, info) {
        const url = new URL(request.url);
        if (request.method === "POST") return new Response(request.body);
        return Response.json({ path: url.pathname, from: info.remoteAddr.hostname });
      },
    });
    const conn = await listener.connect();
    const writer = conn.writable.getWriter();
    await writer.write(text.encode("GET /hello HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"));
    await writer.write(text.encode("5\r\nedge!\r\n0\r\n\r\n"));
    writer.releaseLock();
    const reply = await readAll(conn.readable);
    check(reply.startsWith("HTTP/1.1 200 OK\r\n"), `status line: ${reply.slice(0, 40)}`);
    check(reply.includes('{"path":"/hello","from":'), `json body: ${reply}`);
    check(reply.split("HTTP/1.1 200 OK").length === 3 && reply.includes("edge!"), `pipelined POST echoed: ${reply}`);

    const client = weftHttp.httpClient({ connect: () => listener.connect() });
    const res = await client.fetch("http://example.test/echo", { method: "POST", body: "hi from the client" });
    equal([res.status, await res.text()], [200, "hi from the client"], "httpClient POST");
    const json = (await (await client.fetch("http://example.test/a/b")).json()) as { path: string };
    equal(json.path, "/a/b", "httpClient GET");
    await client.close();
    await server.shutdown();

    return { rawReplyBytes: reply.length };
  },

  /**
   * httpClient called with a caller's signal, as timeout() and retry() do: the
   * client combines it with the request's signal through AbortSignal.any(),
   * which edge-runtime 4's AbortSignal does not have. Reports what happens.
   */
  async httpClientSignal() {
    const listener = weft.memoryListener();
    const server = weftHttp.serveHttp({ listener, fetch: (r) => new Response(`ok ${new URL(r.url).pathname}`) });
    const client = weftHttp.httpClient({ connect: () => listener.connect() });
    const outcome = (p: Promise<Response>) =>
      p.then(
        async (r) => `ok: ${await r.text()}`,
        (e: unknown) => `${(e as Error)?.name}: ${(e as Error)?.message}`,
      );
    const detail = {
      abortSignalAny: typeof (AbortSignal as { any?: unknown }).any,
      callWithSignal: await outcome(client.call(new Request("http://x.test/a"), { signal: new AbortController().signal })),
      underTimeout: await outcome(weft.stack(weft.timeout({ ms: 5000 }))(client).call(new Request("http://x.test/b"))),
      fetchWithSignal: await outcome(client.fetch("http://x.test/c", { signal: new AbortController().signal })),
      callWithoutSignal: await outcome(client.call(new Request("http://x.test/d"))),
    };
    await client.close();
    await server.shutdown();
    return detail;
  },

  /**
   * serveHttp's lazyRequests: the lazy request forwards the members that
   * `Request.prototype` owns to a real Request; edge-runtime's Request is a
   * subclass of undici's whose own prototype has only `constructor`, so the
   * body readers are inherited and run on the lazy object. Reports what a
   * handler gets from the head (answered without a Request) and from the body.
   */
  async httpLazyRequests() {
    const listener = weft.memoryListener();
    const errors: string[] = [];
    const server = weftHttp.serveHttp({
      listener,
      lazyRequests: true,
      onError: (e) => void errors.push(`${(e as Error)?.name}: ${(e as Error)?.message}`),
      fetch: async (request) => {
        const head = `${request.method} ${new URL(request.url).pathname} ${request.headers.get("x-a")} ${request.signal.aborted}`;
        return new Response(new URL(request.url).pathname === "/head" ? head : `${head} ${await request.text()}`);
      },
    });
    const client = weftHttp.httpClient({ connect: () => listener.connect() });
    const send = async (path: string) => {
      const res = await client.fetch(`http://x.test${path}`, { method: "PUT", body: "body", headers: { "x-a": "1" } });
      return `${res.status} ${(await res.text()).trim()}`;
    };
    const detail = {
      requestPrototypeOwns: Object.getOwnPropertyNames(Request.prototype),
      headOnly: await send("/head"),
      readingTheBody: await send("/body"),
      errors,
    };
    await client.close();
    await server.shutdown();
    return detail;
  },
};

// A fetch event handler: the host's dispatchFetch() goes through weft's HTTP client and server.
const edgeListener = weft.memoryListener();
const edgeServer = weftHttp.serveHttp({
  listener: edgeListener,
  fetch: async (request) =>
    new Response(`${request.method} ${new URL(request.url).pathname} ${request.headers.get("x-from")} ${await request.text()}`, {
      headers: { "x-served-by": "weft/http in edge-runtime" },
    }),
});
const edgeClient = weftHttp.httpClient({ connect: () => edgeListener.connect() });
addEventListener("fetch", (event) => {
  event.respondWith(edgeClient.call(event.request));
});

(globalThis as unknown as { __weftEdge: unknown }).__weftEdge = {
  names: Object.keys(scenarios),
  /** Closes the fetch event's client and server; resolves with the server's connections left (0). */
  async close(): Promise<number> {
    await edgeClient.close();
    await edgeServer.shutdown();
    return edgeServer.connections;
  },
  async run(name: string): Promise<string> {
    try {
      const detail = await scenarios[name]!();
      return JSON.stringify({ ok: true, detail });
    } catch (error) {
      return JSON.stringify({ ok: false, error: error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error) });
    }
  },
};
