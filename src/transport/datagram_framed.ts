import { FrameError } from "../errors.ts";
import { DONE, FastReadable, type FastSource, type FastTarget, FastWritable, type ReadResult, rejected } from "../bytes/_fast_streams.ts";
import type { Datagram, UdpSocket } from "../bytes/datagram.ts";
import { formatAddr, type NetAddr } from "../bytes/net_addr.ts";
import type { Codec } from "../codec/codec.ts";
import { ReadBuffer } from "../codec/read_buffer.ts";
import { WriteBuffer } from "../codec/write_buffer.ts";

/** Encode buffers kept for reuse between sends; more sends in flight allocate their own. */
const SPARE_BUFFERS = 8;
/** Bytes an encode buffer starts with: most datagrams fit, larger ones grow it. */
const BUFFER_BYTES = 2048;

/** A frame with the address of the other end: where it came from, or where it goes. */
export interface DatagramFrame<T> {
  /** The frame one datagram carries. */
  readonly frame: T;
  /** The peer. */
  readonly remoteAddr: NetAddr;
}

/** Options of {@link datagramFramed}. */
export interface DatagramFramedOptions {
  /** Told about each datagram dropped because it does not hold exactly one frame, with the reason (usually a FrameError). */
  onUndecodable?(error: unknown, datagram: Datagram): void;
}

/**
 * A UDP socket as a duplex of frames, one frame per datagram: see
 * {@link datagramFramed}.
 */
export interface DatagramFramed<In, Out = In> extends ReadableWritablePair<DatagramFrame<In>, DatagramFrame<Out>>, AsyncDisposable {
  /** The socket underneath. */
  readonly socket: UdpSocket;
  /** The frames that arrive, each with its sender. Undecodable datagrams never show here. */
  readonly readable: ReadableStream<DatagramFrame<In>>;
  /** Frames to send, each encoded into one datagram to its `remoteAddr`. */
  readonly writable: WritableStream<DatagramFrame<Out>>;
  /** Datagrams dropped because they did not decode to exactly one frame. */
  readonly undecodable: number;
  /** Closes the socket (see `UdpSocket.close`). */
  close(reason?: unknown): Promise<void>;
}

/**
 * Frames over a UDP socket with a codec, one frame per datagram: the
 * tokio-util `UdpFramed` of weft.
 *
 * Each datagram is decoded on its own, from a fresh {@link ReadBuffer}: `decode`,
 * then `decodeEof` if the codec has it, must give one frame and take every
 * byte. A datagram that throws (a {@link FrameError}, or anything else), that
 * yields no frame, or that leaves bytes over, is counted in `undecodable`,
 * handed to `onUndecodable`, and dropped: bad input from one peer never ends
 * the stream or the socket. Codecs keep state between calls, so `codec` is a
 * function that makes one (`lines` itself will do): a fresh codec replaces
 * one that an undecodable datagram left in the middle of a frame.
 *
 * Each frame written is encoded into a datagram of its own. A frame the codec
 * refuses, or a datagram the socket refuses, rejects that write alone
 * (through the default writer), as the socket's writable does.
 *
 * @example A line protocol over datagrams, with a bad datagram in between
 * ```ts
 * import { datagramFramed, lines, memoryUdp } from "weft";
 *
 * const [a, b] = memoryUdp();
 * const client = datagramFramed(a, lines);
 * const server = datagramFramed(b, lines);
 *
 * const raw = a.writable.getWriter();
 * await raw.write({ data: new TextEncoder().encode("one\ntwo\n"), remoteAddr: b.localAddr }); // two frames: dropped
 * raw.releaseLock();
 * await client.writable.getWriter().write({ frame: "PING", remoteAddr: b.localAddr });
 *
 * const reader = server.readable.getReader();
 * const { value } = await reader.read();
 * console.assert(value!.frame === "PING" && value!.remoteAddr.port === a.localAddr.port);
 * console.assert(server.undecodable === 1);
 * await Promise.all([client.close(), server.close()]);
 * ```
 */
export function datagramFramed<In, Out = In>(
  socket: UdpSocket,
  codec: () => Codec<In, Out>,
  options: DatagramFramedOptions = {},
): DatagramFramed<In, Out> {
  if (typeof socket !== "object" || socket === null || !(socket.readable instanceof ReadableStream) || !(socket.writable instanceof WritableStream)) {
    throw new TypeError("Invalid socket: expected a UdpSocket with a readable and a writable");
  }
  if (typeof codec !== "function") {
    throw new TypeError(`Invalid codec ${String(codec)}: expected a function that makes a Codec, such as lines or () => lengthDelimited()`);
  }
  const onUndecodable = options.onUndecodable;
  if (onUndecodable !== undefined && typeof onUndecodable !== "function") {
    throw new TypeError(`Invalid onUndecodable ${String(onUndecodable)}: expected a function`);
  }
  return new FramedDatagrams(socket, codec, onUndecodable);
}

class FramedDatagrams<In, Out> implements DatagramFramed<In, Out>, FastSource<DatagramFrame<In>>, FastTarget<DatagramFrame<Out>> {
  readonly socket: UdpSocket;
  readonly readable: ReadableStream<DatagramFrame<In>>;
  readonly writable: WritableStream<DatagramFrame<Out>>;
  #makeCodec: () => Codec<In, Out>;
  #decoder: Codec<In, Out>;
  #encoder: Codec<In, Out>;
  #onUndecodable: ((error: unknown, datagram: Datagram) => void) | undefined;
  #undecodable = 0;
  #reader: ReadableStreamDefaultReader<Datagram> | undefined;
  #writer: WritableStreamDefaultWriter<Datagram> | undefined;
  #spare: WriteBuffer[] = [];
  #closing: Promise<void> | undefined;

  constructor(socket: UdpSocket, makeCodec: () => Codec<In, Out>, onUndecodable: ((error: unknown, datagram: Datagram) => void) | undefined) {
    this.socket = socket;
    this.#makeCodec = makeCodec;
    this.#decoder = this.#fresh();
    this.#encoder = this.#fresh();
    this.#onUndecodable = onUndecodable;
    this.readable = new FastReadable<DatagramFrame<In>>(
      {
        pull: async (c) => {
          const r = await this.read();
          if (r.done) c.close();
          else c.enqueue(r.value);
        },
        cancel: (reason) => this.#readerOf().cancel(reason),
      },
      { highWaterMark: 0 },
      this,
    );
    this.writable = new FastWritable<DatagramFrame<Out>>(
      {
        write: (item) => this.write(item),
        close: () => this.closing(),
        abort: (reason) => this.#writerOf().abort(reason),
      },
      { highWaterMark: 1 },
      this,
    );
  }

  get undecodable(): number {
    return this.#undecodable;
  }

  close(reason?: unknown): Promise<void> {
    return this.socket.close(reason);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #fresh(): Codec<In, Out> {
    const codec = this.#makeCodec();
    if (typeof codec !== "object" || codec === null || typeof codec.decode !== "function" || typeof codec.encode !== "function") {
      throw new TypeError("Invalid codec: the function must return an object with decode() and encode()");
    }
    return codec;
  }

  #readerOf(): ReadableStreamDefaultReader<Datagram> {
    return (this.#reader ??= this.socket.readable.getReader());
  }

  #writerOf(): WritableStreamDefaultWriter<Datagram> {
    return (this.#writer ??= this.socket.writable.getWriter());
  }

  // ── Reading ────────────────────────────────────────────────────────────

  /** FastSource: the next frame that decodes, skipping those that do not. */
  async read(): Promise<ReadResult<DatagramFrame<In>>> {
    const reader = this.#readerOf();
    for (;;) {
      const r = await reader.read();
      if (r.done) return DONE;
      const frame = this.#decode(r.value);
      if (frame !== undefined) return { done: false, value: { frame, remoteAddr: r.value.remoteAddr } };
    }
  }

  release(): void {}

  /** One datagram's frame, or `undefined` when it is dropped as undecodable. */
  #decode(datagram: Datagram): In | undefined {
    const src = new ReadBuffer();
    src.push(datagram.data);
    const codec = this.#decoder;
    let frame: In | undefined;
    let error: unknown;
    try {
      frame = codec.decode(src);
      if (frame === undefined && codec.decodeEof) frame = codec.decodeEof(src);
      if (frame === undefined) {
        error = new FrameError("invalid-frame", `Cannot decode datagram from "${formatAddr(datagram.remoteAddr)}": its ${datagram.data.length} bytes hold no whole frame`);
      } else if (src.length > 0) {
        error = new FrameError("invalid-frame", `Cannot decode datagram from "${formatAddr(datagram.remoteAddr)}": ${src.length} bytes left after the frame`);
      }
    } catch (e) {
      error = e;
    }
    if (error === undefined) return frame;
    this.#undecodable++;
    // The codec may be left in the middle of a frame: the next datagram gets a fresh one.
    this.#decoder = this.#fresh();
    try {
      this.#onUndecodable?.(error, datagram);
    } catch {
      // a failing hook cannot stop the frames
    }
    return undefined;
  }

  // ── Writing ────────────────────────────────────────────────────────────

  /** FastTarget: encodes one frame into one datagram. */
  write(item: DatagramFrame<Out>): Promise<void> {
    if (typeof item !== "object" || item === null) {
      return rejected(new TypeError(`Invalid frame ${String(item)}: expected { frame, remoteAddr }`));
    }
    const buffer = this.#spare.pop() ?? new WriteBuffer(BUFFER_BYTES);
    try {
      this.#encoder.encode(item.frame, buffer);
    } catch (error) {
      return rejected(this.#recycle(buffer, error));
    }
    // The buffer is reused once the socket no longer needs its bytes.
    return this.#writerOf().write({ data: buffer.bytes(), remoteAddr: item.remoteAddr }).then(
      () => void this.#recycle(buffer, undefined),
      (error) => {
        throw this.#recycle(buffer, error);
      },
    );
  }

  #recycle(buffer: WriteBuffer, error: unknown): unknown {
    buffer.clear();
    if (this.#spare.length < SPARE_BUFFERS) this.#spare.push(buffer);
    return error;
  }

  get ready(): Promise<void> {
    return this.#writerOf().ready;
  }

  get desiredSize(): number | null {
    return this.#writerOf().desiredSize;
  }

  closing(): Promise<void> {
    return (this.#closing ??= this.#writerOf().close());
  }
}
