/**
 * The core on an edge runtime: mod.ts, weft/resp and weft/http bundled by
 * esbuild from the sources as IIFEs (globals `weft`, `weftResp`, `weftHttp`),
 * evaluated in Vercel's edge-runtime VM, which has Web APIs and no `process`,
 * no `require`, no `Buffer` and no code generation from strings. The
 * scenarios in _in_vm.ts run there (codecs, framed(), memoryPipe with
 * backpressure and half-close, pipeline and multiplex dispatch, serve() and
 * pool(), timeout and retry, RESP, HTTP) and assert inside the VM; each
 * reports a JSON outcome. A fetch event dispatched into the VM is answered by
 * weft's HTTP client and server over a memory listener.
 *
 * Each bundle carries its own copy of the core, as three script tags would:
 * the scenarios pass objects between them (a memoryListener of `weft` to
 * `weftHttp.serveHttp`), which only works because the layers meet through
 * interfaces, not classes.
 *
 * edge-runtime is a Node library: this runs once per `npm test` (on the first
 * runtime, WEFT_PRIMARY=1).
 */
import { fileURLToPath } from "node:url";
import * as assert from "uvu/assert";
import { suite } from "uvu";

if (process.env.WEFT_PRIMARY === "1") {
  const { build } = await import("esbuild");
  const { EdgeRuntime } = await import("edge-runtime");
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const test = suite("edge: the core in the edge-runtime VM");

  /** Each scenario, and dispatchFetch, must settle within this. */
  const SCENARIO_TIMEOUT_MS = 20_000;

  const entries = [
    { entry: "mod.ts", globalName: "weft" },
    { entry: "src/protocols/resp/mod.ts", globalName: "weftResp" },
    { entry: "src/protocols/http/mod.ts", globalName: "weftHttp" },
  ];

  async function bundle(entry: string, globalName?: string): Promise<{ code: string; inputs: string[] }> {
    const result = await build({
      absWorkingDir: root,
      entryPoints: [entry],
      bundle: true,
      format: "iife",
      ...(globalName ? { globalName } : {}),
      platform: "neutral", // no Node built-ins resolve: an import of one fails the build
      target: "es2022",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    assert.equal(result.warnings.map((w) => w.text), [], `${entry}: esbuild warnings`);
    return { code: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs) };
  }

  function withTimeout<T>(what: string, promise: PromiseLike<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer from the VM within ${SCENARIO_TIMEOUT_MS} ms`)), SCENARIO_TIMEOUT_MS);
    });
    return Promise.race([Promise.resolve(promise), timeout]).finally(() => clearTimeout(timer));
  }

  /** The scenarios of _in_vm.ts that must pass as they are, and what each covers. */
  const scenarioTests = [
    ["codecs", "lines, lengthDelimited, varintDelimited, jsonLines through EncoderStream/DecoderStream, every split"],
    ["framed", "framed() both ways, and parts() with the undecoded bytes"],
    ["memoryPipe", "memoryPipe: backpressure bounds the bytes in flight, half-close, reset"],
    ["pipeline", "pipelineServer + pipelineClient: in order, an abort keeps the connection in sync"],
    ["multiplex", "multiplexServer + multiplexClient: out of order, each reply to its call"],
    ["streaming", "streamingServer + streamingClient: bodies streamed both ways, pipeline and multiplex"],
    ["serve", "serve() over memoryListener with pool(), graceful shutdown; the handler form"],
    ["middleware", "timeout() and retry() around a service"],
    ["resp", "weft/resp: codecs both ways; respServer(respStore()) and respClient over memoryListener"],
    ["http", "weft/http: serveHttp answering raw and pipelined HTTP/1.1; httpClient"],
  ] as const;
  /** The others: the environment, and the known gaps pinned below. */
  const otherScenarios = ["environment", "httpClientSignal", "httpLazyRequests"];

  const bundles: { entry: string; globalName: string; code: string; inputs: string[] }[] = [];
  let runtime: InstanceType<typeof EdgeRuntime> | undefined;
  let names: string[] = [];

  test("mod.ts, weft/resp and weft/http bundle for a neutral platform, with no Node import", async () => {
    for (const { entry, globalName } of entries) {
      const { code, inputs } = await bundle(entry, globalName);
      bundles.push({ entry, globalName, code, inputs });
      assert.not.match(code, "require(", `${entry}: the bundle calls require()`);
      assert.not.match(code, "node:", `${entry}: the bundle names a node: module`);
      assert.not.match(code, /\b(process|Buffer|Deno|Bun)\s*\./, `${entry}: the bundle uses a runtime namespace`);
      assert.not.match(code, /\bimport\s*\(|^\s*import\s/m, `${entry}: the bundle imports something`);
      assert.ok(inputs.every((p) => p === "mod.ts" || p.startsWith("src/")), `${entry}: inputs outside src/: ${inputs.filter((p) => !p.startsWith("src/"))}`);
    }
  });

  test("the bundles and the scenarios evaluate in the edge-runtime VM", async () => {
    const scenarios = await bundle("tests/edge/_in_vm.ts");
    assert.equal(scenarios.inputs, ["tests/edge/_in_vm.ts"], "the scenarios bring no copy of the core: they use the bundles' globals");
    runtime = new EdgeRuntime();
    for (const b of bundles) {
      runtime.evaluate(b.code);
      assert.is(runtime.evaluate(`typeof ${b.globalName}`), "object", `${b.globalName} defined in the VM`);
    }
    runtime.evaluate(scenarios.code);
    names = JSON.parse(runtime.evaluate<string>("JSON.stringify(__weftEdge.names)")) as string[];
    const expected = [...scenarioTests.map(([name]) => name as string), ...otherScenarios];
    assert.equal([...names].sort(), expected.sort(), "every scenario in the VM has its test here");
  });

  async function run(name: string): Promise<Record<string, unknown>> {
    assert.ok(runtime, "the VM is set up");
    const json = await withTimeout(name, runtime.evaluate<Promise<string>>(`__weftEdge.run(${JSON.stringify(name)})`));
    const outcome = JSON.parse(json) as { ok: boolean; detail?: Record<string, unknown>; error?: string };
    if (!outcome.ok) assert.unreachable(`inside the VM, ${name}: ${outcome.error}`);
    return outcome.detail ?? {};
  }

  test("inside the VM: no process, require, Buffer, Deno or Bun, and no eval", async () => {
    const env = await run("environment");
    // edge-runtime 4 exposes no `process` at all (not even a partial one).
    for (const name of ["process", "require", "module", "Buffer", "global", "setImmediate", "Deno", "Bun"]) {
      assert.is(env[name], "undefined", `typeof ${name} in the VM`);
    }
    assert.is(env.EdgeRuntime, "edge-runtime");
    assert.is(env.evalBlocked, true, "code generation from strings is off");
    assert.is(env.setTimeoutReturns, "number", "the VM's setTimeout returns a number, as in browsers");
    assert.equal(env.bundles, ["function", "function", "function"]);
  });

  for (const [name, what] of scenarioTests) {
    test(`inside the VM: ${what}`, async () => {
      const detail = await run(name);
      if (name === "memoryPipe") {
        const { acceptedWhileStalled, bound, total } = detail as Record<string, number>;
        assert.ok(acceptedWhileStalled! <= bound!, `bounded: ${acceptedWhileStalled} bytes taken with nobody reading`);
        assert.is(total, 1024 * 1024);
      }
      if (name === "multiplex") assert.equal(detail.order, [5, 4, 3, 2, 1, 0]);
    });
  }

  // Found here first: edge-runtime 4's AbortSignal has no any(), and its Request is a subclass of undici's.

  test("httpClient.call() with a caller's signal (as timeout() and retry() pass) works without AbortSignal.any()", async () => {
    const detail = await run("httpClientSignal");
    assert.is(detail.abortSignalAny, "undefined", "edge-runtime 4's AbortSignal has no any()");
    assert.is(detail.callWithoutSignal, "ok: ok /d");
    assert.is(detail.fetchWithSignal, "ok: ok /c");
    assert.is(detail.callWithSignal, "ok: ok /a");
    assert.is(detail.underTimeout, "ok: ok /b");
  });

  test("serveHttp({ lazyRequests: true }) reads a body where Request is a subclass", async () => {
    const detail = await run("httpLazyRequests");
    assert.equal(detail.requestPrototypeOwns, ["constructor"], "edge-runtime's Request extends undici's: its own prototype holds only constructor");
    assert.is(detail.headOnly, "200 PUT /head 1 false", "url, method, headers and signal come from the head");
    assert.is(detail.readingTheBody, "200 PUT /body 1 false body");
    assert.equal(detail.errors, []);
  });

  test("a fetch event dispatched into the VM is answered by weft/http's client and server", async () => {
    assert.ok(runtime, "the VM is set up");
    const response = await withTimeout(
      "dispatchFetch",
      runtime.dispatchFetch("http://edge.test/path?q=1", { method: "POST", body: "payload", headers: { "x-from": "host" } }),
    );
    assert.is(response.status, 200);
    assert.is(response.headers.get("x-served-by"), "weft/http in edge-runtime");
    assert.is(await response.text(), "POST /path host payload");
    await withTimeout("waitUntil", response.waitUntil());
  });

  test("the VM's fetch server shuts down with no connection left", async () => {
    assert.ok(runtime, "the VM is set up");
    assert.is(await withTimeout("close", runtime.evaluate<Promise<number>>("__weftEdge.close()")), 0);
  });

  test.run();
}
