// One area's fuzzing loop, in a worker thread of its own so that the runner can kill it when an input hangs.
// Each input is made from (seed, area, number), shown to the watchdog, run, and classified; a new outcome
// keeps its input for later mutations; the heap is sampled after a collection every `sampleMs`.

import { parentPort, workerData } from "node:worker_threads";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Area, AreaFactory } from "./area.ts";
import { Heartbeat } from "./heartbeat.ts";
import { InputMaker } from "./mutate.ts";
import { inputSeed, Rng } from "./prng.ts";
import type { WorkerJob, WorkerMessage } from "./worker-protocol.ts";

const MAX_KEPT = 512;
/** Kept inputs are copied to the runner and to every restarted worker: a bound on their bytes, not only their number. */
const MAX_KEPT_BYTES = 32 * 1024 * 1024;
const MAX_OUTCOMES = 2000;
const STATS_MS = 1000;

const job = workerData as WorkerJob;
const post = (m: WorkerMessage) => parentPort!.postMessage(m);

/** The isolate's heap plus what its objects hold outside it (ArrayBuffer contents: the bytes of every input). */
function heapBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/**
 * A full collection before each heap sample, so samples show what is kept, not what is garbage. The "regular"
 * flavour: plain gc() is V8's last-resort collection, which also throws away compiled code and halves the rate.
 */
function collector(): (() => void) | undefined {
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as unknown;
    return typeof gc === "function" ? () => (gc as (o: object) => void)({ type: "major", execution: "sync", flavor: "regular" }) : undefined;
  } catch {
    return undefined;
  }
}

/** Outcome details with numbers folded, so "option 53 says 9 bytes" and "… 7 bytes" count as one. */
export function foldOutcome(o: string): string {
  return o.replace(/0x[0-9a-f]+/gi, "#").replace(/\d+/g, "#").slice(0, 100);
}

function describe(e: unknown): { error: string; stack: string } {
  if (e instanceof Error) return { error: `${e.name}: ${e.message}`, stack: e.stack ?? "" };
  return { error: `thrown ${typeof e}: ${String(e)}`, stack: "" };
}

// Errors that escape an input (a rejected promise nobody awaited, a throw in a callback) belong to the input
// that was running: the areas await their own work before returning, so such an error fires before the next.
const escaped: unknown[] = [];
process.on("unhandledRejection", (e) => escaped.push(e));
process.on("uncaughtException", (e) => escaped.push(e));

async function main(): Promise<void> {
  const heartbeat = new Heartbeat(job.heartbeat);
  heartbeat.setPhase("loading");
  const registry = (await import(job.registry)) as { AREAS: Record<string, AreaFactory> };
  const factory = registry.AREAS[job.area];
  if (!factory) throw new Error(`no fuzz area "${job.area}" in ${job.registry}`);
  const area: Area = await factory();
  const corpus = [...area.corpus(), ...job.kept];
  let keptBytes = job.kept.reduce((n, k) => n + k.length, 0);
  if (corpus.length === 0) throw new Error(`fuzz area ${area.name} has an empty corpus`);
  const maker = new InputMaker(area);
  const outcomes = new Map<string, number>();
  const gc = collector();
  post({ type: "ready", corpus: corpus.length });
  heartbeat.setPhase("fuzzing");

  const started = performance.now();
  let lastSample = -Infinity;
  let lastStats = started;
  let done = 0;
  let slowestMs = 0;
  let slowestIndex = -1;
  const stats = () => post({ type: "stats", inputs: done, fuzzingMs: performance.now() - started, slowestMs, slowestIndex, outcomes: Object.fromEntries(outcomes) });
  // A replay's inputs are numbered from `first` too: a worker restarted after a hang gets the rest of them.
  const end = job.replay ? job.first + job.replay.length : job.end;

  for (let i = job.first; i < end; i++) {
    const now = performance.now();
    if (now - started >= job.budgetMs && !job.replay) break;
    if (now - lastSample >= job.sampleMs) {
      gc?.();
      post({ type: "heap", inputs: done, bytes: heapBytes() });
      lastSample = performance.now();
    }
    if (now - lastStats >= STATS_MS) (stats(), (lastStats = now));

    const input = job.replay ? job.replay[i - job.first]! : maker.make(new Rng(inputSeed(job.seed, area.name, i)), corpus);
    heartbeat.begin(input);
    const t0 = performance.now();
    let outcome: string;
    try {
      const r = area.run(input);
      outcome = typeof r === "string" ? r : await r;
      if (escaped.length) throw escaped.splice(0)[0];
    } catch (e) {
      escaped.length = 0;
      outcome = "crash";
      post({ type: "crash", crash: { index: i, input: input.slice(), ...describe(e) } });
    }
    const ms = performance.now() - t0;
    if (ms > slowestMs) (slowestMs = ms), (slowestIndex = i);
    heartbeat.end();
    done++;

    const key = foldOutcome(outcome);
    const seen = outcomes.get(key);
    if (seen !== undefined) outcomes.set(key, seen + 1);
    else if (outcomes.size < MAX_OUTCOMES) {
      outcomes.set(key, 1);
      if (corpus.length < MAX_KEPT && keptBytes + input.length <= MAX_KEPT_BYTES && outcome !== "crash" && !job.replay) {
        keptBytes += input.length;
        corpus.push(input);
        post({ type: "kept", input });
      }
    } else outcomes.set("(other)", (outcomes.get("(other)") ?? 0) + 1);
  }
  gc?.();
  post({ type: "heap", inputs: done, bytes: heapBytes() });
  stats();
  heartbeat.setPhase("finished");
  await area.close?.();
  post({ type: "done" });
}

// The runner terminates the worker after "done": a handle an area left open must not keep it alive.
main().catch((e) => {
  const d = describe(e);
  post({ type: "crash", crash: { index: -1, input: new Uint8Array(0), error: `the area failed: ${d.error}`, stack: d.stack } });
  post({ type: "done" });
});
