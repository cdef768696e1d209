import { NetError } from "../errors.ts";
import type { Conn } from "../bytes/conn.ts";
import { FastReadable, FastWritable } from "../bytes/_fast_streams.ts";
import type { Codec } from "../codec/codec.ts";
import { FrameReader } from "./_frame_reader.ts";
import { FrameWriter } from "./_frame_writer.ts";

/** Encoded bytes waiting for the connection before frame writes wait: enough for a burst of replies, bounded. */
export const DEFAULT_MAX_BUFFERED_WRITE_BYTES = 1024 * 1024;

/** Options of {@link framed}. */
export interface FramedOptions {
  /** Bytes already read from `conn` that belong to the frames (a handshake's leftover). */
  leftover?: Uint8Array;
  /** Encoded bytes held while the connection is busy before frame writes wait. Default 1 MiB. */
  maxBufferedWriteBytes?: number;
}

/** What {@link Framed.parts} hands back for a protocol switch. */
export interface FramedParts {
  /** The connection, with its readable and writable unlocked. */
  conn: Conn;
  /** Bytes read from it that no frame took, in order. */
  leftover: Uint8Array;
}

/**
 * A connection as a duplex of frames. `readable` decodes one frame per read;
 * `batches` gives every frame a chunk of bytes completes in one array (one
 * read per chunk: the dispatchers' path); use one of the two. `writable`
 * encodes each frame into one buffer, and frames written while the connection
 * is busy leave together in one write.
 */
export interface Framed<In, Out = In> extends ReadableWritablePair<In, Out>, AsyncDisposable {
  /** The connection underneath. */
  readonly conn: Conn;
  /** Frames, one per read. Decoding stops at the frame read, so `parts()` gets the rest as bytes. A corrupt stream errors it with a FrameError; the connection stays open. */
  readonly readable: ReadableStream<In>;
  /** Frames, one array per chunk read from the connection. */
  readonly batches: ReadableStream<In[]>;
  /** Frames to send; `close()` half-closes the connection once they are out. */
  readonly writable: WritableStream<Out>;
  /** Socket writes made so far (a burst of frames takes few). */
  readonly writes: number;
  /**
   * Releases the connection for a protocol switch (STARTTLS, a new codec):
   * frames already written go out first; the bytes read but not decoded come
   * back as `leftover`. The frames' streams must not be locked by a reader or
   * writer; they end here.
   */
  parts(): Promise<FramedParts>;
  /** Closes the connection (see `Conn.close`). */
  close(reason?: unknown): Promise<void>;
}

/**
 * Frames over a connection with a codec: the tokio-util `Framed` of weft.
 *
 * @example Lines both ways over a memory pipe
 * ```ts
 * import { framed, lines, memoryPipe } from "weft";
 *
 * const [a, b] = memoryPipe();
 * const client = framed(a, lines());
 * const server = framed(b, lines());
 *
 * const writer = client.writable.getWriter();
 * await writer.write("HELLO");
 * await writer.write("QUIT");
 * await writer.close();
 *
 * const got: string[] = [];
 * for await (const line of server.readable) got.push(line);
 * console.assert(got.join() === "HELLO,QUIT");
 * await server.close();
 * ```
 */
export function framed<In, Out = In>(conn: Conn, codec: Codec<In, Out>, options: FramedOptions = {}): Framed<In, Out> {
  if (typeof conn !== "object" || conn === null || !(conn.readable instanceof ReadableStream) || !(conn.writable instanceof WritableStream)) {
    throw new TypeError("Invalid conn: expected a Conn with a readable and a writable");
  }
  if (typeof codec !== "object" || codec === null || typeof codec.decode !== "function" || typeof codec.encode !== "function") {
    throw new TypeError("Invalid codec: expected an object with decode() and encode()");
  }
  const { leftover, maxBufferedWriteBytes = DEFAULT_MAX_BUFFERED_WRITE_BYTES } = options;
  if (leftover !== undefined && !(leftover instanceof Uint8Array)) throw new TypeError("Invalid leftover: expected a Uint8Array");
  if (!Number.isSafeInteger(maxBufferedWriteBytes) || maxBufferedWriteBytes < 1) {
    throw new RangeError(`Invalid maxBufferedWriteBytes ${maxBufferedWriteBytes}: expected a positive integer of bytes`);
  }
  return new FramedConn(conn, codec, leftover, maxBufferedWriteBytes);
}

class FramedConn<In, Out> implements Framed<In, Out> {
  readonly conn: Conn;
  readonly readable: ReadableStream<In>;
  readonly batches: ReadableStream<In[]>;
  readonly writable: WritableStream<Out>;
  #reader: FrameReader<In>;
  #writer: FrameWriter<Out>;
  #parted = false;

  constructor(conn: Conn, codec: Codec<In, Out>, leftover: Uint8Array | undefined, maxBufferedWriteBytes: number) {
    this.conn = conn;
    const reader = (this.#reader = new FrameReader(conn, codec, leftover));
    const writer = (this.#writer = new FrameWriter(conn, codec, maxBufferedWriteBytes));
    this.readable = new FastReadable<In>(
      {
        async pull(c) {
          const r = await reader.read();
          if (r.done) c.close();
          else c.enqueue(r.value);
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
      reader,
    );
    this.batches = new FastReadable<In[]>(
      {
        async pull(c) {
          const r = await reader.readBatch();
          if (r.done) c.close();
          else c.enqueue(r.value);
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
      reader.batchSource,
    );
    this.writable = new FastWritable<Out>(
      {
        write: (frame) => writer.write(frame),
        close: () => writer.close(),
        abort: (reason) => writer.abort(reason),
      },
      { highWaterMark: 0 },
      writer,
    );
  }

  get writes(): number {
    return this.#writer.writes;
  }

  async parts(): Promise<FramedParts> {
    if (this.#parted) throw new NetError("closed", "Cannot take the parts: they were taken already");
    if (this.readable.locked || this.batches.locked || this.writable.locked) {
      throw new TypeError("Cannot take the parts: release the readers and writer of the frames first");
    }
    this.#parted = true;
    await this.#writer.idle();
    this.#writer.detach();
    const leftover = this.#reader.detach();
    return { conn: this.conn, leftover };
  }

  close(reason?: unknown): Promise<void> {
    return this.conn.close(reason);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
