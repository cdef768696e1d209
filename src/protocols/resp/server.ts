import type { Clock, Codec, ConnHandler, ConnInfo, ReadBuffer, Swept, WriteBuffer } from "../../../mod.ts";
import { FrameError, framed, Sweeper } from "../../../mod.ts";
import { checkOptions, type RespLimits } from "./_limits.ts";
import { keyBytes, ParsedCommand } from "./_command_decoder.ts";
import { respServerCodec, type ServerCodec, serverCodec } from "./codec.ts";
import { type Push, RespError, type RespValue, SimpleString } from "./value.ts";
import { writeAhead } from "../_write_ahead.ts";

/** What a command handler knows about its connection, and can change. */
export interface RespContext {
  /** A number unique to this connection within the server (Redis's client id). */
  readonly id: number;
  /** The connection, as serve() describes it. */
  readonly info: ConnInfo;
  /** The protocol of the replies: 2, or 3 after `HELLO 3`. Setting it applies from the next reply on. */
  protocol: 2 | 3;
  /** The client's name (CLIENT SETNAME), or null. */
  name: string | null;
  /** State of this connection a service keeps (subscriptions, a selected database). */
  readonly state: Map<string, unknown>;
  /**
   * Whether the connection is in subscribe mode: a service sets it on
   * SUBSCRIBE and clears it when the last channel is gone. A subscribed
   * connection is not closed for idleness, as Redis does not close pub/sub
   * clients. Default false.
   */
  subscribed: boolean;
  /** Sends `value` now, ahead of the current reply: pub/sub messages. RESP3 pushes, arrays in RESP2. */
  push(value: Push): void;
  /** Closes the connection once the current reply is written (QUIT). */
  close(): void;
}

/**
 * Answers one command. `args` are the arguments after the name, as bytes.
 * Return the reply, or `undefined` for none (a command that answered with
 * `ctx.push` alone, as SUBSCRIBE does); throw a {@link RespError} to reply
 * with an error.
 */
export type RespHandler = (args: Uint8Array[], ctx: RespContext) => RespValue | undefined | Promise<RespValue | undefined>;

/** A command: its handler, and its arity as Redis counts it (the name included; negative: at least that many). */
export interface RespCommandSpec {
  handler: RespHandler;
  /** `2` for `GET key`, `-3` for `DEL key [key ...]`. Default: any. */
  arity?: number;
}

/**
 * How long a command may take to arrive, from its first byte to its last,
 * before the connection is closed: 30 seconds, as serveHttp()'s head timeout.
 */
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

/** Options of {@link respServer}. */
export interface RespServerOptions extends RespLimits {
  /** The commands, by name (any case). */
  commands: Record<string, RespHandler | RespCommandSpec>;
  /**
   * How long a command may take to arrive, from its first byte to its last,
   * in milliseconds; past it the client gets `-ERR Protocol error: ...` and
   * the connection closes, so that a client trickling a byte a second cannot
   * hold a connection for ever. The time runs only while the server waits
   * for the rest of a command (not while it runs commands or waits for the
   * client to read its replies); the bytes of a command's values count, so
   * raise it for large values over slow links. `Infinity` for never. Default
   * {@link DEFAULT_COMMAND_TIMEOUT_MS}.
   */
  commandTimeoutMs?: number;
  /** Time source for the command and idle timeouts. Default the system clock. */
  clock?: Clock;
  /** Called before each command, to refuse it with an error reply (a state such as subscribed mode); `undefined` to run it. */
  guard?(name: string, args: Uint8Array[], ctx: RespContext): RespError | undefined;
  /** Called once the connection is closed: drop the state the service kept for it (subscriptions). */
  onClose?(ctx: RespContext): void;
  /**
   * Told about handlers that throw something other than a RespError, and
   * replies that are not RespValues; both are answered with `-ERR` and the
   * message. Default `console.error`.
   */
  onError?(error: unknown, ctx: RespContext): void;
}

const decoder = new TextDecoder();

/** A command name or argument as text, for messages and lookups. */
export function argText(arg: Uint8Array): string {
  return decoder.decode(arg);
}

/** A command's name: short ASCII names (all of Redis's) without a TextDecoder call, which costs more than the loop. */
function commandName(arg: Uint8Array): string {
  if (arg.length > 32) return argText(arg);
  let s = "";
  for (let i = 0; i < arg.length; i++) {
    const c = arg[i]!;
    if (c >= 0x80) return argText(arg);
    s += String.fromCharCode(c);
  }
  return s;
}

/** A malformed request: the FrameError the codec threw, as an item. */
class Malformed {
  readonly error: FrameError;
  constructor(error: FrameError) {
    this.error = error;
  }
}

/** Replies to encode in one write: a batch of pipelined commands' replies. */
class Replies {
  readonly values: RespValue[];
  constructor(values: RespValue[]) {
    this.values = values;
  }
}

/**
 * The server codec, with a FrameError turned into a last item (the server
 * replies to it before it closes), commands in the server's form, and
 * {@link Replies} encoded together. A reply the codec cannot encode (a
 * handler returned something that is not a RespValue) goes to `refused` and
 * is answered with an error in its place: every command still gets exactly
 * one reply, so the client stays in step.
 */
function tolerant(inner: ServerCodec, refused: (error: unknown) => void): Codec<ParsedCommand | Malformed, RespValue | Replies> {
  let broken = false;
  const guard = (src: ReadBuffer, out: (ParsedCommand | Malformed)[] | undefined, run: () => ParsedCommand | undefined | void): ParsedCommand | Malformed | undefined => {
    if (broken) {
      src.skip(src.length);
      return undefined;
    }
    try {
      return run() ?? undefined;
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      broken = true;
      src.skip(src.length);
      const item = new Malformed(error);
      if (out) out.push(item);
      return item;
    }
  };
  const encodeReply = (value: RespValue, dst: WriteBuffer) => {
    try {
      inner.encode(value, dst);
    } catch (error) {
      // The codec wrote nothing of it.
      refused(error);
      inner.encode(new RespError(`ERR the reply could not be encoded: ${error instanceof Error ? error.message : String(error)}`), dst);
    }
  };
  return {
    decode: (src) =>
      guard(src, undefined, () => {
        const c = inner.decode(src);
        return c === undefined ? undefined : ParsedCommand.of(c);
      }),
    decodeMany: (src, out) => void guard(src, out, () => inner.decodeCommands(src, out as ParsedCommand[])),
    decodeEof: (src) => {
      if (broken || src.length === 0) return undefined;
      src.skip(src.length); // a command cut off by the peer's close: nothing to answer
      return undefined;
    },
    encode: (value, dst: WriteBuffer) => {
      if (!(value instanceof Replies)) return encodeReply(value, dst);
      for (const v of value.values) encodeReply(v, dst);
    },
  };
}

/** A command of the table, found once per spelling of its name. */
interface Entry {
  spec: RespCommandSpec;
  /** Its name in lower case, as the guard and error texts have it. */
  lower: string;
}

/** The command table, looked up by a command's name bytes without making a string for a short name seen before. */
class Table {
  #byName = new Map<string, RespCommandSpec>();
  #byKey = new Map<number, Entry>();
  #lastKey = -2;
  #last: Entry | undefined;

  set(lower: string, spec: RespCommandSpec): void {
    this.#byName.set(lower, spec);
  }

  /** The entry of `command`'s name, or undefined for an unknown command. */
  find(command: ParsedCommand): Entry | undefined {
    const key = command.key;
    if (key === this.#lastKey) return this.#last;
    if (key >= 0) {
      let entry = this.#byKey.get(key);
      if (entry === undefined) {
        entry = this.#byText(commandName(keyBytes(key)));
        // Every spelling of a known name is kept (a bounded number); unknown names are not.
        if (entry === undefined) return undefined;
        this.#byKey.set(key, entry);
      }
      this.#lastKey = key;
      this.#last = entry;
      return entry;
    }
    return this.#byText(commandName(command.name!));
  }

  #byText(name: string): Entry | undefined {
    const lower = name.toLowerCase();
    const spec = this.#byName.get(lower);
    return spec === undefined ? undefined : { spec, lower };
  }
}

let nextId = 1;

/** The reply bytes (an estimate) past which the replies of a batch leave before the next command runs. */
const LARGE = 64 * 1024;

/**
 * A Redis-protocol server: the handler serve() takes, which reads commands
 * (RESP2/RESP3 multibulks and inline commands) on each connection, runs them
 * one at a time in order, as redis-server does, and writes their replies,
 * pipelined requests batched into one write.
 *
 * An unknown command gets Redis's text (`-ERR unknown command 'foo', with args
 * beginning with: 'a' `), a wrong argument count `-ERR wrong number of
 * arguments for 'get' command`. Malformed input gets `-ERR Protocol error:
 * ...` and the connection is closed, as redis-server does; the other
 * connections are not touched. So is a command still arriving after
 * `commandTimeoutMs` (30 s) from its first byte: a slow client cannot hold a
 * connection (redis-server has no such limit).
 *
 * A connection idle for serve()'s `idleTimeoutMs` (`info.idleTimeoutMs`,
 * a minute by default: no bytes arriving, no command part-way or running,
 * not held up by a client slow to read its replies) is closed quietly, as redis-server's
 * `timeout` setting does; a connection in subscribe mode (`ctx.subscribed`,
 * which respStore() sets) is not.
 *
 * @example A PING server over a memory listener
 * ```ts
 * import { framed, memoryListener, serve } from "weft";
 * import { respCodec, respServer, SimpleString } from "weft/resp";
 *
 * const listener = memoryListener();
 * const server = serve(listener, respServer({
 *   commands: {
 *     PING: { arity: -1, handler: (args) => args[0] ?? new SimpleString("PONG") },
 *   },
 * }));
 * const client = framed(await listener.connect(), respCodec());
 * const writer = client.writable.getWriter();
 * const reader = client.readable.getReader();
 * await writer.write(["PING"]);
 * console.assert((await reader.read()).value === "PONG");
 * await writer.write(["NOPE", "x"]);
 * const { value } = await reader.read();
 * console.assert(String(value) === "RespError: ERR unknown command 'NOPE', with args beginning with: 'x' ");
 * await writer.close();
 * await server.shutdown();
 * ```
 */
export function respServer(options: RespServerOptions): ConnHandler {
  const fn = "respServer()";
  const o = checkOptions(fn, options);
  if (typeof o.commands !== "object" || o.commands === null) throw new TypeError(`Invalid commands for ${fn}: expected an object of handlers`);
  const table = new Table();
  for (const [name, spec] of Object.entries(o.commands)) {
    const s = typeof spec === "function" ? { handler: spec } : spec;
    if (typeof s?.handler !== "function") throw new TypeError(`Invalid command ${JSON.stringify(name)} for ${fn}: expected a function or { handler }`);
    table.set(name.toLowerCase(), s);
  }
  const onError = o.onError ?? ((error: unknown) => console.error("respServer(): a command failed:", error));
  const limits: RespLimits = {};
  for (const k of ["maxBulkBytes", "maxAggregateLength", "maxNestingDepth", "maxInlineBytes", "maxValueBytes"] as const) {
    if (o[k] !== undefined) limits[k] = o[k];
  }
  respServerCodec(limits); // checks the limits once, here: respServer()'s own errors
  const commandTimeoutMs = o.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  if (typeof commandTimeoutMs !== "number" || !(commandTimeoutMs > 0)) {
    throw new RangeError(`Invalid commandTimeoutMs ${String(commandTimeoutMs)} for ${fn}: expected a positive number of milliseconds or Infinity`);
  }
  // One timer for every connection's command and idle timeouts.
  const watch = { sweeper: new Sweeper(o.clock), timeoutMs: commandTimeoutMs };
  return (conn, info) => serveConnection(conn, info, table, o, limits, onError, watch);
}

async function serveConnection(
  conn: Parameters<ConnHandler>[0],
  info: ConnInfo,
  table: Table,
  o: RespServerOptions,
  limits: RespLimits,
  onError: (error: unknown, ctx: RespContext) => void,
  watch: { sweeper: Sweeper; timeoutMs: number },
): Promise<void> {
  const codec = serverCodec(limits);
  const frames = framed(conn, tolerant(codec, (error) => onError(error, ctx)));
  const reader = frames.batches.getReader();
  const writer = frames.writable.getWriter();
  let closing = false;
  // A broken connection ends the read loop too: a failed write needs no more.
  const write = writeAhead<RespValue | Replies>(writer, () => {});
  // The replies of the commands of a batch, written together; `size` estimates their bytes.
  let replies: RespValue[] = [];
  let size = 0;
  const flush = () => {
    if (replies.length === 0) return;
    write(replies.length === 1 ? replies[0]! : new Replies(replies));
    replies = [];
    size = 0;
  };
  const ctx: RespContext = {
    id: nextId++,
    info,
    get protocol() {
      return codec.protocol;
    },
    set protocol(p) {
      codec.protocol = p;
    },
    name: null,
    state: new Map(),
    subscribed: false,
    push: (value) => {
      flush(); // after the replies before it
      write(value);
    },
    close: () => (closing = true),
  };
  const stop = () => void reader.cancel().catch(() => {});
  // The command timeout runs while the server waits for the rest of a command;
  // the idle timeout while it waits for the next one, with nothing part-way.
  let waiting = false;
  let reads = 0; // batches read: the watch sees activity between its looks
  let seen = -1;
  let since = -1; // when the watch saw a command part-way, -1 when it did not
  let idleSince = -1; // when the watch saw the connection idle, -1 when it did not
  let timedOut = false;
  const timeoutMs = watch.timeoutMs;
  const idleTimeoutMs = info.idleTimeoutMs;
  const watched: Swept = {
    sweep(now) {
      const busy = !waiting || reads !== seen;
      seen = reads;
      const inCommand = codec.inCommand;
      if (busy || inCommand || ctx.subscribed) idleSince = -1;
      else if (idleSince < 0) idleSince = now;
      else if (now - idleSince >= idleTimeoutMs && !timedOut) {
        timedOut = true; // a quiet close, as redis-server's `timeout` does
        stop();
      }
      if (busy || !inCommand) since = -1;
      else if (since < 0) since = now;
      else if (now - since >= timeoutMs && !timedOut) {
        timedOut = true;
        write(new RespError(`ERR Protocol error: the command took longer than commandTimeoutMs ${timeoutMs} to arrive`));
        stop();
      }
    },
  };
  const shortest = Math.min(timeoutMs, typeof idleTimeoutMs === "number" && idleTimeoutMs > 0 ? idleTimeoutMs : Infinity);
  if (Number.isFinite(shortest)) watch.sweeper.add(watched, shortest);
  info.signal.addEventListener("abort", stop);
  try {
    read: for (;;) {
      waiting = true;
      const r = await reader.read();
      waiting = false;
      reads++;
      if (r.done) break;
      for (const item of r.value) {
        if (item instanceof Malformed) {
          flush();
          write(new RespError(`ERR ${item.error.message}`));
          break read;
        }
        let reply = run(item, ctx, table, o, onError);
        if (reply instanceof Promise) {
          flush(); // the replies before it leave now, not after it
          reply = await reply;
        }
        if (reply !== undefined) {
          replies.push(reply);
          size += estimate(reply);
        }
        if (closing) break read;
        // A client that reads slower than it asks: wait before the next command, not after the batch,
        // whose replies (a read of pipelined GETs of a large value) could otherwise take any amount of memory.
        if (size >= LARGE || replies.length >= 64) {
          flush();
          if (writer.desiredSize !== null && writer.desiredSize <= 0) await writer.ready;
        }
      }
      flush();
      if (writer.desiredSize !== null && writer.desiredSize <= 0) await writer.ready;
    }
    flush();
    await writer.close().catch(() => {});
  } catch {
    // the connection broke: nothing more to answer
  } finally {
    watch.sweeper.delete(watched);
    info.signal.removeEventListener("abort", stop);
    o.onClose?.(ctx);
    await frames.close().catch(() => {});
  }
}

/** Runs one command; synchronous handlers answer without a promise (a microtask per command adds up in a pipeline). */
function run(
  command: ParsedCommand,
  ctx: RespContext,
  table: Table,
  o: RespServerOptions,
  onError: (error: unknown, ctx: RespContext) => void,
): RespValue | undefined | Promise<RespValue | undefined> {
  const entry = table.find(command);
  const args = command.args;
  if (entry === undefined) {
    const name = commandName(command.nameBytes());
    const shown = args.slice(0, 128).map((a) => `'${argText(a).slice(0, 128)}' `).join("");
    return new RespError(`ERR unknown command '${name.slice(0, 128)}', with args beginning with: ${shown}`);
  }
  const spec = entry.spec;
  const arity = spec.arity;
  const length = args.length + 1;
  if (arity !== undefined && (arity >= 0 ? length !== arity : length < -arity)) {
    return new RespError(`ERR wrong number of arguments for '${entry.lower}' command`);
  }
  if (o.guard !== undefined) {
    const refused = o.guard(entry.lower, args, ctx);
    if (refused !== undefined) return refused;
  }
  try {
    const reply = spec.handler(args, ctx);
    return reply instanceof Promise ? reply.catch((error) => failure(error, ctx, onError)) : reply;
  } catch (error) {
    return failure(error, ctx, onError);
  }
}

/** About how many bytes `reply` takes: exactly enough for strings, and `LARGE` for an aggregate (written at once). */
function estimate(reply: RespValue): number {
  if (reply instanceof Uint8Array) return reply.length + 16;
  if (typeof reply === "string") return reply.length * 3 + 16;
  if (typeof reply !== "object" || reply === null) return 16;
  if (reply instanceof SimpleString) return reply.value.length * 3 + 16;
  if (reply instanceof RespError) return reply.message.length * 3 + 16;
  return LARGE;
}

/** A handler's error as its reply: a RespError as it is; anything else reported, and sent as `-ERR <message>`. */
function failure(error: unknown, ctx: RespContext, onError: (error: unknown, ctx: RespContext) => void): RespError {
  if (error instanceof RespError) return error;
  onError(error, ctx);
  return new RespError(`ERR ${error instanceof Error ? error.message : String(error)}`);
}
