/** examples/multiplex_rpc.ts over real sockets on this runtime: out-of-order answers, a streamed body, a bad frame. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { demo, rpcFrames } from "../../examples/multiplex_rpc.ts";
import { FrameError, ReadBuffer, WriteBuffer } from "../../mod.ts";
import { loadAdapter } from "../_runtime.ts";

const net = await loadAdapter();
const test = suite(`examples: multiplexed RPC (${net.name})`);

test("the demo: the slow call is answered last, the streamed body arrives whole", async () => {
  const out = await demo(net, () => {});
  assert.is(out.length, 3);
  assert.is(out[2], "sleep 50 -> slept 50 ms");
  assert.ok(out.includes("upper multiplexed -> MULTIPLEXED"));
  assert.ok(out.includes("count 5 -> counting: 1 2 3 4 5"));
});

test("the codec: every kind of frame round-trips with its id; an unknown kind is invalid-frame", () => {
  const codec = rpcFrames();
  const dst = new WriteBuffer();
  const frames = [
    { kind: "head", head: "héllo", body: true, id: 7 },
    { kind: "chunk", chunk: Uint8Array.of(1, 2, 3), id: 7 },
    { kind: "end", id: 7 },
    { kind: "head", head: "", body: false, id: 2 ** 32 - 1 },
    { kind: "abort", id: 0 },
  ] as const;
  for (const f of frames) codec.encode(f, dst);
  const src = new ReadBuffer();
  src.push(dst.bytes().slice());
  for (const f of frames) {
    const got = codec.decode(src) as Record<string, unknown>;
    assert.equal({ ...got, chunk: got.chunk && Array.from(got.chunk as Uint8Array) }, { ...f, chunk: "chunk" in f ? Array.from(f.chunk) : undefined });
  }
  src.push(Uint8Array.of(0, 0, 0, 5, 0, 0, 0, 1, 9));
  assert.throws(() => codec.decode(src), (e: Error) => e instanceof FrameError && e.code === "invalid-frame");
});

test.run();
