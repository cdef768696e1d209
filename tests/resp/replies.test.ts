/**
 * respServer() with a handler that returns something RESP cannot carry: the
 * command is answered with an error in its place and onError is told, so
 * the client still gets exactly one reply per command, alone or inside a
 * pipelined batch.
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { framed, memoryListener, serve } from "../../mod.ts";
import { RespError, respCodec, respServer, type RespValue, SimpleString } from "../../src/protocols/resp/mod.ts";

const test = suite("resp: replies the codec refuses");
const enc = new TextEncoder();

async function setup() {
  const errors: unknown[] = [];
  const listener = memoryListener();
  const server = serve(listener, respServer({
    commands: {
      PING: { arity: -1, handler: () => new SimpleString("PONG") },
      BAD: { arity: 1, handler: () => ({ not: "a value" }) as unknown as RespValue },
      BADARR: { arity: 1, handler: () => [1, Symbol("nope")] as unknown as RespValue },
    },
    onError: (error) => errors.push(error),
  }));
  const conn = await listener.connect();
  const client = framed(conn, respCodec());
  return { errors, server, conn, reader: client.readable.getReader(), writer: client.writable.getWriter() };
}

function isRefusal(value: unknown): boolean {
  return value instanceof RespError && value.message.startsWith("ERR the reply could not be encoded: Cannot encode");
}

test("a lone command's reply that cannot be encoded is an error reply, and the next command is answered", async () => {
  const { errors, server, reader, writer } = await setup();
  await writer.write(["BAD"]);
  assert.ok(isRefusal((await reader.read()).value));
  await writer.write(["PING"]);
  assert.is((await reader.read()).value, "PONG");
  assert.is(errors.length, 1);
  assert.instance(errors[0], TypeError);
  await writer.close();
  await server.shutdown();
});

test("inside a pipelined batch, each refused reply keeps its place", async () => {
  const { errors, server, conn, reader } = await setup();
  // One write, so that the server reads the five commands as one batch and answers them in one write.
  const raw = conn.writable.getWriter();
  await raw.write(enc.encode("PING\r\nBAD\r\nPING\r\nBADARR\r\nPING\r\n"));
  const got: unknown[] = [];
  for (let i = 0; i < 5; i++) got.push((await reader.read()).value);
  assert.is(got[0], "PONG");
  assert.ok(isRefusal(got[1]), String(got[1]));
  assert.is(got[2], "PONG");
  assert.ok(isRefusal(got[3]), String(got[3]));
  assert.is(got[4], "PONG");
  assert.is(errors.length, 2);
  await raw.close();
  await server.shutdown();
});

test.run();
