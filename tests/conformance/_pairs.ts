/** Pair factories over real sockets of the current runtime's adapter. */
import type { Adapter, Conn, ListenOptions, Listener } from "../../mod.ts";
import type { PairFactory } from "./streams.ts";

/** Connects one client to `listener` and accepts it: [client, server]. */
export async function connectPair(listener: Listener, connect: () => Promise<Conn>): Promise<[Conn, Conn]> {
  const [client, server] = await Promise.all([connect(), listener.accept()]);
  if (!server) throw new Error("listener closed before accepting");
  return [client, server];
}

/** A factory whose pairs are connections to one listener made from `listenOptions`. */
export function socketPairs(
  name: string,
  listen: () => Promise<Listener>,
  connect: (listener: Listener) => Promise<Conn>,
  resets: boolean,
): PairFactory {
  let listener: Promise<Listener> | undefined;
  return {
    name,
    resets,
    async pair() {
      listener ??= listen();
      const l = await listener;
      return connectPair(l, () => connect(l));
    },
    async done() {
      if (listener) await (await listener).close();
    },
  };
}

/** TCP pairs on `hostname` with the adapter. */
export function tcpPairs(net: Adapter & { name: string }, hostname: string, label: string, extra: ListenOptions = {}): PairFactory {
  return socketPairs(
    `${net.name} ${label}`,
    () => net.listen({ hostname, port: 0, ...extra }),
    (l) => net.connect({ hostname, port: l.addr.port! }),
    // Deno cannot reset a connection: its close() always sends a FIN first, so the peer reads the end.
    net.name !== "deno",
  );
}
