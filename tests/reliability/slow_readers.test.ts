/**
 * Slow readers: a client that pipelines requests and never reads the
 * responses makes the server stop reading from it, and the server's memory
 * stays bounded while the client offers ~100 MB.
 *
 * The server runs in a process of its own on this runtime
 * (_server_process.ts), so that its resident memory (/proc/<pid>/status) is
 * the server's alone. Each response is 16 KiB, so a few thousand pipelined
 * requests (one 64 KiB read of them) would be ~40 MB of responses if the
 * server answered them all without waiting for the client: the bounds below
 * would catch a server that did.
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { command, mb, net, procMemory, RawClient, resetPeak, RespRaw, type ServerProcess, sleep, startServerProcess, stillPendingAfter, within } from "./_helpers.ts";

const test = suite(`reliability: slow readers (${net.name})`);

const RESPONSE_BYTES = 16 * 1024;
/** What the client offers in all: if the server read it all, its memory would show it. */
const OFFERED = 100 * 1024 * 1024;
/** A wait on writer.ready this long means the client's writes have stalled (loopback moves ~1 GB/s). */
const STALL_MS = 1000;
/**
 * The most the client may get written before its writes stall: what the
 * kernel buffers on both sides of a loopback connection (a few MB each way
 * with autotuning) plus the server's own bounded buffers. A server that kept
 * reading would take all 100 MB.
 */
const MAX_ACCEPTED = 48 * 1024 * 1024;
/**
 * The most the server's resident memory may grow (its peak over its
 * baseline) while the client offers 100 MB without reading: the framed
 * write buffer (1 MiB), a read chunk of decoded requests, the socket's
 * buffers, and the garbage collector's slack. Measured on this machine at
 * well under half of it on every runtime; the 100 MB would not fit.
 */
const MAX_GROWTH = 40 * 1024 * 1024;

let p: ServerProcess;

test.before(async () => {
  p = await startServerProcess([`--body-bytes=${RESPONSE_BYTES}`]);
});

test.after(async () => {
  await p.stop();
});

/**
 * Writes `chunk` again and again without reading until `writer.ready` has
 * waited STALL_MS, or OFFERED bytes have gone; how many bytes the writer took.
 */
async function offer(port: number, chunk: Uint8Array): Promise<{ conn: Awaited<ReturnType<typeof net.connect>>; accepted: number; ready: Promise<void> }> {
  const conn = await net.connect({ hostname: "127.0.0.1", port });
  const writer = conn.writable.getWriter();
  let accepted = 0;
  while (accepted < OFFERED) {
    if (await stillPendingAfter(writer.ready, STALL_MS)) break;
    writer.write(chunk).catch(() => {});
    accepted += chunk.length;
  }
  return { conn, accepted, ready: writer.ready };
}

/** Some requests on a connection that reads, so that the baseline is a warmed-up server. */
async function warmUp(): Promise<void> {
  const h = await RawClient.connect(p.http);
  for (let i = 0; i < 200; i++) {
    await h.write("GET /warm HTTP/1.1\r\nHost: x\r\n\r\n".repeat(10));
    for (let j = 0; j < 10; j++) assert.is((await h.readResponse()).body.length, RESPONSE_BYTES);
  }
  await h.close();
  const r = await RespRaw.connect(p.resp);
  await r.write(command("SET", "k", "v".repeat(RESPONSE_BYTES)));
  assert.is(await r.reply(), "OK");
  for (let i = 0; i < 200; i++) {
    await r.write(command("GET", "k").repeat(10));
    for (let j = 0; j < 10; j++) assert.is(((await r.reply()) as string).length, RESPONSE_BYTES);
  }
  await r.close();
}

/** The measurement, for one server: `which` picks the counter; `request` one pipelined request; `probe` checks the server still answers others. */
async function slowReader(which: "http" | "resp", request: string, probe: () => Promise<void>): Promise<void> {
  await sleep(200);
  const baseline = procMemory(p.pid, "VmRSS");
  const peakReset = resetPeak(p.pid);
  const count = (s: Awaited<ReturnType<ServerProcess["stats"]>>) => (which === "http" ? s.http.requests : s.resp.commands);
  const before = count(await p.stats());

  const chunk = new TextEncoder().encode(request.repeat(Math.floor(64 * 1024 / request.length)));
  const { conn, accepted, ready } = await offer(which === "http" ? p.http : p.resp, chunk);
  assert.ok(accepted < OFFERED, `${which}: the client's writes never stalled: ${mb(accepted)} taken`);
  assert.ok(accepted <= MAX_ACCEPTED, `${which}: ${mb(accepted)} taken before the writes stalled`);

  // The server has stopped: it answers nothing more from this client while the client does not read.
  const stalled = count(await p.stats());
  await sleep(500);
  const later = count(await p.stats());
  assert.is(later, stalled, `${which}: the server went on answering a client that does not read`);
  assert.ok(await stillPendingAfter(ready, 0), `${which}: the client's writer is still waiting`);
  const answered = stalled - before;
  assert.ok(answered * request.length <= accepted, `${which}: answered more than was sent`);

  // Others are still answered.
  await within(probe(), `${which}: another client's answer`);

  const peak = peakReset ? procMemory(p.pid, "VmHWM") : procMemory(p.pid, "VmRSS");
  const growth = peak - baseline;
  console.log(
    `  ${which} (${net.name}): ${mb(accepted)} of ${mb(OFFERED)} offered taken before the writes stalled; ` +
      `${answered} requests answered (${mb(answered * RESPONSE_BYTES)} of responses waiting in buffers); ` +
      `server RSS ${mb(baseline)} → ${peakReset ? "peak" : "now"} ${mb(peak)} (+${mb(growth)}, bound ${mb(MAX_GROWTH)})`,
  );
  assert.ok(growth < MAX_GROWTH, `${which}: the server's memory grew by ${mb(growth)}`);

  await conn.close(new Error("the slow reader gives up"));
  for (let i = 0; ; i++) {
    const s = await p.stats();
    if ((which === "http" ? s.http.connections : s.resp.connections) === 0) break;
    if (i > 100) assert.unreachable(`${which}: the slow reader's connection was never closed`);
    await sleep(50);
  }
}

test("HTTP: pipelined requests never read: the server stops reading; its memory stays bounded", async () => {
  await warmUp();
  await slowReader("http", "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", async () => {
    const c = await RawClient.connect(p.http);
    await c.write("GET /probe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.is((await c.readResponse()).status, 200);
    await c.close();
  });
});

test("RESP: pipelined GETs never read: the server stops reading; its memory stays bounded", async () => {
  await slowReader("resp", command("GET", "k"), async () => {
    const c = await RespRaw.connect(p.resp);
    await c.write(command("PING"));
    assert.is(await c.reply(), "PONG");
    await c.close();
  });
});

test.run();
