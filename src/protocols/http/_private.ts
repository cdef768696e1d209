/** Helpers the HTTP server and client share. */

/** Fields that describe one connection, not the message (RFC 9110 §7.6.1): never passed on. */
export const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]);

/**
 * How many microtask turns a body's read may take to show the body is all
 * there (a string, a buffer, a Blob): such a read settles within a few turns
 * on every runtime weft runs on; a stream still arriving takes longer.
 */
const PEEK_TURNS = 8;

/** The result of `p` if it settles within {@link PEEK_TURNS} microtask turns, else `undefined` (`p` goes on). */
export async function soon<T>(p: Promise<T>): Promise<{ value: T } | undefined> {
  let out: { value: T } | { error: unknown } | undefined;
  p.then((value) => (out = { value }), (error) => (out = { error }));
  for (let i = 0; i < PEEK_TURNS && out === undefined; i++) await undefined;
  if (out !== undefined && "error" in out) throw out.error;
  return out;
}
