/** Listeners the server tests run on: in memory, and over this runtime's TCP loopback. */
import { type Conn, framed, type Listener, lines, memoryListener, type MemoryListener } from "../../mod.ts";
import { loadAdapter } from "../_runtime.ts";

const net = await loadAdapter();

/** A kind of listener, with the connect that reaches it. */
export interface Kind {
  name: string;
  listen(): Promise<Listener>;
  connect(listener: Listener): Promise<Conn>;
}

/** Memory listeners and real loopback listeners of the runtime under test. */
export const kinds: Kind[] = [
  {
    name: "memory",
    listen: async () => memoryListener(),
    connect: (listener) => (listener as MemoryListener).connect(),
  },
  {
    name: `${net.name} tcp`,
    listen: () => net.listen({ hostname: "127.0.0.1", port: 0 }),
    connect: (listener) => net.connect({ hostname: "127.0.0.1", port: listener.addr.port! }),
  },
];

/** A line-framed connection to `listener`. */
export async function lineConn(kind: Kind, listener: Listener) {
  return framed(await kind.connect(listener), lines());
}

/** Resolves once `p` has settled, whatever the outcome. */
export function settled(p: Promise<unknown>): Promise<void> {
  return p.then(() => {}, () => {});
}
