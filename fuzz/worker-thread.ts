// Starts an area's worker under either runtime. Deno runs TypeScript workers as they are. Node's workers do
// not inherit the parent's `--import tsx` hooks (Node 20), so the worker first registers tsx, then loads.

import { Worker } from "node:worker_threads";
import type { WorkerJob } from "./worker-protocol.ts";

const WORKER = new URL("./worker.ts", import.meta.url).href;

/** Old space a Node worker may use before it dies with ERR_WORKER_OUT_OF_MEMORY (a leak found, not the host's swap). */
const WORKER_HEAP_MB = 2048;

export function startWorker(job: WorkerJob): Worker {
  if ("Deno" in globalThis) return new Worker(new URL(WORKER), { workerData: job });
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(WORKER)}); })`;
  return new Worker(boot, { eval: true, workerData: job, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
}
