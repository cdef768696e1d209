/** A binary codec of StreamFrame<string> for the streaming tests: kind, id, length, payload. */
import { type Codec, FrameError, type StreamFrame } from "../../mod.ts";

const KINDS = ["head", "chunk", "end", "abort"] as const;
const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * ```
 * +------+---------+----------+---------------------------------------------+
 * | kind | id (u32)| len (u32)| payload: head = body flag + UTF-8; chunk     |
 * +------+---------+----------+---------------------------------------------+
 * ```
 */
export function streamFrames(): Codec<StreamFrame<string>> {
  return {
    decode(src) {
      if (src.length < 9) return undefined;
      const header = src.peek(9);
      const view = new DataView(header.buffer, header.byteOffset, 9);
      const len = view.getUint32(5);
      if (src.length < 9 + len) return undefined;
      const kind = KINDS[header[0]!];
      const id = view.getUint32(1);
      src.skip(9);
      const payload = src.take(len);
      switch (kind) {
        case "head":
          return { kind, id, body: payload[0] === 1, head: dec.decode(payload.subarray(1)) };
        case "chunk":
          return { kind, id, chunk: payload.slice() };
        case "end":
        case "abort":
          return { kind, id };
        default:
          throw new FrameError("invalid-frame", `Cannot decode frame: kind ${header[0]}`);
      }
    },
    encode(frame, dst) {
      let payload: Uint8Array;
      if (frame.kind === "head") {
        const text = enc.encode(frame.head);
        payload = new Uint8Array(1 + text.length);
        payload[0] = frame.body ? 1 : 0;
        payload.set(text, 1);
      } else payload = frame.kind === "chunk" ? frame.chunk : new Uint8Array(0);
      dst.writeByte(KINDS.indexOf(frame.kind));
      dst.writeUint(frame.id ?? 0, 4);
      dst.writeUint(payload.length, 4);
      dst.write(payload);
    },
  };
}
