/**
 * The STARTTLS example (examples/starttls_lines.ts) on this runtime: a line
 * protocol negotiates TLS, parts() hands the connection and the bytes read
 * past the go-ahead to the adapter's startTls, and framing goes on over TLS.
 * Deno has no server side of STARTTLS, so there its client talks to the
 * example's server running under Node.
 */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { client, serve } from "../../examples/starttls_lines.ts";
import { startNode } from "../_helpers.ts";
import { loadAdapter } from "../_runtime.ts";

const net = await loadAdapter();
const test = suite(`transport: STARTTLS over framed lines (${net.name})`);

test("greeting, STARTTLS, 200 lines echoed over TLS, QUIT: nothing lost or repeated", async () => {
  if (net.name === "deno") {
    const peer = await startNode(["examples/starttls_lines.ts", "--serve"]);
    try {
      const got = await client(net, peer.port, 200);
      assert.is(got.length, 203);
    } finally {
      peer.stop();
    }
    return;
  }
  const listener = await net.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = serve(net, listener);
  for (let round = 0; round < 5; round++) {
    const got = await client(net, listener.addr.port!, 200);
    assert.is(got.length, 203);
    assert.is(got[0], "220 weft ready");
    assert.is(got.at(-1), "221 bye");
  }
  await listener.close();
  await serving;
});

test.run();
