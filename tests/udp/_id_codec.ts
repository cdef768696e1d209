/** A datagram protocol with request ids for the multiplex tests: a 4-byte id, a flags byte, the payload. */
import type { Codec, MultiplexHooks } from "../../mod.ts";

/**
 * ```
 * +--------+-------+-----------------+
 * | id u32 | flags | payload ...     |   flags bit 0: cancel of call `id`
 * +--------+-------+-----------------+
 * ```
 */
export interface IdFrame {
  id: number;
  payload: Uint8Array;
  cancel?: true;
}

const EMPTY = new Uint8Array(0);
const HEADER_BYTES = 5;

/** The codec: one frame per datagram; fewer than 5 bytes hold no frame. */
export function idCodec(): Codec<IdFrame> {
  return {
    decode(src) {
      if (src.length < HEADER_BYTES) return undefined;
      const id = src.uint(0, 4);
      const flags = src.byteAt(4);
      src.skip(HEADER_BYTES);
      const payload = src.length > 0 ? src.takeAll() : EMPTY;
      return flags & 1 ? { id, payload, cancel: true } : { id, payload };
    },
    encode(frame, dst) {
      dst.writeUint(frame.id, 4);
      dst.writeByte(frame.cancel ? 1 : 0);
      dst.write(frame.payload);
    },
  };
}

/** Where the id is, and the cancel frame (so that a call that times out frees its id even when its response is lost). */
export const idHooks: MultiplexHooks<IdFrame, IdFrame> = {
  requestId: (f) => f.id,
  responseId: (f) => f.id,
  withRequestId: (f, id) => ({ id, payload: f.payload }),
  withResponseId: (f, id) => ({ id, payload: f.payload }),
  cancel: (id) => ({ id, payload: EMPTY, cancel: true }),
  isCancel: (f) => f.cancel === true,
};

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);
