/**
 * The Worker that runs the client halves of the conformance cases
 * (_cases.mts) under workerd: `POST /case/<name>` with the peer as JSON runs
 * one and answers `{ ok: true, value }` or `{ ok: false, error }`.
 */
import { cases, type Peer } from "./_cases.mts";

function describe(error: unknown): Record<string, unknown> {
  const e = error as { name?: unknown; message?: unknown; code?: unknown; stack?: unknown } | null;
  return { name: e?.name, message: String(e?.message ?? error), code: e?.code, stack: e?.stack };
}

export default {
  async fetch(request: Request): Promise<Response> {
    const name = new URL(request.url).pathname.replace(/^\/case\//, "");
    const run = cases[name];
    if (run === undefined) return Response.json({ ok: false, error: { message: `No case "${name}"` } }, { status: 404 });
    try {
      const value = await run((await request.json()) as Peer);
      return Response.json({ ok: true, value: value ?? null });
    } catch (error) {
      return Response.json({ ok: false, error: describe(error) });
    }
  },
} satisfies ExportedHandler;
