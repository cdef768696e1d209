/** The Node adapter's `onread` input: reads land in one shared buffer and are lent to the conn, which copies what it keeps. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { runtime } from "../_runtime.ts";

const test = suite("bytes: node onread input");

if (runtime === "node") {
  const { UserBufferInput } = await import("../../adapters/_node_socket.ts");

  test("bytes read before the socket opens are copied, kept, and delivered first", () => {
    const input = new UserBufferInput();
    const buffer = input.option.buffer;
    buffer.set([1, 2, 3]);
    input.option.callback(3, buffer);
    buffer.set([9, 9, 9]); // the next read, of any socket, reuses the buffer
    const got: [number[], boolean][] = [];
    input.open({ data: (chunk, borrowed = false) => got.push([[...chunk], borrowed]) });
    assert.equal(got, [[[1, 2, 3], false]]);
  });

  test("every read is lent, from the one buffer all sockets share", () => {
    const a = new UserBufferInput();
    const b = new UserBufferInput();
    assert.is(a.option.buffer, b.option.buffer);
    const seen: { chunk: Uint8Array; borrowed: boolean }[] = [];
    a.open({ data: (chunk, borrowed = false) => seen.push({ chunk, borrowed }) });
    a.option.callback(20_000, a.option.buffer);
    assert.is(seen[0]!.borrowed, true);
    assert.is(seen[0]!.chunk.byteLength, 20_000);
  });
}

test.run();
