/** The Node adapter's `onread` input: reads land in a buffer of ours and are copied out or handed over. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { runtime } from "../_runtime.ts";

const test = suite("bytes: node onread input");

if (runtime === "node") {
  const { UserBufferInput } = await import("../../adapters/_node_socket.ts");

  test("bytes read before the socket opens are kept, copied, and delivered first", () => {
    const input = new UserBufferInput();
    const buffer = input.option.buffer();
    buffer.set([1, 2, 3]);
    input.option.callback(3, buffer);
    buffer.set([9, 9, 9]); // the next read reuses the buffer
    const got: [number[], boolean][] = [];
    input.open({ data: (chunk, borrowed = false) => got.push([[...chunk], borrowed]) });
    assert.equal(got, [[[1, 2, 3], false]]);
  });

  test("a small read is lent (the buffer serves the next read); a large one keeps its buffer", () => {
    const input = new UserBufferInput();
    const seen: { chunk: Uint8Array; borrowed: boolean }[] = [];
    input.open({ data: (chunk, borrowed = false) => seen.push({ chunk, borrowed }) });
    const first = input.option.buffer();
    input.option.callback(10, first);
    assert.is(seen[0]!.borrowed, true);
    assert.is(input.option.buffer(), first);
    input.option.callback(20_000, first);
    assert.is(seen[1]!.borrowed, false);
    assert.is(seen[1]!.chunk.byteLength, 20_000);
    assert.is.not(input.option.buffer(), first, "the buffer of a kept chunk was used again");
  });
}

test.run();
