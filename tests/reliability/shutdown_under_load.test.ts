/**
 * Shutdown under load: a graceful shutdown loses no response to a request
 * the server had accepted, for HTTP and RESP over this runtime's loopback.
 *
 * "Accepted", precisely: the server has read the whole request (HTTP: its
 * head; RESP: the command) and called its handler (the fetch handler, the
 * command's handler). Whatever the server has not handed to a handler when
 * shutdown() is called (a request still in the socket, one read as part of
 * a pipeline behind the request in flight) is not accepted: the server may
 * refuse it by closing the connection, and the client must then see an
 * error, never a wrong or cut-off answer.
 *
 * The test checks more than the definition asks: every request whose
 * handler ran at all, before or after shutdown() was called, got its whole,
 * correct response (the shutdown waits without a deadline here, bounded by
 * the test's own wait, so nothing is cut off by it); every call that failed
 * is a NetError and its handler never ran; and some handlers were running
 * when shutdown() was called, so that the check means something. The load:
 * pooled clients (httpClient, respClient) calling in loops until 200
 * requests have been handled, then raw clients that pipeline 20 requests at
 * once, and the shutdown once the first of those is running. Handlers take
 * 0–20 ms and HTTP responses stream in two parts, so the shutdown lands in
 * the middle of handlers and of bodies.
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { NetError, serve } from "../../mod.ts";
import { httpClient } from "../../src/protocols/http/mod.ts";
import { respClient, respServer } from "../../src/protocols/resp/mod.ts";
import { latin1, net, RawClient, sleep, startServer, until, within } from "../http/_helpers.ts";
import { command, RespRaw, watchUnhandled } from "./_helpers.ts";

const test = suite(`reliability: shutdown under load, pooled and pipelined (${net.name})`);

/** Pooled client loops per server. */
const LOOPS = 32;
/** Raw clients that pipeline PIPELINED requests each, right before the shutdown. */
const RAW = 4;
const PIPELINED = 20;
/** Requests handled before the shutdown (waited for at most 5 s: a count, so that a busy machine gets the same test). */
const BEFORE = 200;
/** How long the test waits for the shutdown to finish: the handlers in flight take at most 20 ms, so this is generous. */
const FINISH_MS = 15_000;

const enc = new TextEncoder();
/** The answer to request `id`: long enough to span several writes, and checkable. */
const answer = (id: string) => `${id}:` + `<${id}>`.repeat(200);

/** What a run saw: handlers called (and those still running at shutdown), answers received, calls failed. */
interface Ledger {
  handled: Set<string>;
  running: number;
  runningAtShutdown: number;
  answered: Set<string>;
  failed: Map<string, unknown>;
  wrong: string[];
  shuttingDown: boolean;
}

function ledger(): Ledger {
  return { handled: new Set(), running: 0, runningAtShutdown: -1, answered: new Set(), failed: new Map(), wrong: [], shuttingDown: false };
}

function check(which: string, l: Ledger): void {
  const lost = [...l.handled].filter((id) => !l.answered.has(id));
  assert.equal(l.wrong, [], `${which}: wrong answers`);
  assert.equal(lost, [], `${which}: ${lost.length} of ${l.handled.size} accepted requests got no answer`);
  const unasked = [...l.answered].filter((id) => !l.handled.has(id));
  assert.equal(unasked, [], `${which}: answers to requests no handler saw`);
  for (const [id, error] of l.failed) {
    assert.ok(!l.handled.has(id), `${which}: request ${id} failed although its handler ran: ${String(error)}`);
    assert.ok(error instanceof NetError, `${which}: request ${id} failed with something else than a NetError: ${String(error)}`);
  }
  assert.ok(l.runningAtShutdown > 0, `${which}: no handler was running when shutdown() was called, so the test proved nothing`);
  console.log(
    `  ${which} (${net.name}): ${l.handled.size} requests accepted and answered, ${l.runningAtShutdown} of them running at shutdown(), ` +
      `${l.failed.size} refused (not accepted)`,
  );
}

/** Calls `call(id)` until the shutdown has started and a call failed, or `stop` says so; every outcome goes in the ledger. */
async function loop(l: Ledger, prefix: string, call: (id: string) => Promise<string>, stop: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !stop(); i++) {
    const id = `${prefix}-${i}`;
    try {
      const got = await within(call(id), `an answer to ${id}`);
      if (got === answer(id)) l.answered.add(id);
      else l.wrong.push(`${id}: ${JSON.stringify(got.slice(0, 60))}`);
    } catch (error) {
      l.failed.set(id, error);
      if (l.shuttingDown) return;
    }
  }
}

test("HTTP: every request accepted before a graceful shutdown is answered in full", async () => {
  const unhandled = watchUnhandled();
  const l = ledger();
  const s = await startServer({
    fetch: async (request) => {
      const id = new URL(request.url).pathname.slice(3);
      l.handled.add(id);
      l.running++;
      try {
        await sleep(Math.random() * 20);
      } finally {
        l.running--;
      }
      const text = answer(id);
      const half = text.length >> 1;
      return new Response(
        new ReadableStream({
          async start(c) {
            c.enqueue(enc.encode(text.slice(0, half)));
            await sleep(2);
            c.enqueue(enc.encode(text.slice(half)));
            c.close();
          },
        }),
      );
    },
  });
  const client = httpClient({ connect: net.connect, poolSize: LOOPS });
  const url = (id: string) => `http://127.0.0.1:${s.port}/r/${id}`;
  let over = false;
  const loops = Array.from({ length: LOOPS }, (_, n) => loop(l, `c${n}`, async (id) => await (await client.fetch(url(id))).text(), () => over));

  for (let i = 0; i < 100 && l.handled.size < BEFORE; i++) await sleep(50);
  // Raw clients: 20 pipelined requests each, the shutdown right behind them.
  const raws = await Promise.all(Array.from({ length: RAW }, () => RawClient.connect(s.port)));
  const ids = raws.map((_, r) => Array.from({ length: PIPELINED }, (_, i) => `raw${r}-${i}`));
  await Promise.all(raws.map((c, r) => c.write(ids[r]!.map((id) => `GET /r/${id} HTTP/1.1\r\nHost: x\r\n\r\n`).join(""))));
  // The shutdown lands in the middle of the pipelines: once a raw request is running.
  await until(() => l.running > 0 && [...l.handled].some((id) => id.startsWith("raw")), "a pipelined request to be running");

  l.shuttingDown = true;
  l.runningAtShutdown = l.running;
  const finished = s.server.shutdown({ timeoutMs: Infinity });
  // The raw clients read until the server closes: the answers in order, then the end.
  await Promise.all(raws.map(async (c, r) => {
    for (const id of ids[r]!) {
      let res;
      try {
        res = await c.readResponse();
      } catch (error) {
        l.failed.set(id, new NetError("closed", `no response: ${(error as Error).message}`));
        continue;
      }
      if (res.status === 200 && res.text === answer(id)) l.answered.add(id);
      else l.wrong.push(`${id}: ${res.status} ${JSON.stringify(res.text.slice(0, 60))}`);
    }
    await c.close();
  }));
  await within(finished, "the graceful shutdown to finish", FINISH_MS);
  over = true;
  await within(Promise.all(loops), "the client loops to end");
  await client.close();

  check("HTTP", l);
  assert.is(s.server.connections, 0);
  await sleep(20);
  unhandled.stop();
  assert.equal(unhandled.seen, [], "unhandled rejections");
  assert.equal(s.errors.filter((e) => !(e instanceof NetError)), [], "errors reported to onError");
});

test("RESP: every command accepted before a graceful shutdown is answered", async () => {
  const unhandled = watchUnhandled();
  const l = ledger();
  const errors: unknown[] = [];
  const listener = await net.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port!;
  const server = serve(
    listener,
    respServer({
      commands: {
        slow: {
          arity: 2,
          handler: async (args) => {
            const id = latin1(args[0]!);
            l.handled.add(id);
            l.running++;
            try {
              await sleep(Math.random() * 20);
            } finally {
              l.running--;
            }
            return answer(id);
          },
        },
      },
      onError: (e) => errors.push(e),
    }),
    { onError: (e) => errors.push(e) },
  );
  const client = respClient({ connect: (signal) => net.connect({ hostname: "127.0.0.1", port, signal }), poolSize: 4 });
  let over = false;
  const loops = Array.from({ length: LOOPS }, (_, n) => loop(l, `c${n}`, async (id) => String(await client.send("SLOW", id)), () => over));

  for (let i = 0; i < 100 && l.handled.size < BEFORE; i++) await sleep(50);
  const raws = await Promise.all(Array.from({ length: RAW }, () => RespRaw.connect(port)));
  const ids = raws.map((_, r) => Array.from({ length: PIPELINED }, (_, i) => `raw${r}-${i}`));
  await Promise.all(raws.map((c, r) => c.write(ids[r]!.map((id) => command("SLOW", id)).join(""))));
  // The shutdown lands in the middle of the pipelines: once a raw request is running.
  await until(() => l.running > 0 && [...l.handled].some((id) => id.startsWith("raw")), "a pipelined request to be running");

  l.shuttingDown = true;
  l.runningAtShutdown = l.running;
  const finished = server.shutdown({ timeoutMs: Infinity });
  await Promise.all(raws.map(async (c, r) => {
    for (const id of ids[r]!) {
      let reply;
      try {
        reply = await c.reply();
      } catch (error) {
        l.failed.set(id, new NetError("closed", `no reply: ${(error as Error).message}`));
        continue;
      }
      if (reply === answer(id)) l.answered.add(id);
      else l.wrong.push(`${id}: ${JSON.stringify(reply).slice(0, 60)}`);
    }
    await c.close();
  }));
  await within(finished, "the graceful shutdown to finish", FINISH_MS);
  over = true;
  await within(Promise.all(loops), "the client loops to end");
  await client.close();

  check("RESP", l);
  assert.is(server.connections, 0);
  await sleep(20);
  unhandled.stop();
  assert.equal(unhandled.seen, [], "unhandled rejections");
  assert.equal(errors.filter((e) => !(e instanceof NetError)), [], "errors reported to onError");
});

test.run();
