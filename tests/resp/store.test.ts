/** respStore() over memory listeners: replies byte for byte, pub/sub, QUIT, and malformed input closing one connection only. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { memoryListener, serve } from "../../mod.ts";
import { respServer, respStore } from "../../src/protocols/resp/mod.ts";

const test = suite("resp: store over memory");
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Sends raw bytes, half-closes, and reads every byte until the server closes. */
async function session(listener: ReturnType<typeof memoryListener>, wire: string): Promise<string> {
  const conn = await listener.connect();
  const w = conn.writable.getWriter();
  await w.write(enc.encode(wire));
  await w.close();
  return dec.decode(new Uint8Array(await new Response(conn.readable).arrayBuffer()));
}

function start() {
  const listener = memoryListener();
  const server = serve(listener, respServer(respStore()));
  return { listener, server };
}

test("strings, counters, expirations, byte for byte", async () => {
  const { listener, server } = start();
  const got = await session(
    listener,
    "PING\r\nSET a 1\r\nGET a\r\nINCR a\r\nINCRBY a 10\r\nDECR a\r\nSET a x NX\r\nSET a y XX GET\r\nGET nope\r\n" +
      "MSET b 2 c 3\r\nMGET a b nope\r\nDEL a b nope\r\nEXISTS a c\r\nINCR c\r\nSET s hello\r\nINCR s\r\n" +
      "TTL c\r\nEXPIRE c 100\r\nTTL c\r\nPTTL nope\r\nDBSIZE\r\nFLUSHDB\r\nDBSIZE\r\nGET\r\nNOPE a b\r\nSET k v EX 0\r\nSET k v FOO\r\n",
  );
  assert.is(
    got,
    "+PONG\r\n+OK\r\n$1\r\n1\r\n:2\r\n:12\r\n:11\r\n$-1\r\n$2\r\n11\r\n$-1\r\n" +
      "+OK\r\n*3\r\n$1\r\ny\r\n$1\r\n2\r\n$-1\r\n:2\r\n:1\r\n:4\r\n+OK\r\n-ERR value is not an integer or out of range\r\n" +
      ":-1\r\n:1\r\n:100\r\n:-2\r\n:2\r\n+OK\r\n:0\r\n-ERR wrong number of arguments for 'get' command\r\n" +
      "-ERR unknown command 'NOPE', with args beginning with: 'a' 'b' \r\n-ERR invalid expire time in 'set' command\r\n-ERR syntax error\r\n",
  );
  await server.shutdown({ timeoutMs: 0 });
});

test("KEYS and SCAN with glob patterns", async () => {
  const { listener, server } = start();
  const got = await session(listener, "MSET hello 1 hallo 2 hxllo 3 world 4\r\nKEYS h[ae]llo\r\nKEYS *o*\r\nSCAN 0 MATCH w* COUNT 100\r\n");
  assert.is(
    got,
    "+OK\r\n*2\r\n$5\r\nhello\r\n$5\r\nhallo\r\n*4\r\n$5\r\nhello\r\n$5\r\nhallo\r\n$5\r\nhxllo\r\n$5\r\nworld\r\n*2\r\n$1\r\n0\r\n*1\r\n$5\r\nworld\r\n",
  );
  await server.shutdown({ timeoutMs: 0 });
});

test("HELLO 3 switches to RESP3; pub/sub messages are pushes, or arrays in RESP2", async () => {
  const { listener, server } = start();
  const sub2 = await listener.connect();
  const w2 = sub2.writable.getWriter();
  const r2 = sub2.readable.getReader();
  await w2.write(enc.encode("SUBSCRIBE news\r\n"));
  assert.is(dec.decode((await r2.read()).value), "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
  const got = await session(listener, "HELLO 3\r\nGET nope\r\nPUBLISH news hi\r\nQUIT\r\nPING\r\n");
  assert.ok(got.startsWith("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"), got);
  assert.ok(got.endsWith("_\r\n:1\r\n+OK\r\n"), got);
  assert.is(dec.decode((await r2.read()).value), "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
  await w2.write(enc.encode("GET x\r\n"));
  assert.is(
    dec.decode((await r2.read()).value),
    "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
  );
  await sub2.close();
  await server.shutdown({ timeoutMs: 0 });
});

test("malformed RESP: a protocol error and a close, while another connection carries on", async () => {
  const { listener, server } = start();
  const other = await listener.connect();
  const w = other.writable.getWriter();
  const r = other.readable.getReader();
  await w.write(enc.encode("SET k v\r\n"));
  assert.is(dec.decode((await r.read()).value), "+OK\r\n");
  assert.is(await session(listener, "PING\r\n*1\r\n$-3\r\nPING\r\n"), "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n");
  assert.is(await session(listener, "*1\r\n:1\r\n"), "-ERR Protocol error: expected '$', got ':'\r\n");
  // A 1 GiB bulk: refused at its header, however much follows.
  const big = await listener.connect();
  const bw = big.writable.getWriter();
  await bw.write(enc.encode("*2\r\n$3\r\nSET\r\n$1073741824\r\n"));
  bw.write(new Uint8Array(1024 * 1024)).catch(() => {});
  assert.is(dec.decode((await big.readable.getReader().read()).value), "-ERR Protocol error: invalid bulk length\r\n");
  await w.write(enc.encode("GET k\r\n"));
  assert.is(dec.decode((await r.read()).value), "$1\r\nv\r\n");
  await other.close();
  await big.close().catch(() => {});
  await server.shutdown({ timeoutMs: 0 });
});

test.run();
