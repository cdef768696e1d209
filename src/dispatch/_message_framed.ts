/**
 * The streaming-body engine: a Framed of {@link StreamFrame}s seen as a
 * Framed of {@link Message}s, so that the pipeline and multiplex dispatchers
 * carry bodies unchanged.
 *
 * Reading, one routine routes frames on demand: a head becomes a message (and
 * opens its body stream when one follows), chunks go to their body, `end`
 * closes it, `abort` errors it. Frames are routed only while someone wants
 * them (the dispatcher's next read, or a body reader with room); when a chunk
 * meets a full body, routing stops and the connection is not read until that
 * body's reader catches up: the body's pace is the connection's pace. A body
 * whose reader cancels it has its remaining chunks read and dropped, so the
 * connection stays in sync.
 *
 * Writing, a message's head leaves first, then its body's chunks (each after
 * the connection has room), then `end`; a body that fails, or whose call's
 * signal aborts, ends with an `abort` frame instead, and the peer's body
 * stream errors. In pipeline mode messages leave one after the other; in
 * multiplex mode their bodies interleave.
 */
import { NetError } from "../errors.ts";
import type { Framed } from "../transport/framed.ts";
import type { Message, MultiplexHooks, StreamFrame } from "./dispatch.ts";
import { connectionError, protocolError } from "./_private.ts";

/** A message as the engine carries it: with its id in multiplex mode, and its call's signal on the way out. */
export interface Msg<Head> extends Message<Head> {
  id?: number;
  /** A cancel of call `id` (multiplex), written as an `abort` frame. */
  cancel?: true;
  /** Stops the body's pump when it aborts (the caller gave up mid-body). */
  signal?: AbortSignal | undefined;
}

/** The multiplex hooks of messages: the id travels beside the head. */
export function messageHooks<In, Out>(): MultiplexHooks<Msg<In>, Msg<Out>> {
  return {
    requestId: (m) => m.id!,
    responseId: (m) => m.id!,
    withRequestId: (m, id) => ({ head: m.head, body: m.body, id, signal: m.signal }),
    withResponseId: (m, id) => ({ head: m.head, body: m.body, id }),
    cancel: (id) => ({ head: undefined as In, id, cancel: true }),
    isCancel: (m) => m.cancel === true,
  };
}

/** Releases a message nobody will read: its body's remaining bytes are dropped. */
export function discardMessage(m: unknown): void {
  (m as Message<unknown>).body?.cancel().catch(() => {});
}

/** How many body chunks wait for a slow body reader before the connection is no longer read. */
const BODY_HIGH_WATER_MARK = 4;

interface Body {
  controller: ReadableStreamDefaultController<Uint8Array>;
  cancelled: boolean;
}

/** Wraps `framed`; `server` says which way cancels go in multiplex mode. */
export function messageFramed<In, Out>(
  framed: Framed<StreamFrame<In>, StreamFrame<Out>>,
  multiplex: boolean,
  server: boolean,
): Framed<Msg<In>, Msg<Out>> {
  const source = new MessageSource<In>(framed, multiplex, server);
  const sink = new MessageSink<Out>(framed, multiplex);
  source.onPeerAbort = (id) => sink.stop(id);
  return {
    conn: framed.conn,
    batches: source.batches,
    writable: sink.writable,
    close: (reason?: unknown) => {
      source.fail(reason ?? new NetError("closed", "The connection was closed"));
      return framed.close(reason);
    },
  } as unknown as Framed<Msg<In>, Msg<Out>>;
}

class MessageSource<In> {
  readonly batches: ReadableStream<Msg<In>[]>;
  onPeerAbort: (id: number) => void = () => {};
  #reader: ReadableStreamDefaultReader<StreamFrame<In>[]>;
  #multiplex: boolean;
  #server: boolean;
  #frames: StreamFrame<In>[] = [];
  #at = 0;
  #reading = false; // a read of the connection in flight
  #ended = false;
  #bodies = new Map<number, Body>(); // open bodies by id (0 in pipeline mode)
  #out: Msg<In>[] = [];
  #want: { resolve(batch: Msg<In>[] | undefined): void; reject(error: unknown): void } | undefined;
  #error: unknown;
  #routing = false;
  #stopped = false; // no more messages wanted (a drain): open bodies are still read to their end

  constructor(framed: Framed<StreamFrame<In>, unknown>, multiplex: boolean, server: boolean) {
    this.#reader = framed.batches.getReader();
    this.#multiplex = multiplex;
    this.#server = server;
    this.batches = new ReadableStream<Msg<In>[]>(
      {
        pull: async (c) => {
          const batch = await new Promise<Msg<In>[] | undefined>((resolve, reject) => {
            this.#want = { resolve, reject };
            this.#run();
          });
          if (this.#stopped) return;
          if (batch === undefined) c.close();
          else c.enqueue(batch);
        },
        cancel: (reason) => this.#stop(reason),
      },
      { highWaterMark: 0 },
    );
  }

  /** The dispatcher reads no more messages; bodies already open still get theirs, then reading stops. */
  #stop(reason: unknown): Promise<void> {
    this.#stopped = true;
    this.#want?.resolve(undefined);
    this.#want = undefined;
    if (this.#bodies.size > 0) return Promise.resolve();
    this.#ended = true;
    return this.#reader.cancel(reason);
  }

  /** The connection failed or closed: every open body errors, and the reader with it. */
  fail(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    for (const body of this.#bodies.values()) this.#errorBody(body, error);
    this.#bodies.clear();
    this.#deliver();
  }

  /** Routes the frames at hand; reads the connection when someone wants more and nothing blocks. */
  #run(): void {
    if (this.#routing) return;
    this.#routing = true;
    try {
      while (!this.#ended && this.#at < this.#frames.length && this.#route(this.#frames[this.#at]!)) this.#at++;
    } catch (error) {
      this.#routing = false;
      this.#reader.cancel(error).catch(() => {});
      return this.fail(error);
    }
    this.#routing = false;
    this.#deliver();
    const blocked = this.#at < this.#frames.length;
    if (!blocked && !this.#ended && !this.#reading && (this.#want !== undefined || this.#bodyWants())) this.#readMore();
  }

  #readMore(): void {
    this.#reading = true;
    this.#reader.read().then(
      (r) => {
        this.#reading = false;
        if (r.done) {
          if (this.#bodies.size > 0) return this.fail(new NetError("closed", "The connection closed in the middle of a body"));
          this.#ended = true;
          return this.#deliver();
        }
        this.#frames = r.value;
        this.#at = 0;
        this.#run();
      },
      (error) => {
        this.#reading = false;
        this.fail(connectionError(error));
      },
    );
  }

  #bodyWants(): boolean {
    for (const body of this.#bodies.values()) if (body.cancelled || (body.controller.desiredSize ?? 0) > 0) return true;
    return false;
  }

  /** Hands the messages routed so far to the waiting read, or the end. */
  #deliver(): void {
    const want = this.#want;
    if (want === undefined) return;
    if (this.#out.length > 0) {
      this.#want = undefined;
      const out = this.#out;
      this.#out = [];
      want.resolve(out);
    } else if (this.#ended) {
      this.#want = undefined;
      if (this.#error === undefined) want.resolve(undefined);
      else want.reject(this.#error);
    }
  }

  /** Routes one frame; false when its body has no room (routing waits for that body's reader). */
  #route(frame: StreamFrame<In>): boolean {
    const id = this.#multiplex ? frame.id ?? -1 : 0;
    const body = this.#bodies.get(id);
    switch (frame.kind) {
      case "head": {
        if (this.#stopped) {
          this.#stop(undefined).catch(() => {});
          return false;
        }
        if (body !== undefined) throw protocolError(`Received a head while the body of ${this.#multiplex ? `call ${id}` : "the previous message"} is open`);
        const message: Msg<In> = { head: frame.head };
        if (this.#multiplex) message.id = id;
        if (frame.body) message.body = this.#open(id);
        this.#out.push(message);
        return true;
      }
      case "chunk":
        if (body === undefined) throw protocolError("Received a body chunk with no body open");
        if (body.cancelled) return true;
        if ((body.controller.desiredSize ?? 0) <= 0) return false;
        body.controller.enqueue(frame.chunk);
        return true;
      case "end":
        if (body === undefined) throw protocolError("Received a body end with no body open");
        this.#bodies.delete(id);
        if (!body.cancelled) body.controller.close();
        if (this.#stopped && this.#bodies.size === 0) this.#stop(undefined).catch(() => {});
        return true;
      case "abort":
        if (body !== undefined) {
          this.#bodies.delete(id);
          this.#errorBody(body, new NetError("body-aborted", "The peer aborted the body"));
        }
        if (this.#multiplex && this.#server) {
          // The peer gave up on call `id`: the dispatcher cancels it, and its response stops.
          this.#out.push({ head: undefined as In, id, cancel: true });
          this.onPeerAbort(id);
        }
        return true;
      default:
        throw protocolError(`Received a frame of unknown kind ${JSON.stringify((frame as { kind: unknown }).kind)}`);
    }
  }

  #open(id: number): ReadableStream<Uint8Array> {
    let body!: Body;
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          body = { controller, cancelled: false };
        },
        pull: () => this.#run(),
        cancel: () => {
          // Nobody reads the rest: it is read and dropped, so the connection stays in sync.
          body.cancelled = true;
          this.#run();
        },
      },
      { highWaterMark: BODY_HIGH_WATER_MARK },
    );
    this.#bodies.set(id, body);
    return stream;
  }

  #errorBody(body: Body, error: unknown): void {
    if (body.cancelled) return;
    try {
      body.controller.error(error);
    } catch {
      // closed already
    }
  }
}

class MessageSink<Out> {
  readonly writable: WritableStream<Msg<Out>>;
  #writer: WritableStreamDefaultWriter<StreamFrame<Out>>;
  #multiplex: boolean;
  #pumps = new Map<number, () => void>(); // bodies being sent, by id: stops one
  #running = new Set<Promise<void>>();

  constructor(framed: Framed<unknown, StreamFrame<Out>>, multiplex: boolean) {
    this.#writer = framed.writable.getWriter();
    this.#multiplex = multiplex;
    this.writable = new WritableStream<Msg<Out>>(
      {
        write: (m) => {
          if (!multiplex) return this.#send(m);
          // Multiplexed bodies interleave: the next message does not wait for this one.
          const sending = this.#send(m);
          this.#running.add(sending);
          sending.then(() => this.#running.delete(sending), () => this.#running.delete(sending));
        },
        close: async () => {
          await Promise.allSettled([...this.#running]);
          await this.#writer.close();
        },
        abort: (reason) => this.#writer.abort(reason),
      },
      { highWaterMark: 1 },
    );
  }

  /** Stops the body being sent for call `id` (the peer gave up on it). */
  stop(id: number): void {
    this.#pumps.get(id)?.();
  }

  async #send(m: Msg<Out>): Promise<void> {
    const id = m.id;
    if (m.cancel) {
      const pump = this.#pumps.get(id!);
      if (pump !== undefined) return pump(); // the pump ends the body with an abort frame
      return this.#writer.write({ kind: "abort", id });
    }
    const head: StreamFrame<Out> = { kind: "head", head: m.head, body: m.body !== undefined };
    if (this.#multiplex) head.id = id;
    await this.#writer.write(head);
    if (m.body !== undefined) await this.#pump(m.body, id, m.signal);
  }

  /** Sends a body's chunks as the connection takes them; ends it with `end`, or `abort` if it fails or is stopped. */
  async #pump(body: ReadableStream<Uint8Array>, id: number | undefined, signal: AbortSignal | undefined): Promise<void> {
    const reader = body.getReader();
    const key = id ?? 0;
    let stopped = false;
    const stop = (reason?: unknown) => {
      if (stopped) return;
      stopped = true;
      // A cancel of the call may come before the signal's own listener runs: the reason is the signal's.
      reader.cancel(reason ?? (signal?.aborted ? signal.reason : undefined)).catch(() => {});
    };
    const onAbort = () => stop(signal!.reason);
    this.#pumps.set(key, stop);
    signal?.addEventListener("abort", onAbort, { once: true });
    let kind: "end" | "abort" = "abort";
    try {
      if (signal?.aborted) stop(signal.reason);
      for (;;) {
        if ((this.#writer.desiredSize ?? 1) <= 0) await this.#writer.ready;
        const r = await reader.read();
        if (stopped) break;
        if (r.done) {
          kind = "end";
          break;
        }
        await this.#writer.write(id === undefined ? { kind: "chunk", chunk: r.value } : { kind: "chunk", chunk: r.value, id });
      }
    } catch {
      // The body failed (or the connection did: then the write below fails too).
      if (!stopped) reader.cancel().catch(() => {});
    } finally {
      this.#pumps.delete(key);
      signal?.removeEventListener("abort", onAbort);
    }
    await this.#writer.write(id === undefined ? { kind } : { kind, id });
  }
}
