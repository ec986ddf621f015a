// What the runner tells an area's worker, and what the worker reports back.

export interface WorkerJob {
  area: string;
  /** URL of the module whose `AREAS` holds the area (the shipped areas, or the runner's self-checks). */
  registry: string;
  seed: number;
  /** Number of the first input to make (a restarted worker carries on after the input that hung). */
  first: number;
  /** Number one past the last input to make. */
  end: number;
  /** Stop making inputs after this much fuzzing time (loading not counted), whatever `end` says. */
  budgetMs: number;
  /** Inputs kept by earlier workers of this area for reaching new outcomes. */
  kept: Uint8Array[];
  /** Instead of making inputs: run exactly these (saved cases). */
  replay?: Uint8Array[];
  heartbeat: SharedArrayBuffer;
  /** How often to sample the heap. */
  sampleMs: number;
}

export interface CrashReport {
  index: number;
  input: Uint8Array;
  /** "TypeError: Cannot read properties of null (reading 'x')". */
  error: string;
  stack: string;
}

export type WorkerMessage =
  | { type: "ready"; corpus: number }
  | { type: "crash"; crash: CrashReport }
  | { type: "kept"; input: Uint8Array }
  | { type: "heap"; inputs: number; bytes: number }
  | { type: "stats"; inputs: number; fuzzingMs: number; slowestMs: number; slowestIndex: number; outcomes: Record<string, number> }
  | { type: "done" };
