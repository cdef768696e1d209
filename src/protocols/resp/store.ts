import { globMatch } from "./_glob.ts";
import type { RespContext, RespHandler, RespServerOptions } from "./server.ts";
import { Push, RespError, type RespValue, SimpleString } from "./value.ts";

/** What respStore() answers HELLO with as the server's version. */
export const STORE_REDIS_VERSION = "7.0.15";

/** Options of {@link respStore}. */
export interface RespStoreOptions {
  /** Milliseconds since the epoch: the clock expirations follow. Default `Date.now`. */
  now?: () => number;
}

const OK = new SimpleString("OK");
const PONG = new SimpleString("PONG");
const NOT_INTEGER = "ERR value is not an integer or out of range";
const SYNTAX = "ERR syntax error";
const SUBSCRIBED_ALLOWED = new Set(["subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe", "sunsubscribe", "ping", "quit", "reset"]);

const fromCharCode = String.fromCharCode;

/** Keys are held as Latin-1 strings, one character per byte: binary-safe and cheap to hash. */
function key(bytes: Uint8Array): string {
  // Short keys (most of them) with the bytes as arguments: several times cheaper than apply() with a typed array.
  const b = bytes;
  switch (b.length) {
    case 0:
      return "";
    case 1:
      return fromCharCode(b[0]!);
    case 2:
      return fromCharCode(b[0]!, b[1]!);
    case 3:
      return fromCharCode(b[0]!, b[1]!, b[2]!);
    case 4:
      return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!);
    case 5:
      return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!);
    case 6:
      return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!);
    case 7:
      return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!);
    case 8:
      return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!);
    case 9:
      return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!);
    case 10:
      return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!);
    case 11:
      return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!);
    case 12:
      return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!);
    case 13:
      return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!, b[12]!);
    case 14:
      return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!, b[12]!, b[13]!);
    case 15:
      return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!, b[12]!, b[13]!, b[14]!);
    case 16:
      return fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!, b[12]!, b[13]!, b[14]!, b[15]!);
  }
  // One call for a short key; longer ones in slices (an argument list has a size limit).
  if (bytes.length <= 1024) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  let s = "";
  for (let i = 0; i < bytes.length; i += 1024) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 1024) as unknown as number[]);
  return s;
}

function bytesOf(k: string): Uint8Array {
  const out = new Uint8Array(k.length);
  for (let i = 0; i < k.length; i++) out[i] = k.charCodeAt(i);
  return out;
}

const text = new TextDecoder();
const str = (b: Uint8Array) => text.decode(b);

/** A base-10 signed 64-bit integer, as Redis's string2ll() reads it; undefined if not. */
function int64(b: Uint8Array): bigint | undefined {
  const s = key(b);
  if (!/^(0|-?[1-9][0-9]*)$/.test(s) || s.length > 20) return undefined;
  const n = BigInt(s);
  return n >= -(2n ** 63n) && n <= 2n ** 63n - 1n ? n : undefined;
}

function integer(b: Uint8Array): number {
  const n = int64(b);
  if (n === undefined) throw new RespError(NOT_INTEGER);
  return Number(n);
}

interface Entry {
  value: Uint8Array;
  expiresAt: number; // ms since the epoch, or Infinity
}

/**
 * A Redis-compatible in-memory store, as the options of {@link respServer}:
 * strings with expirations (SET with EX/PX/NX/XX/GET, GET, DEL, EXISTS,
 * INCR/INCRBY/DECR, MGET/MSET, EXPIRE/PEXPIRE/TTL/PTTL), KEYS and SCAN with
 * Redis's glob patterns, DBSIZE, FLUSHDB, HELLO 2/3, CLIENT SETNAME/GETNAME/ID,
 * COMMAND (COUNT, DOCS: enough for redis-cli), pub/sub (SUBSCRIBE,
 * UNSUBSCRIBE, PUBLISH; messages as RESP2 arrays or RESP3 pushes), PING,
 * ECHO and QUIT. Replies and error texts are redis-server 7's.
 *
 * @example A store over a memory listener
 * ```ts
 * import { framed, memoryListener, serve } from "weft";
 * import { respCodec, respServer, respStore } from "weft/resp";
 *
 * const listener = memoryListener();
 * const server = serve(listener, respServer(respStore()));
 * const client = framed(await listener.connect(), respCodec());
 * const writer = client.writable.getWriter();
 * const reader = client.readable.getReader();
 * writer.write(["SET", "n", 41]);
 * writer.write(["INCR", "n"]);
 * writer.write(["GET", "n"]);
 * const got = [];
 * for (let i = 0; i < 3; i++) got.push((await reader.read()).value);
 * console.assert(got.join() === "OK,42,42");
 * await writer.close();
 * await server.shutdown();
 * ```
 */
export function respStore(options: RespStoreOptions = {}): RespServerOptions {
  const now = options.now ?? Date.now;
  const data = new Map<string, Entry>();
  const channels = new Map<string, Set<RespContext>>();

  const live = (k: string): Entry | undefined => {
    const e = data.get(k);
    if (e !== undefined && e.expiresAt !== Infinity && e.expiresAt <= now()) {
      data.delete(k);
      return undefined;
    }
    return e;
  };
  const subscriptions = (ctx: RespContext): Set<string> => {
    let s = ctx.state.get("channels") as Set<string> | undefined;
    if (s === undefined) ctx.state.set("channels", (s = new Set()));
    return s;
  };
  const expireIn = (ms: number, command: string): number => {
    if (ms <= 0 || !Number.isFinite(ms) || ms > 2 ** 62) throw new RespError(`ERR invalid expire time in '${command}' command`);
    return now() + ms;
  };

  const set: RespHandler = (args) => {
    const k = args[0]!;
    const v = args[1]!;
    if (args.length === 2) {
      // SET key value: no options to read.
      const k1 = key(k);
      const old = data.get(k1);
      if (old === undefined) data.set(k1, { value: new Uint8Array(v), expiresAt: Infinity });
      else {
        old.value = new Uint8Array(v); // a copy: v is a view of the connection's read buffer
        old.expiresAt = Infinity;
      }
      return OK;
    }
    let nx = false, xx = false, get = false, keepTtl = false;
    let expiresAt = Infinity;
    for (let i = 2; i < args.length; i++) {
      const opt = str(args[i]!).toUpperCase();
      const next = args[i + 1];
      if (opt === "NX" && !xx) nx = true;
      else if (opt === "XX" && !nx) xx = true;
      else if (opt === "GET") get = true;
      else if (opt === "KEEPTTL" && expiresAt === Infinity) keepTtl = true;
      else if ((opt === "EX" || opt === "PX" || opt === "EXAT" || opt === "PXAT") && next !== undefined && expiresAt === Infinity && !keepTtl) {
        const n = integer(next);
        const ms = opt === "EX" || opt === "EXAT" ? n * 1000 : n;
        if (n <= 0) throw new RespError("ERR invalid expire time in 'set' command");
        expiresAt = opt.endsWith("AT") ? ms : expireIn(ms, "set");
        i++;
      } else throw new RespError(SYNTAX);
    }
    const k1 = key(k);
    const old = live(k1);
    const reply = get ? (old ? old.value : null) : OK;
    if ((nx && old) || (xx && !old)) return get ? reply : null;
    data.set(k1, { value: v.slice(), expiresAt: keepTtl && old ? old.expiresAt : expiresAt });
    return reply;
  };

  const incrBy = (k: Uint8Array, by: bigint): RespValue => {
    const k1 = key(k);
    const e = live(k1);
    const n = e === undefined ? 0n : int64(e.value);
    if (n === undefined) throw new RespError(NOT_INTEGER);
    const r = n + by;
    if (r > 2n ** 63n - 1n || r < -(2n ** 63n)) throw new RespError("ERR increment or decrement would overflow");
    data.set(k1, { value: new TextEncoder().encode(String(r)), expiresAt: e?.expiresAt ?? Infinity });
    return Number.isSafeInteger(Number(r)) ? Number(r) : r;
  };

  const expire = (k: Uint8Array, ms: number, command: string): number => {
    const e = live(key(k));
    if (e === undefined) return 0;
    if (ms <= 0) {
      data.delete(key(k));
      return 1;
    }
    e.expiresAt = expireIn(ms, command);
    return 1;
  };

  const ttl = (k: Uint8Array, unit: number): number => {
    const e = live(key(k));
    if (e === undefined) return -2;
    if (e.expiresAt === Infinity) return -1;
    const ms = e.expiresAt - now();
    return unit === 1 ? ms : Math.floor((ms + 500) / 1000);
  };

  const keys = (pattern: string | undefined): string[] => {
    const out: string[] = [];
    for (const k of data.keys()) {
      if (live(k) === undefined) continue;
      if (pattern === undefined || pattern === "*" || globMatch(pattern, k)) out.push(k);
    }
    return out;
  };

  const hello = (args: Uint8Array[], ctx: RespContext): RespValue => {
    let i = 0;
    if (args.length > 0) {
      const v = int64(args[0]!);
      if (v === undefined) throw new RespError("ERR Protocol version is not an integer or out of range");
      if (v !== 2n && v !== 3n) throw new RespError("NOPROTO unsupported protocol version");
      i = 1;
      for (; i < args.length; i++) {
        const opt = str(args[i]!).toUpperCase();
        if (opt === "SETNAME" && i + 1 < args.length) ctx.name = str(args[++i]!);
        else if (opt === "AUTH" && i + 2 < args.length) i += 2;
        else throw new RespError(`ERR Syntax error in HELLO option '${str(args[i]!)}'`);
      }
      ctx.protocol = Number(v) as 2 | 3;
    }
    return new Map<RespValue, RespValue>([
      ["server", "redis"],
      ["version", STORE_REDIS_VERSION],
      ["proto", ctx.protocol],
      ["id", ctx.id],
      ["mode", "standalone"],
      ["role", "master"],
      ["modules", []],
    ]);
  };

  const client = (args: Uint8Array[], ctx: RespContext): RespValue => {
    const sub = str(args[0]!).toLowerCase();
    if (sub === "setname" && args.length === 2) {
      const name = str(args[1]!);
      if (/[\s]/.test(name) || /[^\x21-\x7e]/.test(name)) throw new RespError("ERR Client names cannot contain spaces, newlines or special characters.");
      ctx.name = name === "" ? null : name;
      return OK;
    }
    if (sub === "getname" && args.length === 1) return ctx.name;
    if (sub === "id" && args.length === 1) return ctx.id;
    if (sub === "setinfo" && args.length === 3) return OK;
    if (["setname", "getname", "id", "setinfo"].includes(sub)) {
      throw new RespError(`ERR wrong number of arguments for 'client|${sub}' command`);
    }
    throw new RespError(`ERR unknown subcommand '${str(args[0]!)}'. Try CLIENT HELP.`);
  };

  const subscribe = (args: Uint8Array[], ctx: RespContext): undefined => {
    const mine = subscriptions(ctx);
    for (const ch of args) {
      const name = key(ch);
      if (!mine.has(name)) {
        mine.add(name);
        let subs = channels.get(name);
        if (subs === undefined) channels.set(name, (subs = new Set()));
        subs.add(ctx);
      }
      ctx.push(new Push(["subscribe", ch, mine.size]));
    }
    ctx.subscribed = mine.size > 0;
    return undefined;
  };

  const unsubscribeFrom = (ctx: RespContext, name: string) => {
    subscriptions(ctx).delete(name);
    const subs = channels.get(name);
    subs?.delete(ctx);
    if (subs?.size === 0) channels.delete(name);
  };

  const unsubscribe = (args: Uint8Array[], ctx: RespContext): undefined => {
    const mine = subscriptions(ctx);
    const names = args.length > 0 ? args.map(key) : [...mine];
    if (names.length === 0) ctx.push(new Push(["unsubscribe", null, 0]));
    for (const name of names) {
      unsubscribeFrom(ctx, name);
      ctx.push(new Push(["unsubscribe", bytesOf(name), mine.size]));
    }
    ctx.subscribed = mine.size > 0;
    return undefined;
  };

  const commandNames = () => Object.keys(commands).map((n) => n.toLowerCase());

  const commands: Record<string, { handler: RespHandler; arity: number }> = {
    PING: { arity: -1, handler: (args, ctx) => {
      if (args.length > 1) throw new RespError("ERR wrong number of arguments for 'ping' command");
      if (ctx.subscribed && ctx.protocol === 2 && subscriptions(ctx).size > 0) return ["pong", args[0] ?? ""];
      return args[0] ?? PONG;
    } },
    ECHO: { arity: 2, handler: ([msg]) => msg! },
    SET: { arity: -3, handler: set },
    GET: { arity: 2, handler: (args) => live(key(args[0]!))?.value ?? null },
    DEL: { arity: -2, handler: (args) => args.reduce((n, k) => (live(key(k)) && data.delete(key(k)) ? n + 1 : n), 0) },
    EXISTS: { arity: -2, handler: (args) => args.reduce((n, k) => (live(key(k)) ? n + 1 : n), 0) },
    INCR: { arity: 2, handler: ([k]) => incrBy(k!, 1n) },
    DECR: { arity: 2, handler: ([k]) => incrBy(k!, -1n) },
    INCRBY: { arity: 3, handler: ([k, by]) => {
      const n = int64(by!);
      if (n === undefined) throw new RespError(NOT_INTEGER);
      return incrBy(k!, n);
    } },
    DECRBY: { arity: 3, handler: ([k, by]) => {
      const n = int64(by!);
      if (n === undefined) throw new RespError(NOT_INTEGER);
      return incrBy(k!, -n);
    } },
    MGET: { arity: -2, handler: (args) => args.map((k) => live(key(k))?.value ?? null) },
    MSET: { arity: -3, handler: (args) => {
      if (args.length % 2 !== 0) throw new RespError("ERR wrong number of arguments for 'mset' command");
      for (let i = 0; i < args.length; i += 2) data.set(key(args[i]!), { value: args[i + 1]!.slice(), expiresAt: Infinity });
      return OK;
    } },
    EXPIRE: { arity: -3, handler: ([k, s]) => expire(k!, integer(s!) * 1000, "expire") },
    PEXPIRE: { arity: -3, handler: ([k, ms]) => expire(k!, integer(ms!), "pexpire") },
    TTL: { arity: 2, handler: ([k]) => ttl(k!, 1000) },
    PTTL: { arity: 2, handler: ([k]) => ttl(k!, 1) },
    KEYS: { arity: 2, handler: ([p]) => keys(key(p!)).map(bytesOf) },
    SCAN: { arity: -2, handler: ([c, ...rest]) => {
      const cursor = int64(c!);
      if (cursor === undefined || cursor < 0n) throw new RespError("ERR invalid cursor");
      let pattern: string | undefined;
      let count = 10;
      for (let i = 0; i < rest.length; i += 2) {
        const opt = str(rest[i]!).toUpperCase();
        const v = rest[i + 1];
        if (v === undefined) throw new RespError(SYNTAX);
        if (opt === "MATCH") pattern = key(v);
        else if (opt === "COUNT") {
          count = integer(v);
          if (count < 1) throw new RespError(SYNTAX);
        } else if (opt !== "TYPE") throw new RespError(SYNTAX);
      }
      const all = keys(undefined);
      const start = Number(cursor);
      const end = Math.min(all.length, start + count);
      const page = all.slice(start, end).filter((k) => pattern === undefined || globMatch(pattern, k));
      return [String(end >= all.length ? 0 : end), page.map(bytesOf)];
    } },
    DBSIZE: { arity: 1, handler: () => keys(undefined).length },
    FLUSHDB: { arity: -1, handler: () => {
      data.clear();
      return OK;
    } },
    FLUSHALL: { arity: -1, handler: () => {
      data.clear();
      return OK;
    } },
    HELLO: { arity: -1, handler: hello },
    CLIENT: { arity: -2, handler: client },
    COMMAND: { arity: -1, handler: (args) => {
      const sub = args.length > 0 ? str(args[0]!).toLowerCase() : "";
      if (sub === "count") return commandNames().length;
      if (sub === "docs") return new Map();
      if (sub === "") return commandNames().map((n) => [n, commands[n.toUpperCase()]!.arity, [], 0, 0, 0, []]);
      throw new RespError(`ERR unknown subcommand '${str(args[0]!)}'. Try COMMAND HELP.`);
    } },
    SUBSCRIBE: { arity: -2, handler: subscribe },
    UNSUBSCRIBE: { arity: -1, handler: unsubscribe },
    PUBLISH: { arity: 3, handler: ([ch, msg]) => {
      const subs = channels.get(key(ch!));
      if (subs === undefined) return 0;
      for (const ctx of subs) ctx.push(new Push(["message", ch!, msg!]));
      return subs.size;
    } },
    QUIT: { arity: -1, handler: (_args, ctx) => {
      ctx.close();
      return OK;
    } },
  };

  return {
    commands,
    guard(name, _args, ctx) {
      if (!ctx.subscribed || ctx.protocol !== 2 || SUBSCRIBED_ALLOWED.has(name)) return undefined;
      if ((ctx.state.get("channels") as Set<string> | undefined)?.size) {
        return new RespError(
          `ERR Can't execute '${name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`,
        );
      }
      return undefined;
    },
    onClose(ctx) {
      for (const name of [...subscriptions(ctx)]) unsubscribeFrom(ctx, name);
    },
  };
}
