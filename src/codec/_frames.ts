import { FrameError } from "../errors.ts";
import type { Decoder } from "./codec.ts";
import type { ReadBuffer } from "./read_buffer.ts";

/**
 * Decodes every frame `src` holds into `out`, in one pass; returns how many.
 * The one loop behind DecoderStream and framed(): decoders find each frame
 * where the last one ended, so a chunk's frames cost one scan of it.
 */
export function decodeAll<T>(decoder: Decoder<T>, src: ReadBuffer, out: T[]): number {
  if (decoder.decodeMany !== undefined) {
    const before = out.length;
    decoder.decodeMany(src, out);
    return out.length - before;
  }
  let n = 0;
  for (let frame = decoder.decode(src); frame !== undefined; frame = decoder.decode(src)) {
    out.push(frame);
    n++;
  }
  return n;
}

/** Decodes what is left at the end of the stream; bytes no frame takes are an `unexpected-eof`. */
export function decodeRest<T>(decoder: Decoder<T>, src: ReadBuffer, out: T[]): void {
  decodeAll(decoder, src, out);
  if (decoder.decodeEof) {
    for (let frame = decoder.decodeEof(src); frame !== undefined; frame = decoder.decodeEof(src)) out.push(frame);
  }
  if (src.length > 0) {
    throw new FrameError("unexpected-eof", `Cannot decode frame: the stream ended with ${src.length} bytes of an incomplete frame`);
  }
}
