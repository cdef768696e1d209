/**
 * Malformed RESP and a 1 GiB bulk against weft's Redis-compatible server, in
 * memory and over this runtime's TCP loopback: Redis's protocol error, that
 * connection alone closed, every other connection carrying on.
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { type Conn, type Listener, serve } from "../../mod.ts";
import { respServer, respStore } from "../../src/protocols/resp/mod.ts";
import { kinds } from "../server/_listeners.ts";

const test = suite("resp: bad input");
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Reads until the peer closes (or resets); the bytes read. */
async function readAll(conn: Conn): Promise<string> {
  const reader = conn.readable.getReader();
  let text = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return text;
      text += dec.decode(value, { stream: true });
    }
  } catch {
    return text; // reset after the reply: what came before it counts
  }
}

async function session(connect: () => Promise<Conn>, wire: string): Promise<string> {
  const conn = await connect();
  const w = conn.writable.getWriter();
  await w.write(enc.encode(wire));
  await w.close();
  return readAll(conn);
}

for (const kind of kinds) {
  test(`${kind.name}: malformed commands get -ERR Protocol error and a close; a 1 GiB bulk is refused at its header`, async () => {
    const listener: Listener = await kind.listen();
    const server = serve(listener, respServer(respStore()), { onError: () => {} });
    const connect = () => kind.connect(listener);
    const other = await connect();
    const w = other.writable.getWriter();
    const r = other.readable.getReader();
    await w.write(enc.encode("SET k v\r\n"));
    assert.is(dec.decode((await r.read()).value), "+OK\r\n");

    const cases: [string, string][] = [
      ["PING\r\n*1\r\n$-3\r\nPING\r\n", "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"],
      ["*1\r\n:1\r\n", "-ERR Protocol error: expected '$', got ':'\r\n"],
      ["*99999999999\r\n", "-ERR Protocol error: invalid multibulk length\r\n"],
      ["*1\r\n$x\r\nPING\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
      // The two bytes after a bulk are skipped unchecked, as redis-server does (it answers this +PONG too).
      ["*1\r\n$4\r\nPINGxx", "+PONG\r\n"],
      ['SET "a b\r\n', "-ERR Protocol error: unbalanced quotes in request\r\n"],
    ];
    for (const [wire, reply] of cases) {
      const got = await session(connect, wire);
      assert.ok(got.startsWith(reply), `${JSON.stringify(wire)} -> ${JSON.stringify(got)}`);
    }

    // 1 GiB announced: the reply comes at the header, while only 1 MiB has been sent.
    const big = await connect();
    const bw = big.writable.getWriter();
    await bw.write(enc.encode("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1073741824\r\n"));
    bw.write(new Uint8Array(1024 * 1024)).catch(() => {});
    assert.ok((await readAll(big)).startsWith("-ERR Protocol error: invalid bulk length\r\n"));
    await big.close().catch(() => {});

    await w.write(enc.encode("GET k\r\n"));
    assert.is(dec.decode((await r.read()).value), "$1\r\nv\r\n", "the other connection carries on");
    r.releaseLock();
    w.releaseLock();
    await other.close();
    await server.shutdown({ timeoutMs: 1000 });
    assert.is(server.connections, 0);
  });
}

test.run();
