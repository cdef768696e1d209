import {
  buffer,
  type CallOptions,
  type Conn,
  type Framed,
  framed,
  NetError,
  pipelineClient,
  pool,
  type Pool,
} from "../../../mod.ts";
import { type RespCodecOptions, type RespCommand, respCodec } from "./codec.ts";
import { Push, RespError, type RespValue } from "./value.ts";

/** Connections a client keeps to its server by default: pipelined connections carry many calls each. */
export const DEFAULT_RESP_POOL_SIZE = 4;
/** Calls that may wait for room on the connections (each carries up to 1024 at once) before more are refused with `overloaded`. */
export const DEFAULT_RESP_MAX_QUEUED = 65_536;

/** Options of {@link respClient}. */
export interface RespClientOptions extends RespCodecOptions {
  /** Opens a connection to the server, e.g. `(signal) => connect({ hostname: "127.0.0.1", port: 6379, signal })` with weft/node, weft/deno or weft/bun. */
  connect(signal: AbortSignal): Promise<Conn>;
  /** The protocol to speak: 2 (default) or 3 (sends `HELLO 3` on each connection). */
  protocol?: 2 | 3;
  /** `AUTH` on each connection (with `username` when given: Redis 6 ACLs). */
  password?: string;
  /** ACL user name, with `password`. */
  username?: string;
  /** `SELECT` this database on each connection. Default 0 (nothing sent). */
  database?: number;
  /** `CLIENT SETNAME` on each connection. */
  name?: string;
  /** Connections at most, opened on demand. Default {@link DEFAULT_RESP_POOL_SIZE}. */
  poolSize?: number;
  /** Close a connection with nothing pending for this long, in milliseconds. Default the pool's (30 s). */
  idleTimeoutMs?: number;
  /** Calls that may wait while every connection is full; one more is refused (`overloaded`). Default {@link DEFAULT_RESP_MAX_QUEUED}. */
  maxQueued?: number;
}

/** A message from a channel the client subscribed to. */
export interface RespMessage {
  /** The channel it was published on. */
  channel: string;
  /** What was published (a `string`, or a `Uint8Array` when it is not UTF-8 or with `bulkAs: "bytes"`). */
  message: string | Uint8Array;
}

/**
 * A Redis client: a `Service` from commands (`["SET", "k", "v"]`) to replies,
 * over a pool of pipelined connections, so that calls made at once travel
 * together. Replies are {@link RespValue}s; an error reply is a
 * {@link RespError} value to branch on, not a rejection (so retry and circuit
 * breakers see only what went wrong on the wire, which rejects with a
 * `NetError`).
 */
export interface RespClient extends Pool<RespCommand, RespValue> {
  /** The same as `call([name, ...args])`. */
  send(...command: RespCommand): Promise<RespValue>;
  /**
   * Subscribes to `channels` on a connection of its own, and returns the
   * messages as a stream. Cancelling the stream (or aborting `signal`)
   * unsubscribes and closes that connection.
   */
  subscribe(channels: readonly string[], options?: CallOptions): ReadableStream<RespMessage>;
}

/**
 * Makes a {@link RespClient}. Each connection is set up before its first call:
 * `HELLO 3` (with `AUTH` inside it when there is a password), or `AUTH`, then
 * `SELECT` and `CLIENT SETNAME` as configured; a setup that the server
 * refuses fails the call with the server's `RespError` as a `NetError`'s
 * cause. With RESP3, pushes that arrive between replies (client tracking) are
 * skipped rather than taken for replies.
 *
 * @example Against weft's own Redis-compatible server, in memory
 * ```ts ignore
 * import { connect } from "weft/node";
 * import { respClient, RespError } from "weft/resp";
 *
 * const redis = respClient({ connect: (signal) => connect({ hostname: "127.0.0.1", port: 6379, signal }) });
 * await redis.send("SET", "greeting", "hello");
 * console.assert(await redis.send("GET", "greeting") === "hello");
 * const reply = await redis.send("INCR", "greeting");
 * if (reply instanceof RespError) console.log(reply.prefix, reply.message); // ERR value is not an integer…
 * await redis.close();
 * ```
 */
export function respClient(options: RespClientOptions): RespClient {
  if (typeof options !== "object" || options === null) throw new TypeError("Invalid respClient() options: expected an object");
  if (typeof options.connect !== "function") throw new TypeError("Invalid connect for respClient(): expected a function");
  const protocol = options.protocol ?? 2;
  if (protocol !== 2 && protocol !== 3) throw new RangeError(`Invalid protocol ${String(protocol)} for respClient(): expected 2 or 3`);
  const database = options.database ?? 0;
  if (!Number.isSafeInteger(database) || database < 0) throw new RangeError(`Invalid database ${String(database)} for respClient(): expected a non-negative integer`);
  respCodec(options); // checks the codec's options once, here

  const steps = setUpSteps(options, protocol, database);
  const maxQueued = options.maxQueued ?? DEFAULT_RESP_MAX_QUEUED;
  const open = async (signal: AbortSignal): Promise<Framed<RespValue, RespCommand>> =>
    framed(await options.connect(signal), respCodec(options));

  const connections = pool<RespCommand, RespValue>({
    size: options.poolSize ?? DEFAULT_RESP_POOL_SIZE,
    ...(options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.idleTimeoutMs }),
    connect: async (signal) => {
      const frames = await open(signal);
      const client = pipelineClient<RespCommand, RespValue>(protocol === 3 ? withoutPushes(frames) : frames);
      try {
        for (const reply of await Promise.all(steps.map((step) => client.call(step)))) refused(reply, steps);
      } catch (error) {
        await frames.close(error).catch(() => {});
        throw error;
      }
      return client;
    },
  });
  const queued = buffer({ capacity: maxQueued })(connections);

  return {
    call: (command: RespCommand, callOptions?: CallOptions) => queued.call(command, callOptions),
    send: (...command: RespCommand) => queued.call(command),
    subscribe: (channels: readonly string[], callOptions?: CallOptions) =>
      subscription(async (signal) => {
        const frames = await open(signal);
        try {
          await setUpByReading(frames, steps);
        } catch (error) {
          await frames.close(error).catch(() => {});
          throw error;
        }
        return frames;
      }, channels, callOptions?.signal),
    get connections() {
      return connections.connections;
    },
    get pending() {
      return connections.pending;
    },
    get capacity() {
      return connections.capacity;
    },
    ready: (signal?: AbortSignal) => connections.ready(signal),
    close: () => connections.close(),
  };
}

/** What a fresh connection sends before its first call: HELLO / AUTH / SELECT / CLIENT SETNAME. */
function setUpSteps(o: RespClientOptions, protocol: 2 | 3, database: number): RespCommand[] {
  const steps: RespCommand[] = [];
  if (protocol === 3) {
    const hello: (string | number)[] = ["HELLO", 3];
    if (o.password !== undefined) hello.push("AUTH", o.username ?? "default", o.password);
    steps.push(hello);
  } else if (o.password !== undefined) {
    steps.push(o.username === undefined ? ["AUTH", o.password] : ["AUTH", o.username, o.password]);
  }
  if (database !== 0) steps.push(["SELECT", database]);
  if (o.name !== undefined) steps.push(["CLIENT", "SETNAME", o.name]);
  return steps;
}

/** Throws when a setup step's reply is an error: the connection is not what was asked for. */
function refused(reply: RespValue, steps: RespCommand[]): void {
  if (reply instanceof RespError) {
    const names = steps.map((s) => String(s[0])).join(", ");
    throw new NetError("rejected", `The server refused the connection's setup (${names}): ${reply.message}`, { cause: reply });
  }
}

/** The setup steps on a connection read frame by frame (a subscription's). */
async function setUpByReading(frames: Framed<RespValue, RespCommand>, steps: RespCommand[]): Promise<void> {
  if (steps.length === 0) return;
  const writer = frames.writable.getWriter();
  const reader = frames.readable.getReader();
  try {
    for (const step of steps) void writer.write(step);
    for (let i = 0; i < steps.length; i++) {
      const { done, value } = await reader.read();
      if (done) throw new NetError("closed", "The server closed the connection during its setup");
      refused(value, steps);
    }
  } finally {
    reader.releaseLock();
    writer.releaseLock();
  }
}

/** The same Framed, its batches without RESP3 pushes (out-of-band messages are not replies). */
function withoutPushes(frames: Framed<RespValue, RespCommand>): Framed<RespValue, RespCommand> {
  const batches = frames.batches.pipeThrough(
    new TransformStream<RespValue[], RespValue[]>({
      transform(batch, controller) {
        const replies = batch.some((v) => v instanceof Push) ? batch.filter((v) => !(v instanceof Push)) : batch;
        if (replies.length > 0) controller.enqueue(replies);
      },
    }),
  );
  return new Proxy(frames, {
    get(target, key) {
      if (key === "batches") return batches;
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value; // its methods use private fields
    },
  });
}

/** A subscription on a connection of its own: the messages as a stream. */
function subscription(
  open: (signal: AbortSignal) => Promise<Framed<RespValue, RespCommand>>,
  channels: readonly string[],
  signal: AbortSignal | undefined,
): ReadableStream<RespMessage> {
  if (!Array.isArray(channels) || channels.length === 0 || channels.some((c) => typeof c !== "string")) {
    throw new TypeError("Invalid channels for subscribe(): expected a non-empty array of strings");
  }
  const opening = new AbortController();
  let frames: Framed<RespValue, RespCommand> | undefined;
  let reader: ReadableStreamDefaultReader<RespValue> | undefined;
  const stop = async (reason?: unknown) => {
    opening.abort(reason);
    if (frames === undefined) return;
    const writer = frames.writable.getWriter();
    await writer.write(["UNSUBSCRIBE"]).catch(() => {});
    writer.releaseLock();
    reader?.releaseLock();
    await frames.close().catch(() => {});
  };
  return new ReadableStream<RespMessage>({
    async start(controller) {
      signal?.throwIfAborted();
      signal?.addEventListener("abort", () => {
        controller.error(signal.reason);
        void stop(signal.reason);
      }, { once: true });
      frames = await open(opening.signal);
      reader = frames.readable.getReader();
      const writer = frames.writable.getWriter();
      await writer.write(["SUBSCRIBE", ...channels]);
      writer.releaseLock();
    },
    async pull(controller) {
      for (;;) {
        const { done, value } = await reader!.read();
        if (done) return controller.close();
        const items = value instanceof Push ? value.values : Array.isArray(value) ? value : undefined;
        if (value instanceof RespError) throw new NetError("rejected", `The server refused SUBSCRIBE: ${value.message}`, { cause: value });
        if (items === undefined || items[0] !== "message") continue; // subscribe confirmations and the like
        const [, channel, message] = items;
        controller.enqueue({ channel: String(channel), message: message as string | Uint8Array });
        return;
      }
    },
    cancel: (reason) => stop(reason),
  }, { highWaterMark: 0 });
}
