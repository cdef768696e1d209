/**
 * A small multiplexed RPC, in the shape of tokio-proto's multiplex example:
 * every frame is length-delimited and starts with a 4-byte request id, so
 * many calls share one connection and their answers come back in any order.
 * Responses may stream: a head, then body chunks, then an end.
 *
 *   frame = u32 length | u32 id | u8 kind | payload
 *   kind  0 head (no body) · 1 head, a body follows · 2 body chunk · 3 body end · 4 body aborted
 *
 * Requests are text commands: "upper <text>" answers at once; "count <n>"
 * answers "counting" and streams the numbers 1 to n as lines; "sleep <ms>"
 * answers after a while (so a later call overtakes it).
 *
 *   node --import tsx examples/multiplex_rpc.ts      (or deno run -A, bun)
 */
import {
  type Adapter,
  type Codec,
  FrameError,
  framed,
  lengthDelimited,
  type Message,
  serve,
  type Server,
  serviceFn,
  type StreamFrame,
  streamingClient,
  streamingServer,
} from "../mod.ts";

const HEAD = 0;
const HEAD_WITH_BODY = 1;
const CHUNK = 2;
const END = 3;
const ABORT = 4;
const text = new TextEncoder();
const untext = new TextDecoder();

/** The RPC's codec: StreamFrames with ids, over lengthDelimited() (4-byte big-endian length, 1 MiB at most). */
export function rpcFrames(): Codec<StreamFrame<string>> {
  const outer = lengthDelimited({ maxFrameBytes: 1024 * 1024 });
  return {
    decode(src) {
      const payload = outer.decode(src);
      if (payload === undefined) return undefined;
      if (payload.length < 5) throw new FrameError("invalid-frame", `Cannot decode RPC frame: ${payload.length} bytes, fewer than its 5-byte header`);
      const id = new DataView(payload.buffer, payload.byteOffset).getUint32(0);
      const kind = payload[4];
      const rest = payload.subarray(5);
      switch (kind) {
        case HEAD:
        case HEAD_WITH_BODY:
          return { kind: "head", head: untext.decode(rest), body: kind === HEAD_WITH_BODY, id };
        case CHUNK:
          return { kind: "chunk", chunk: rest, id };
        case END:
          return { kind: "end", id };
        case ABORT:
          return { kind: "abort", id };
        default:
          throw new FrameError("invalid-frame", `Cannot decode RPC frame: unknown kind ${kind}`);
      }
    },
    encode(frame, dst) {
      const rest = frame.kind === "head" ? text.encode(frame.head) : frame.kind === "chunk" ? frame.chunk : new Uint8Array(0);
      const kind = frame.kind === "head" ? (frame.body ? HEAD_WITH_BODY : HEAD) : frame.kind === "chunk" ? CHUNK : frame.kind === "end" ? END : ABORT;
      const payload = new Uint8Array(5 + rest.length);
      new DataView(payload.buffer).setUint32(0, frame.id ?? 0);
      payload[4] = kind;
      payload.set(rest, 5);
      outer.encode(payload, dst);
    },
  };
}

/** The RPC's service: a Service of Messages, some answered with a streamed body. */
export const rpcService = serviceFn(async (req: Message<string>, { signal }): Promise<Message<string>> => {
  const [command = "", ...args] = req.head.split(" ");
  const arg = args.join(" ");
  switch (command) {
    case "upper":
      return { head: arg.toUpperCase() };
    case "sleep":
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, Number(arg));
        signal.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
      });
      return { head: `slept ${arg} ms` };
    case "count": {
      let i = 0;
      const n = Number(arg);
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (++i > n) controller.close();
          else controller.enqueue(text.encode(`${i}\n`));
        },
      });
      return { head: "counting", body };
    }
    default:
      return { head: `unknown command ${JSON.stringify(command)}` };
  }
});

/** Serves the RPC on `listener` (serve()'s handler form: a function per connection) until `shutdown()`. */
export function serveRpc(listener: Awaited<ReturnType<Adapter["listen"]>>): Server {
  return serve(listener, (conn, info) => streamingServer(framed(conn, rpcFrames()), rpcService, { mode: "multiplex", signal: info.signal }));
}

/** Runs a short session over one connection; returns what it printed. */
export async function demo(net: Adapter, log: (line: string) => void): Promise<string[]> {
  const listener = await net.listen({ hostname: "127.0.0.1", port: 0 });
  const server = serveRpc(listener);
  const client = streamingClient<string, string>(framed(await net.connect({ hostname: "127.0.0.1", port: listener.addr.port! }), rpcFrames()), {
    mode: "multiplex",
  });
  const out: string[] = [];
  const note = (line: string) => {
    out.push(line);
    log(`  ${line}`);
  };
  // Three calls at once on one connection: the slow one is answered last.
  const slow = client.call({ head: "sleep 50" }).then((res) => note(`sleep 50 -> ${res.head}`));
  const fast = client.call({ head: "upper multiplexed" }).then((res) => note(`upper multiplexed -> ${res.head}`));
  const counted = client.call({ head: "count 5" }).then(async (res) => {
    const body = await new Response(res.body).text();
    note(`count 5 -> ${res.head}: ${body.trim().split("\n").join(" ")}`);
  });
  await Promise.all([slow, fast, counted]);
  await client.close();
  await server.shutdown();
  return out;
}

if ((import.meta as { main?: boolean }).main ?? process.argv[1]?.endsWith("multiplex_rpc.ts")) {
  const { net, runtime } = await import("./_net.ts");
  console.log(`multiplexed RPC with streamed responses on ${runtime}:`);
  await demo(net, console.log);
}
