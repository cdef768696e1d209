/**
 * weft/resp: the Redis protocol (RESP2 and RESP3) on weft's layers.
 *
 * - {@link respCodec} (client side: replies in, commands out) and
 *   {@link respServerCodec} (server side: commands in, replies out), bounded
 *   by default;
 * - the values RESP carries ({@link RespValue}) as plain JavaScript values,
 *   with small classes where a distinction matters: {@link SimpleString},
 *   {@link RespError}, {@link Verbatim}, {@link Push}.
 *
 * @example A reply decoded from bytes
 * ```ts
 * import { ReadBuffer } from "weft";
 * import { respCodec } from "weft/resp";
 *
 * const src = new ReadBuffer();
 * src.push(new TextEncoder().encode("%1\r\n+role\r\n$6\r\nmaster\r\n"));
 * const reply = respCodec().decode(src);
 * console.assert(reply instanceof Map && reply.get("role") === "master");
 * ```
 *
 * @module
 */

export { Push, RespError, SimpleString, Verbatim } from "./value.ts";
export type { RespValue } from "./value.ts";
export { respCodec, respServerCodec } from "./codec.ts";
export type { RespCodecOptions, RespCommand, RespServerCodec, RespServerCodecOptions } from "./codec.ts";
export {
  DEFAULT_MAX_AGGREGATE_LENGTH,
  DEFAULT_MAX_BULK_BYTES,
  DEFAULT_MAX_INLINE_BYTES,
  DEFAULT_MAX_NESTING_DEPTH,
  DEFAULT_MAX_VALUE_BYTES,
} from "./codec.ts";
export type { RespLimits } from "./codec.ts";
export { DEFAULT_RESP_POOL_SIZE, respClient } from "./client.ts";
export type { RespClient, RespClientOptions, RespMessage } from "./client.ts";
export { argText, DEFAULT_COMMAND_TIMEOUT_MS, respServer } from "./server.ts";
export type { RespCommandSpec, RespContext, RespHandler, RespServerOptions } from "./server.ts";
export { respStore, STORE_REDIS_VERSION } from "./store.ts";
export type { RespStoreOptions } from "./store.ts";
