/** serve() and pool() in multiplex mode: responses in any order, shared connections, graceful shutdown. */
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { framed, jsonLines, multiplexClient, type MultiplexHooks, pool, serve, type Service } from "../../mod.ts";
import { until } from "../_helpers.ts";
import { Mock } from "../middleware/_mock.ts";
import { kinds } from "./_listeners.ts";

const test = suite("server: serve, multiplex");

interface Frame {
  id: number;
  body: string;
}

const hooks: MultiplexHooks<Frame, Frame> = {
  requestId: (f) => f.id,
  responseId: (f) => f.id,
  withRequestId: (f, id) => ({ ...f, id }),
  withResponseId: (f, id) => ({ ...f, id }),
};

/** A multiplexed JSON-lines server whose calls the test answers through a Mock. */
function server(listener: Parameters<typeof serve>[0]) {
  const mock = new Mock<string, string>();
  const service: Service<Frame, Frame> = { call: async (f, o) => ({ id: 0, body: await mock.call(f.body, o) }) };
  return { mock, server: serve(listener, { codec: () => jsonLines<Frame>(), mode: "multiplex", service, hooks }) };
}

test("responses leave in the order the calls finish, each to its own caller", async () => {
  for (const kind of kinds) {
    const listener = await kind.listen();
    const { mock, server: s } = server(listener);
    const client = multiplexClient<Frame, Frame>(framed(await kind.connect(listener), jsonLines<Frame>()), hooks);
    const order: string[] = [];
    const calls = ["a", "b", "c"].map((body) => client.call({ id: 0, body }).then((r) => (order.push(r.body), r.body)));
    await until(() => mock.calls.length === 3, "three calls at the server");
    for (const i of [2, 0, 1]) mock.at(i).resolve(mock.at(i).req.toUpperCase());
    assert.equal(await Promise.all(calls), ["A", "B", "C"], kind.name);
    assert.equal(order, ["C", "A", "B"], kind.name);
    await client.close();
    await until(() => s.connections === 0, "the connection to end");
    await s.shutdown();
  }
});

test("a pool of multiplexed connections; graceful shutdown answers the calls in flight", async () => {
  for (const kind of kinds) {
    const listener = await kind.listen();
    const { mock, server: s } = server(listener);
    const client = pool({ size: 2, connect: async () => multiplexClient<Frame, Frame>(framed(await kind.connect(listener), jsonLines<Frame>()), hooks) });
    const calls = Array.from({ length: 10 }, (_, i) => client.call({ id: 0, body: `r${i}` }));
    await until(() => mock.calls.length === 10, "ten calls at the server");
    assert.is(client.connections, 2);
    assert.is(s.connections, 2);
    const done = s.shutdown({ timeoutMs: 30_000 });
    for (const c of [...mock.calls].reverse()) c.resolve(`re:${c.req}`);
    assert.equal((await Promise.all(calls)).map((r) => r.body), calls.map((_, i) => `re:r${i}`), kind.name);
    await done;
    assert.is(s.connections, 0);
    await client.close();
    assert.is(client.connections, 0);
  }
});

test.run();
