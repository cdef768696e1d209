/** Live bytes of this process (heap and array buffers) after a full garbage collection. */
const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };

export async function heldBytes(): Promise<number> {
  // Let finished writes drop their chunks first.
  await new Promise((done) => setTimeout(done, 0));
  // Twice: buffers freed by the first collection (Deno releases them only at
  // the next one) must not count as held.
  if (g.Bun) {
    g.Bun.gc(true);
    g.Bun.gc(true);
  } else if (g.gc) {
    g.gc();
    g.gc();
  } else throw new Error("heldBytes needs a GC hook: run node with --expose-gc or deno with --v8-flags=--expose-gc");
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}
