// Runs areas one after another (one CPU-heavy thread at a time), each in a worker watched through shared
// memory: an input that runs longer than `hangMs` is a hang — the worker is killed, the input kept, and a new
// worker carries on with the next input. Crashes are grouped by what threw where; the first input of each
// group is saved as a test case. Heap samples are judged for growth.

import { fileURLToPath } from "node:url";
import type { Worker } from "node:worker_threads";
import { saveCase } from "./cases.ts";
import { Heartbeat } from "./heartbeat.ts";
import { DEFAULT_GROWTH_LIMIT_MB, type HeapSample, type HeapVerdict, judgeHeap } from "./heap.ts";
import type { CrashReport, WorkerJob, WorkerMessage } from "./worker-protocol.ts";
import { startWorker } from "./worker-thread.ts";

export const AREAS_MODULE = new URL("./areas/index.ts", import.meta.url).href;
/** Stacks in saved notes name files from the project's root, the same on every machine. */
const PROJECT_ROOT = fileURLToPath(new URL("../", import.meta.url));

export interface FuzzOptions {
  /** Inputs per area (Infinity: until `seconds`). */
  inputs: number;
  /** Fuzzing time per area, in seconds (loading not counted). */
  seconds?: number;
  seed: number;
  /** An input running longer than this is a hang. Default 5000 ms. */
  hangMs?: number;
  /** Heap sampling interval. Default 200 ms. */
  sampleMs?: number;
  /** Heap growth over this many MiB, steadily, is a leak. Default 32. */
  growthLimitMb?: number;
  /** Module holding the areas (`AREAS`). Default fuzz/areas/index.ts. */
  registry?: string;
  /** Where crashing and hanging inputs are saved; nothing is saved without it. */
  saveDir?: string;
  /** Progress lines (a worker restarted after a hang, a new crash). */
  log?: (line: string) => void;
  /** Instead of making inputs: run these (saved cases); `inputs` and `seconds` are ignored. */
  replay?: Uint8Array[];
}

export interface Finding {
  kind: "crash" | "hang";
  area: string;
  /** The input's number: with the seed, it makes the same input again. */
  index: number;
  input: Uint8Array;
  error: string;
  stack: string;
  /** Inputs that failed the same way. */
  count: number;
  saved?: string;
}

export interface AreaResult {
  area: string;
  inputs: number;
  fuzzingMs: number;
  crashes: number;
  hangs: number;
  /** One per distinct failure, first input first. */
  findings: Finding[];
  /** Outcome (kind:detail, numbers folded) → inputs. */
  outcomes: Record<string, number>;
  heap: HeapVerdict;
  slowestMs: number;
  slowestIndex: number;
  /** Seeds plus inputs kept for reaching new outcomes. */
  corpus: number;
  workers: number;
}

const LOAD_MS = 120_000;
/** Workers killed or dead before an area is given up: a target that hangs on everything is reported, not run forever. */
const MAX_RESTARTS = 20;

/** Folds what changes from input to input (numbers, quoted values) out of an error, keeping where it was thrown. */
export function signature(error: string, stack: string): string {
  const where = stack.split("\n").find((l) => /^\s+at /.test(l) && !l.includes("/fuzz/"))?.trim().replace(/:\d+:\d+\)?$/, "") ?? "";
  return `${error.replace(/"[^"]*"|'[^']*'|\d+/g, "#").slice(0, 160)} ${where}`;
}

interface Incarnation {
  /** Inputs finished by this worker. */
  inputs: number;
  /** Time from the first input to the end, as the watchdog saw it (the worker's own figure is in its stats). */
  fuzzingMs: number;
  /** Whether it got as far as making inputs. */
  started: boolean;
  end: "done" | "hang" | "died";
  /** The input that hung or was running when the worker died. */
  input?: Uint8Array;
  why?: string;
}

export async function fuzzArea(area: string, o: FuzzOptions): Promise<AreaResult> {
  const hangMs = o.hangMs ?? 5000;
  const log = o.log ?? (() => {});
  const end = o.replay ? o.replay.length : Number.isFinite(o.inputs) ? o.inputs : Number.MAX_SAFE_INTEGER;
  const budgetMs = o.seconds !== undefined && !o.replay ? o.seconds * 1000 : Number.MAX_SAFE_INTEGER;
  const result: AreaResult = {
    area, inputs: 0, fuzzingMs: 0, crashes: 0, hangs: 0, findings: [], outcomes: {}, heap: judgeHeap([]), slowestMs: 0, slowestIndex: -1, corpus: 0, workers: 0,
  };
  const bySignature = new Map<string, Finding>();
  const kept: Uint8Array[] = [];
  const heaps: HeapSample[][] = [];

  const found = (kind: Finding["kind"], c: CrashReport) => {
    if (kind === "crash") result.crashes++;
    else result.hangs++;
    const sig = kind === "hang" ? `hang` : signature(c.error, c.stack);
    const known = bySignature.get(sig);
    if (known) return void known.count++;
    const f: Finding = { kind, area, index: c.index, input: c.input, error: c.error, stack: c.stack, count: 1 };
    if (o.saveDir && c.index >= 0) {
      const stack = c.stack.replaceAll(PROJECT_ROOT, "");
      const note = [`${kind} in fuzz area ${area}: ${c.error}`, `found as input ${c.index} of \`npm run fuzz -- --seed ${o.seed} --area ${area}\``, "", stack].join("\n");
      f.saved = saveCase(o.saveDir, area, c.input, note);
    }
    bySignature.set(sig, f);
    result.findings.push(f);
    log(`${area}: ${kind} at input ${c.index}: ${c.error}${f.saved ? ` (saved ${f.saved})` : ""}`);
  };

  let first = 0;
  while (first < end && result.fuzzingMs < budgetMs && result.workers <= MAX_RESTARTS) {
    const samples: HeapSample[] = [];
    heaps.push(samples);
    let stats: Extract<WorkerMessage, { type: "stats" }> | undefined;
    const job: Omit<WorkerJob, "heartbeat"> = {
      area, registry: o.registry ?? AREAS_MODULE, seed: o.seed, first, end, budgetMs: budgetMs - result.fuzzingMs, kept: [...kept], sampleMs: o.sampleMs ?? 200,
      ...(o.replay ? { replay: o.replay.slice(first) } : {}),
    };
    const inc = await runWorker(job, hangMs, (m) => {
      if (m.type === "crash") found("crash", m.crash);
      else if (m.type === "kept") kept.push(m.input);
      else if (m.type === "heap") samples.push({ inputs: m.inputs, bytes: m.bytes });
      else if (m.type === "stats") stats = m;
      else if (m.type === "ready" && result.workers === 0) result.corpus = m.corpus;
    });
    result.workers++;
    result.inputs += inc.inputs;
    result.fuzzingMs += inc.end === "done" && stats ? stats.fuzzingMs : inc.fuzzingMs;
    if (stats) {
      for (const [k, v] of Object.entries(stats.outcomes)) result.outcomes[k] = (result.outcomes[k] ?? 0) + v;
      if (stats.slowestMs > result.slowestMs) (result.slowestMs = stats.slowestMs), (result.slowestIndex = stats.slowestIndex);
    }
    if (inc.end === "done") break;
    const index = first + inc.inputs;
    const report = { index, input: inc.input ?? new Uint8Array(0), error: inc.why ?? "", stack: "" };
    if (inc.end === "hang") found("hang", report);
    else found("crash", report);
    if (!inc.started) break;
    // Inputs the killed worker finished after its last stats message are counted; the one that hung is too.
    result.inputs++;
    first = index + 1;
    log(`${area}: worker ${inc.end === "hang" ? "killed after a hang" : "died"}; carrying on from input ${first}`);
  }
  result.corpus += kept.length;
  const longest = heaps.reduce((a, b) => (b.length > a.length ? b : a), [] as HeapSample[]);
  result.heap = judgeHeap(longest, o.growthLimitMb ?? DEFAULT_GROWTH_LIMIT_MB);
  return result;
}

function runWorker(job: Omit<WorkerJob, "heartbeat">, hangMs: number, onMessage: (m: WorkerMessage) => void): Promise<Incarnation> {
  const hb = new Heartbeat();
  const worker: Worker = startWorker({ ...job, heartbeat: hb.buffer });
  return new Promise((resolve) => {
    let settled = false;
    let lastCount = 0;
    let lastChange = Date.now();
    const started = Date.now();
    let fuzzingSince: number | undefined;
    const finish = (o: Omit<Incarnation, "fuzzingMs" | "started">) => {
      if (settled) return;
      const inc = { ...o, fuzzingMs: fuzzingSince === undefined ? 0 : Date.now() - fuzzingSince, started: fuzzingSince !== undefined || hb.phase !== "loading" };
      settled = true;
      clearInterval(watchdog);
      void worker.terminate().then(() => resolve(inc), () => resolve(inc));
    };
    const watchdog = setInterval(() => {
      const now = Date.now();
      const count = hb.count;
      if (count !== lastCount) (lastCount = count), (lastChange = now);
      const phase = hb.phase;
      if (phase !== "loading") fuzzingSince ??= now;
      if (phase === "loading" && now - started > LOAD_MS) {
        finish({ inputs: count, end: "died", why: `the worker did not start within ${LOAD_MS / 1000} s` });
      } else if (phase === "fuzzing" && hb.running && now - lastChange > hangMs) {
        finish({ inputs: count, end: "hang", input: hb.current(), why: `no result within ${hangMs} ms` });
      }
    }, 50);
    worker.on("message", (m: WorkerMessage) => {
      onMessage(m);
      if (m.type === "done") finish({ inputs: hb.count, end: "done" });
    });
    worker.on("error", (e: Error) => {
      finish({ inputs: hb.count, end: "died", input: hb.current(), why: `the worker died: ${e.name}: ${e.message}` });
    });
    worker.on("exit", (code: number) => {
      finish({ inputs: hb.count, end: "died", input: hb.current(), why: `the worker exited with code ${code}` });
    });
  });
}
