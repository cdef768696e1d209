/**
 * Measures the cost of a call through weft's middleware on the runtime it is
 * started with: an async function called directly, the same function as a
 * service behind each layer alone, and behind the five-layer stack (timeout,
 * concurrencyLimit, retry, circuitBreaker, observe). Alternating rounds; prints
 * one JSON line: {"runtime","results":{variant:[ns per call, ...]}}.
 *
 *   <runtime> bench/service_worker.ts [--rounds=7] [--calls=200000]
 */
import {
  circuitBreaker,
  concurrencyLimit,
  type Middleware,
  observe,
  retry,
  type Service,
  serviceFn,
  stack,
  timeout,
} from "../mod.ts";
import { alternate } from "./_stats.ts";
import { arg, runtime, version } from "./_worker.ts";
const rounds = Number(arg("rounds", "7"));
const calls = Number(arg("calls", "200000"));

// The work itself: an async function, as a handler would be.
const fn = async (n: number) => n + 1;
let latencySum = 0; // what observe() feeds, so its hook does real work

const layers: Record<string, Middleware> = {
  timeout: timeout({ ms: 10_000 }),
  concurrencyLimit: concurrencyLimit({ max: 1000 }),
  retry: retry(),
  circuitBreaker: circuitBreaker(),
  observe: observe({ onResponse: (_res, { durationMs }) => void (latencySum += durationMs) }),
};
const five = stack(layers.timeout!, layers.concurrencyLimit!, layers.retry!, layers.circuitBreaker!, layers.observe!);

/** Nanoseconds per call of `call`, awaited one after another. */
async function time(call: (n: number) => Promise<number>): Promise<number> {
  let check = 0;
  const start = performance.now();
  for (let i = 0; i < calls; i++) check += await call(i);
  const ns = ((performance.now() - start) * 1e6) / calls;
  if (check !== (calls * (calls + 1)) / 2) throw new Error("wrong results");
  return ns;
}

const viaService = (svc: Service<number, number>) => (n: number) => svc.call(n);
const variants: Record<string, () => Promise<number>> = {
  direct: () => time(fn),
  five: () => time(viaService(five(serviceFn(fn)))),
};
for (const [name, layer] of Object.entries(layers)) variants[name] = () => time(viaService(layer(serviceFn(fn))));
variants.serviceFn = () => time(viaService(serviceFn(fn)));

for (const v of Object.values(variants)) await v(); // warm-up: the JIT sees every path
const results = await alternate(rounds, variants, (name, round, value) => {
  process.stderr.write(`  ${runtime} ${name} #${round + 1}: ${value.toFixed(0)} ns/call\n`);
});
console.log(JSON.stringify({ runtime: `${runtime} ${version}`, results, latencySum: latencySum > 0 }));
process.exit(0);
