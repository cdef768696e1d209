/** Connected pairs for the dispatch tests: in memory, and over this runtime's loopback TCP. */
import { type Conn, memoryPipe } from "../../mod.ts";
import { loadAdapter } from "../_runtime.ts";

const net = await loadAdapter();

/** A way to make connected [client, server] pairs. */
export interface Pairs {
  name: string;
  /** Whether `close(reason)` resets the connection (Deno's close always sends a FIN first). */
  resets: boolean;
  pair(): Promise<[Conn, Conn]>;
  done(): Promise<void>;
}

/** memoryPipe() and TCP on 127.0.0.1 with the runtime's adapter. */
export function pairs(): Pairs[] {
  let listener: Promise<Awaited<ReturnType<typeof net.listen>>> | undefined;
  return [
    { name: "memoryPipe", resets: true, pair: async () => memoryPipe(), done: async () => {} },
    {
      name: `${net.name} tcp`,
      resets: net.name !== "deno",
      async pair() {
        listener ??= net.listen({ hostname: "127.0.0.1", port: 0 });
        const l = await listener;
        const [client, server] = await Promise.all([net.connect({ hostname: "127.0.0.1", port: l.addr.port! }), l.accept()]);
        if (!server) throw new Error("listener closed before accepting");
        return [client, server];
      },
      async done() {
        if (listener) await (await listener).close();
        listener = undefined;
      },
    },
  ];
}

/** A small seeded random generator (mulberry32), so that a failing run can be repeated. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
