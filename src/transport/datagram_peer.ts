import { NetError } from "../errors.ts";
import { DONE, FastReadable, type FastSource, type FastTarget, FastWritable, type ReadResult, rejected } from "../bytes/_fast_streams.ts";
import { bareHostname, checkRemoteAddr } from "../bytes/datagram.ts";
import type { Conn } from "../bytes/conn.ts";
import { formatAddr, type NetAddr } from "../bytes/net_addr.ts";
import type { DatagramFrame, DatagramFramed } from "./datagram_framed.ts";
import type { Framed, FramedParts } from "./framed.ts";

/** The frames exchanged with one peer over a {@link DatagramFramed}, as a {@link Framed}: see {@link datagramPeer}. */
export interface DatagramPeer<In, Out = In> extends Framed<In, Out> {
  /** The peer. */
  readonly remoteAddr: NetAddr;
  /** The frames and socket underneath. */
  readonly datagrams: DatagramFramed<In, Out>;
  /** Datagrams from other addresses, dropped. */
  readonly foreign: number;
  /** There is no byte stream under datagrams: reading it throws a NetError `unsupported`. */
  readonly conn: Conn;
}

/** An address as a key that ignores brackets, case and the IPv4-mapped IPv6 prefix. */
function addrKey(addr: NetAddr): string {
  let host = bareHostname(addr.hostname ?? "").toLowerCase();
  if (host.startsWith("::ffff:") && host.includes(".")) host = host.slice(7);
  return `${host}|${addr.port}`;
}

/**
 * The frames exchanged with one peer, as a {@link Framed}, so that what
 * takes a Framed — the pipeline and multiplex dispatchers — runs over UDP:
 * frames from `remoteAddr` are read (datagrams from anyone else are dropped
 * and counted in `foreign`), frames written go to it. `batches` holds one
 * frame per array; `close()` closes the socket.
 *
 * What UDP does not do, this does not either: nothing is retransmitted, so a
 * lost request or response means the call waits until its own deadline (put
 * `timeout()` in front of the client); nothing is ordered, so only the
 * multiplex dispatchers fit (ids in the frames), never pipeline; and a
 * multiplex client that times out should send a cancel frame (`hooks.cancel`)
 * so that the id is freed even when the response never comes. A duplicated
 * request whose id is still in flight, or a response to an id the client no
 * longer knows, is a `protocol-error` for the dispatcher and ends it. There
 * is no byte stream underneath: `conn` and `parts()` are `unsupported`.
 *
 * @example A multiplexed exchange over datagrams, ids in the frames
 * ```ts
 * import { datagramFramed, datagramPeer, jsonLines, memoryUdp, multiplexClient, multiplexServer, serviceFn, type MultiplexHooks } from "weft";
 *
 * type Frame = { id: number; n: number };
 * const hooks: MultiplexHooks<Frame, Frame> = {
 *   requestId: (f) => f.id,
 *   responseId: (f) => f.id,
 *   withRequestId: (f, id) => ({ ...f, id }),
 *   withResponseId: (f, id) => ({ ...f, id }),
 * };
 * const [a, b] = memoryUdp();
 * const json = () => jsonLines<Frame>();
 * const served = multiplexServer(datagramPeer(datagramFramed(b, json), a.localAddr), serviceFn(async (f: Frame) => ({ id: 0, n: f.n * 2 })), hooks);
 * const client = multiplexClient(datagramPeer(datagramFramed(a, json), b.localAddr), hooks);
 * const answers = await Promise.all([1, 2, 3].map((n) => client.call({ id: 0, n })));
 * console.assert(answers.map((f) => f.n).join() === "2,4,6");
 * await client.close();
 * await b.close(); // the server's socket: it has no FIN to wait for
 * await served;
 * ```
 */
export function datagramPeer<In, Out = In>(datagrams: DatagramFramed<In, Out>, remoteAddr: NetAddr): DatagramPeer<In, Out> {
  const d = datagrams as Partial<DatagramFramed<In, Out>> | null;
  if (typeof d !== "object" || d === null || !(d.readable instanceof ReadableStream) || !(d.writable instanceof WritableStream) || typeof d.undecodable !== "number") {
    throw new TypeError("Invalid datagrams: expected the frames of datagramFramed(socket, codec), not a bare socket");
  }
  return new Peer(datagrams, checkRemoteAddr(remoteAddr));
}

class Peer<In, Out> implements DatagramPeer<In, Out>, FastSource<In>, FastTarget<Out> {
  readonly datagrams: DatagramFramed<In, Out>;
  readonly remoteAddr: NetAddr;
  readonly readable: ReadableStream<In>;
  readonly batches: ReadableStream<In[]>;
  readonly writable: WritableStream<Out>;
  writes = 0;
  foreign = 0;
  #key: string;
  #reader: ReadableStreamDefaultReader<DatagramFrame<In>> | undefined;
  #writer: WritableStreamDefaultWriter<DatagramFrame<Out>> | undefined;
  #closing: Promise<void> | undefined;
  #sent = () => void this.writes++;

  constructor(datagrams: DatagramFramed<In, Out>, remoteAddr: NetAddr) {
    this.datagrams = datagrams;
    this.remoteAddr = remoteAddr;
    this.#key = addrKey(remoteAddr);
    const cancel = (reason: unknown) => this.#readerOf().cancel(reason);
    this.readable = new FastReadable<In>(
      {
        pull: async (c) => {
          const r = await this.read();
          if (r.done) c.close();
          else c.enqueue(r.value);
        },
        cancel,
      },
      { highWaterMark: 0 },
      this,
    );
    const batchSource: FastSource<In[]> = {
      read: () => this.read().then((r): ReadResult<In[]> => (r.done ? DONE : { done: false, value: [r.value] })),
      release() {},
    };
    this.batches = new FastReadable<In[]>(
      {
        pull: async (c) => {
          const r = await batchSource.read();
          if (r.done) c.close();
          else c.enqueue(r.value);
        },
        cancel,
      },
      { highWaterMark: 0 },
      batchSource,
    );
    this.writable = new FastWritable<Out>(
      { write: (frame) => this.write(frame), close: () => this.closing(), abort: (reason) => this.#writerOf().abort(reason) },
      { highWaterMark: 1 },
      this,
    );
  }

  get conn(): Conn {
    throw new NetError("unsupported", `Cannot get the conn of the datagram peer "${formatAddr(this.remoteAddr)}": datagrams have no byte stream; use .datagrams.socket`);
  }

  parts(): Promise<FramedParts> {
    return rejected(new NetError("unsupported", "Cannot take the parts of a datagram peer: datagrams have no byte stream to hand over"));
  }

  close(reason?: unknown): Promise<void> {
    return this.datagrams.close(reason);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #readerOf(): ReadableStreamDefaultReader<DatagramFrame<In>> {
    return (this.#reader ??= this.datagrams.readable.getReader());
  }

  #writerOf(): WritableStreamDefaultWriter<DatagramFrame<Out>> {
    return (this.#writer ??= this.datagrams.writable.getWriter());
  }

  /** FastSource: the next frame from the peer. */
  async read(): Promise<ReadResult<In>> {
    const reader = this.#readerOf();
    for (;;) {
      const r = await reader.read();
      if (r.done) return DONE;
      if (addrKey(r.value.remoteAddr) === this.#key) return { done: false, value: r.value.frame };
      this.foreign++;
    }
  }

  release(): void {}

  /** FastTarget: one frame to the peer. */
  write(frame: Out): Promise<void> {
    return this.#writerOf().write({ frame, remoteAddr: this.remoteAddr }).then(this.#sent);
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
