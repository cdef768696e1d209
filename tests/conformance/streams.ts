/**
 * The byte-stream conformance cases: everything a Conn promises, run against
 * any pair of connected Conns (memoryPipe, TCP over IPv4 and IPv6, Unix
 * sockets, TLS) on any runtime.
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { type Conn, NetError } from "../../mod.ts";
import { echo, patternCopy, readPattern, readText, settle, stillPending, writePattern, writeText } from "../_helpers.ts";
import { heldBytes } from "./_memory.ts";

const MiB = 1024 * 1024;

/** Makes connected pairs of one kind. */
export interface PairFactory {
  /** Shown in the report: `node tcp4`, `memoryPipe`. */
  name: string;
  /** A connected pair: [client, server]. */
  pair(): Promise<[Conn, Conn]>;
  /** Whether `close(reason)` on one end makes the other see `connection-reset`. */
  resets: boolean;
  /** Releases what the factory holds (a listener). */
  done?(): Promise<void>;
}

/** Registers the byte-stream cases for `f` as one uvu suite. */
export function streamConformance(f: PairFactory): void {
  const test = suite(`conformance: ${f.name}`);
  test.after(async () => {
    await f.done?.();
  });

  test("echoes 64 MiB byte-exact", async () => {
    const [client, server] = await f.pair();
    const serving = echo(server);
    const reading = readPattern(client.readable);
    await writePattern(client.writable, 64 * MiB);
    assert.is(await reading, 64 * MiB);
    await serving;
    await client.closed;
    await server.closed;
  });

  test("a BYOB reader with an odd-sized buffer echoes 16 MiB byte-exact", async () => {
    const [client, server] = await f.pair();
    const serving = (async () => {
      const reader = server.readable.getReader({ mode: "byob" });
      const writer = server.writable.getWriter();
      let buffer = new Uint8Array(10_007);
      for (;;) {
        const { value, done } = await reader.read(buffer);
        if (done || !value) break;
        await writer.write(value);
        buffer = new Uint8Array(value.buffer);
      }
      await writer.close();
    })();
    const reading = readPattern(client.readable);
    await writePattern(client.writable, 16 * MiB, 48 * 1024 + 1);
    assert.is(await reading, 16 * MiB);
    await serving;
    await client.closed;
    await server.closed;
  });

  test("a peer that does not read makes writer.ready wait; memory stays near the high-water mark", async () => {
    const [client, server] = await f.pair();
    const writer = client.writable.getWriter();
    const offered = 256 * MiB;
    const chunk = 64 * 1024;
    const base = await heldBytes();
    let accepted = 0;
    while (accepted < offered) {
      if (await stillPending(writer.ready, 300)) break;
      writer.write(patternCopy(accepted, chunk)).catch(() => {});
      accepted += chunk;
    }
    assert.ok(accepted < offered, "writer.ready never waited");
    // What the sender accepted fits in the high-water mark plus what the kernel
    // (or the pipe) buffers between the two ends.
    assert.ok(accepted <= 48 * MiB, `accepted ${accepted} bytes before waiting`);
    const held = (await heldBytes()) - base;
    assert.ok(held < 64 * 1024 + 4 * MiB, `holding ${held} bytes while stalled`);

    // Now the peer reads: every byte offered arrives, in order.
    const reading = readPattern(server.readable);
    for (; accepted < offered; accepted += chunk) {
      await writer.ready;
      writer.write(patternCopy(accepted, chunk)).catch(() => {});
    }
    await writer.close();
    assert.is(await reading, offered);
    await writeText(server.writable, "", true);
    await client.closed;
    await server.closed;
  });

  test("half-close: writable.close() sends FIN and the peer's reply still arrives", async () => {
    const [client, server] = await f.pair();
    await writeText(client.writable, "ping", true);
    assert.is(await readText(server.readable), "ping");
    await writeText(server.writable, "pong", true);
    assert.is(await readText(client.readable), "pong");
    await client.closed;
    await server.closed;
  });

  test("a single 16 MiB write arrives whole", async () => {
    const [client, server] = await f.pair();
    const reading = readPattern(server.readable);
    const writer = client.writable.getWriter();
    await writer.write(patternCopy(0, 16 * MiB));
    await writer.close();
    assert.is(await reading, 16 * MiB);
    await writeText(server.writable, "", true);
    await client.closed;
    await server.closed;
  });

  test("writes after close() reject; the peer sees the end; closed resolves", async () => {
    const [client, server] = await f.pair();
    const writer = client.writable.getWriter();
    await writer.write(new TextEncoder().encode("last"));
    await client.close();
    const late = await settle(writer.write(new Uint8Array(1)));
    assert.not.ok(late.ok);
    assert.instance((late as { error: unknown }).error, NetError);
    assert.is(((late as { error: NetError }).error).code, "closed");
    assert.is(await readText(server.readable), "last");
    await client.closed;
    await server.close();
    await server.closed;
  });

  test("close() ends a pending read with done", async () => {
    const [client, server] = await f.pair();
    const reader = client.readable.getReader();
    const read = reader.read();
    assert.ok(await stillPending(read, 20));
    await client.close();
    assert.equal(await read, { done: true, value: undefined });
    await server.close();
  });

  test("reads asked for before any bytes came are answered in order", async () => {
    const [client, server] = await f.pair();
    const reader = server.readable.getReader();
    const reads = [reader.read(), reader.read(), reader.read()];
    const writer = client.writable.getWriter();
    const got: string[] = [];
    for (const [i, text] of ["one", "two"].entries()) {
      await writer.write(new TextEncoder().encode(text));
      assert.not.ok(await stillPending(reads[i]!, 5000), `read ${i + 1} was never answered`);
      const r = await reads[i]!;
      assert.is(r.done, false);
      got.push(new TextDecoder().decode(r.value));
    }
    assert.is(got.join(""), "onetwo");
    await writer.close();
    assert.equal(await reads[2], { done: true, value: undefined });
    await server.close();
    await client.closed;
  });

  test("releaseLock() fails every pending read with TypeError; close() ends them all", async () => {
    const [client, server] = await f.pair();
    const first = client.readable.getReader();
    const released = [settle(first.read()), settle(first.read())];
    first.releaseLock();
    for (const r of await Promise.all(released)) {
      assert.not.ok(r.ok);
      assert.instance((r as { error: unknown }).error, TypeError);
    }
    const second = client.readable.getReader();
    const ended = [second.read(), second.read()];
    await client.close();
    assert.equal(await Promise.all(ended), [{ done: true, value: undefined }, { done: true, value: undefined }]);
    await server.close();
  });

  test("BYOB reads: min, typed arrays of any element size, reads in order, the end", async () => {
    const [client, server] = await f.pair();
    const reader = server.readable.getReader({ mode: "byob" });
    const writer = client.writable.getWriter();
    const send = async (...bytes: number[]) => await writer.write(new Uint8Array(bytes));
    // min: the read waits until 4 bytes came, over several writes.
    const four = reader.read(new Uint8Array(16), { min: 4 });
    await send(1, 2);
    assert.ok(await stillPending(four, 30), "a read with min 4 settled after 2 bytes");
    await send(3, 4, 5);
    const r1 = await four;
    assert.equal([...r1.value!], [1, 2, 3, 4, 5]);
    // A Uint16Array takes whole elements: the odd byte goes to the next read,
    // which was asked for before the first was answered.
    const halves = reader.read(new Uint16Array(4), { min: 2 });
    const after = reader.read(new Uint8Array(8));
    await send(6, 7, 8, 9, 10);
    const r2 = await halves;
    assert.instance(r2.value, Uint16Array);
    assert.equal([...new Uint8Array(r2.value!.buffer, r2.value!.byteOffset, r2.value!.byteLength)], [6, 7, 8, 9]);
    assert.equal([...(await after).value!], [10]);
    await writer.close();
    const end = await reader.read(new Uint8Array(8));
    assert.is(end.done, true);
    assert.instance(end.value, Uint8Array);
    assert.is(end.value!.byteLength, 0);
    await server.close();
    await client.closed;
  });

  test("BYOB reads: bad views and min are refused; releaseLock() fails pending reads", async () => {
    const [client, server] = await f.pair();
    const reader = client.readable.getReader({ mode: "byob" });
    for (const [view, options, type] of [
      [new Uint8Array(0), undefined, TypeError],
      ["bytes", undefined, TypeError],
      [new Uint8Array(4), { min: 0 }, TypeError],
      [new Uint32Array(2), { min: 3 }, RangeError],
    ] as const) {
      const r = await settle(reader.read(view as unknown as Uint8Array<ArrayBuffer>, options));
      assert.not.ok(r.ok);
      assert.instance((r as { error: unknown }).error, type);
    }
    const pending = [settle(reader.read(new Uint8Array(4))), settle(reader.read(new Uint8Array(4), { min: 2 }))];
    reader.releaseLock();
    for (const r of await Promise.all(pending)) {
      assert.not.ok(r.ok);
      assert.instance((r as { error: unknown }).error, TypeError);
    }
    await writeText(server.writable, "still here", true);
    assert.is(await readText(client.readable), "still here");
    await client.close();
    await server.close();
  });

  test("chunks the reader holds keep their bytes while later ones arrive (small and large reads)", async () => {
    const [client, server] = await f.pair();
    const reader = server.readable.getReader();
    const writer = client.writable.getWriter();
    const held: Uint8Array[] = [];
    for (const [fill, size] of [[0x61, 100], [0x62, 100], [0x63, 40 * 1024], [0x64, 40 * 1024], [0x65, 7]] as const) {
      await writer.write(new Uint8Array(size).fill(fill));
      for (let got = 0; got < size;) {
        const { value, done } = await reader.read();
        assert.is(done, false);
        held.push(value!);
        got += value!.byteLength;
      }
    }
    const all = new Uint8Array(held.reduce((n, c) => n + c.byteLength, 0));
    let at = 0;
    for (const c of held) {
      all.set(c, at);
      at += c.byteLength;
    }
    const expected = [[0x61, 100], [0x62, 100], [0x63, 40 * 1024], [0x64, 40 * 1024], [0x65, 7]].flatMap(([fill, size]) => new Array(size).fill(fill));
    assert.ok(all.every((b, i) => b === expected[i]), "a held chunk changed under the reader");
    await client.close();
    await server.close();
  });

  test("cancelling the readable leaves the writable working", async () => {
    const [client, server] = await f.pair();
    await client.readable.cancel();
    await writeText(server.writable, "ignored");
    await writeText(client.writable, "still here", true);
    assert.is(await readText(server.readable), "still here");
    await writeText(server.writable, "", true);
    await client.closed;
    await server.closed;
  });

  test("aborting the writable errors the readable with the reason", async () => {
    const [client, server] = await f.pair();
    const reason = new Error("stop");
    await client.writable.abort(reason);
    const read = await settle(client.readable.getReader().read());
    assert.not.ok(read.ok);
    assert.is((read as { error: unknown }).error, reason);
    await client.closed;
    await server.close();
  });

  test("writing a non-Uint8Array rejects with TypeError", async () => {
    const [client, server] = await f.pair();
    const writer = client.writable.getWriter();
    const r = await settle(writer.write("text" as unknown as Uint8Array));
    assert.not.ok(r.ok);
    assert.instance((r as { error: unknown }).error, TypeError);
    await client.close();
    await server.close();
  });

  if (f.resets) {
    test("a peer reset gives connection-reset; closed rejects with it", async () => {
      const [client, server] = await f.pair();
      // Bytes the server never reads: closing over them resets on every TCP stack.
      await writeText(client.writable, "x".repeat(100_000));
      const reader = client.readable.getReader();
      const read = reader.read();
      await server.close(new Error("reset by the test"));
      const r = await settle(read);
      assert.not.ok(r.ok, "read did not fail");
      const error = (r as { error: NetError }).error;
      assert.instance(error, NetError);
      assert.is(error.code, "connection-reset");
      const closed = await settle(client.closed);
      assert.not.ok(closed.ok);
      assert.is((closed as { error: NetError }).error.code, "connection-reset");
      await server.closed;
    });
  }

  test.run();
}
