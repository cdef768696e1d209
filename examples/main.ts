/**
 * `npm start` (also `deno task start`, `bun run start`): the main job. Starts
 * weft's Redis-compatible server on this runtime, on 127.0.0.1:6380 unless
 * told otherwise (`--port=N` or WEFT_REDIS_PORT), prints how to talk to it
 * with redis-cli, and shuts down cleanly on Ctrl-C. `npm run demo` is the
 * tour of the layers instead (examples/tour.ts).
 */
import { main } from "./redis_server.ts";
import { net, runtime } from "./_net.ts";

await main(net, runtime);
