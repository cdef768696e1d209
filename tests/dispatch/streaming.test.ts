/** streamingServer() and streamingClient(): bodies both ways in both modes, backpressure, aborts mid-body. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { framed, type Message, NetError, serviceFn, streamingClient, streamingServer } from "../../mod.ts";
import { patternCopy, readPattern, settle, until } from "../_helpers.ts";
import { pairs } from "./_pairs.ts";
import { streamFrames } from "./_stream_codec.ts";

const test = suite("dispatch: streaming bodies");
const modes = ["pipeline", "multiplex"] as const;

/** A body of `total` pattern bytes in `chunkBytes` pieces that counts what it produced and sees its cancel. */
function counted(total: number, chunkBytes = 16 * 1024, onChunk?: (produced: number) => void) {
  const state = { produced: 0, cancelled: undefined as unknown, body: undefined as unknown as ReadableStream<Uint8Array> };
  state.body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (state.produced >= total) return c.close();
      const n = Math.min(chunkBytes, total - state.produced);
      c.enqueue(patternCopy(state.produced, n));
      state.produced += n;
      onChunk?.(state.produced);
    },
    cancel(reason) {
      state.cancelled = reason ?? "cancelled";
    },
  }, { highWaterMark: 0 });
  return state;
}

/** The echo service: the request body back as the response body. */
const echo = serviceFn(async (req: Message<string>) => ({ head: `re:${req.head}`, body: req.body }));

test("bodies both ways: a 4 MiB request body comes back as the response body, in both modes", async () => {
  for (const p of pairs()) {
    for (const mode of modes) {
      const [a, b] = await p.pair();
      const served = streamingServer(framed(b, streamFrames()), echo, { mode });
      const client = streamingClient<string, string>(framed(a, streamFrames()), { mode });
      // Each response body is read as it comes: an unread body holds up the connection (that is the backpressure).
      const read = (res: Message<string>) => (res.body ? readPattern(res.body).then((n) => `${res.head} ${n}`) : res.head);
      const got = await Promise.all([
        client.call({ head: "big", body: counted(4 << 20).body }).then(read),
        client.call({ head: "none" }).then(read),
        client.call({ head: "small", body: counted(100_000).body }).then(read),
      ]);
      assert.equal(got, [`re:big ${4 << 20}`, "re:none", "re:small 100000"], `${p.name} ${mode}`);
      await client.close();
      await served;
    }
    await p.done();
  }
});

test("backpressure: a request body nobody reads stops the sender; reading it lets the rest through", async () => {
  for (const p of pairs()) {
    for (const mode of modes) {
      const [a, b] = await p.pair();
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      let started = false;
      const served = streamingServer(framed(b, streamFrames()), {
        async call(req: Message<string>) {
          started = true;
          await gate;
          return { head: `${await readPattern(req.body!)}` };
        },
      }, { mode });
      const client = streamingClient<string, string>(framed(a, streamFrames()), { mode });
      const total = 64 << 20;
      const source = counted(total);
      const call = client.call({ head: "up", body: source.body });
      await until(() => started, "the call started");
      // Let the sender run until it stalls: what it produced is bounded by the buffers on the way.
      let last = -1;
      while (source.produced !== last) {
        last = source.produced;
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok(source.produced < 8 << 20, `${p.name} ${mode}: produced ${source.produced}`);
      open();
      const res = await call;
      assert.is(res.head, String(total));
      await client.close();
      await served;
    }
    await p.done();
  }
});

test("a caller aborting mid-body: its body stops, the server's body stream errors, the connection stays usable", async () => {
  for (const p of pairs()) {
    for (const mode of modes) {
      const [a, b] = await p.pair();
      const seen: unknown[] = [];
      const served = streamingServer(framed(b, streamFrames()), {
        async call(req: Message<string>, options) {
          if (!req.body) return { head: "plain" };
          try {
            await readPattern(req.body);
            return { head: "read it all" };
          } catch (error) {
            seen.push(error);
            if (mode === "multiplex") {
              // The abort frame also cancels the call: its signal aborts (the body may error first).
              const signal = options!.signal!;
              if (!signal.aborted) await new Promise((r) => signal.addEventListener("abort", r));
              seen.push("signal");
            }
            return { head: "body failed" };
          }
        },
      }, { mode });
      const client = streamingClient<string, string>(framed(a, streamFrames()), { mode });
      const controller = new AbortController();
      const reason = new Error("gave up");
      // A memory pipe moves bytes in microtasks alone: abort from the body's own pull, after 256 KiB.
      const source = counted(1 << 30, 16 * 1024, (n) => n === 256 * 1024 && queueMicrotask(() => controller.abort(reason)));
      const call = client.call({ head: "up", body: source.body }, { signal: controller.signal });
      const r = await settle(call);
      assert.ok(!r.ok && r.error === reason, `${p.name} ${mode}:`);
      await until(() => seen.length > 0, "the server's body errored");
      assert.ok(seen[0] instanceof NetError && seen[0].code === "body-aborted", String(seen[0]));
      if (mode === "multiplex") await until(() => seen.includes("signal"), "the call cancelled too");
      await until(() => source.cancelled !== undefined, "the caller body cancelled");
      assert.ok(source.cancelled === reason, `the caller body was cancelled with the reason: ${source.cancelled}`);
      assert.is((await client.call({ head: "next" })).head, "plain");
      await until(() => client.pending === 0, "the dropped response read");
      await client.close();
      await served;
    }
    await p.done();
  }
});

test("a response body failing mid-way errors the caller's body stream; the connection stays usable", async () => {
  for (const p of pairs()) {
    for (const mode of modes) {
      const [a, b] = await p.pair();
      const served = streamingServer(framed(b, streamFrames()), {
        async call(req: Message<string>) {
          if (req.head !== "fail") return { head: "ok" };
          let sent = 0;
          const body = new ReadableStream<Uint8Array>({
            pull(c) {
              if (sent >= 200_000) return c.error(new Error("disk on fire"));
              c.enqueue(patternCopy(sent, 10_000));
              sent += 10_000;
            },
          });
          return { head: "partial", body };
        },
      }, { mode });
      const client = streamingClient<string, string>(framed(a, streamFrames()), { mode });
      const res = await client.call({ head: "fail" });
      const r = await settle(readPattern(res.body!));
      assert.ok(!r.ok && r.error instanceof NetError && r.error.code === "body-aborted", `${p.name} ${mode}`);
      assert.is((await client.call({ head: "again" })).head, "ok");
      await client.close();
      await served;
    }
    await p.done();
  }
});

test("a response body its caller cancels is read and dropped; aborted calls' bodies too", async () => {
  for (const p of pairs()) {
    for (const mode of modes) {
      const [a, b] = await p.pair();
      const served = streamingServer(framed(b, streamFrames()), echo, { mode });
      const client = streamingClient<string, string>(framed(a, streamFrames()), { mode });
      const res = await client.call({ head: "x", body: counted(1 << 20).body });
      const reader = res.body!.getReader();
      await reader.read();
      await reader.cancel();
      const controller = new AbortController();
      const dropped = client.call({ head: "y", body: counted(1 << 20).body }, { signal: controller.signal });
      controller.abort(new Error("not needed"));
      await settle(dropped);
      const next = await client.call({ head: "z", body: counted(10_000).body });
      assert.is(await readPattern(next.body!), 10_000, `${p.name} ${mode}`);
      await client.close();
      await served;
    }
    await p.done();
  }
});

test("a connection broken mid-body errors the open body streams and rejects pending calls", async () => {
  for (const p of pairs()) {
    for (const mode of modes) {
      const [a, b] = await p.pair();
      const served = streamingServer(framed(b, streamFrames()), echo, { mode });
      const client = streamingClient<string, string>(framed(a, streamFrames()), { mode });
      const source = counted(1 << 30);
      const res = await client.call({ head: "x", body: source.body });
      const reader = res.body!.getReader();
      await reader.read();
      await a.close(new NetError("connection-reset", "killed by the test"));
      let error: unknown;
      try {
        for (;;) if ((await reader.read()).done) break;
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof NetError, `${p.name} ${mode}: ${error}`);
      await client.closed;
      await served;
      await until(() => source.cancelled !== undefined, "the request body's pump stopped");
    }
    await p.done();
  }
});

test("bad mode is a TypeError naming it", async () => {
  const p = pairs()[0]!;
  const [a] = await p.pair();
  assert.throws(() => streamingClient(framed(a, streamFrames()), { mode: "stream" as never }), (e: Error) => e instanceof TypeError && e.message.includes('mode "stream"'));
  assert.throws(() => streamingServer(framed(a, streamFrames()), echo, { mode: 1 as never }), (e: Error) => e instanceof TypeError && e.message.includes("mode 1"));
});

test.run();
