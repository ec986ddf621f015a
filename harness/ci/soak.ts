// The soak's arithmetic: the per-pair results of N runs of a library (read from each run's timeline.json
// files, never from its printed text), per scenario × target × runtime — passes, failures by kind, the
// spread of durations — and which pairs are flaky (passed in one run, failed in another).

import { pairKey, type TimelineSummary } from "./shard.ts";

/** A pair that had no timeline.json after its run (the run died before it, or never reached it). */
export const NO_RESULT = "no result";

export interface SoakRun {
  /** 1-based iteration. */
  iteration: number;
  runtime: string;
  /** Every pair the run was to take (`bootlab run --list`), by pairKey. */
  expected: readonly string[];
  timelines: readonly TimelineSummary[];
  /** The run's exit status. */
  exitCode: number;
  wallMs: number;
}

export interface SoakRow {
  scenario: string;
  target: string;
  runtime: string;
  runs: number;
  passes: number;
  /** Failures by kind ("product", "timeout", …, or NO_RESULT). */
  failures: Record<string, number>;
  /** Durations of the runs that left a timeline, ms, in run order. */
  durationsMs: number[];
  /** Passed at least once and failed at least once. */
  flaky: boolean;
  /** One line per failure: iteration, kind, message. */
  failureNotes: string[];
}

/** Per scenario × target × runtime, in the order pairs were listed and runtimes run. */
export function soakRows(runs: readonly SoakRun[]): SoakRow[] {
  const rows = new Map<string, SoakRow>();
  for (const run of runs) {
    const byKey = new Map(run.timelines.map((t) => [pairKey(t.scenario, t.target), t]));
    for (const key of run.expected) {
      const [scenario, target] = key.split(" ") as [string, string];
      const id = `${key} ${run.runtime}`;
      const row = rows.get(id) ?? { scenario, target, runtime: run.runtime, runs: 0, passes: 0, failures: {}, durationsMs: [], flaky: false, failureNotes: [] };
      rows.set(id, row);
      row.runs++;
      const t = byKey.get(key);
      if (t) row.durationsMs.push(t.durationMs);
      if (t?.status === "passed") row.passes++;
      else {
        const kind = t ? t.failure?.kind ?? "product" : NO_RESULT;
        row.failures[kind] = (row.failures[kind] ?? 0) + 1;
        const message = t?.failure?.message.split("\n")[0] ?? `no timeline.json (the run exited ${run.exitCode})`;
        row.failureNotes.push(`run ${run.iteration}: ${kind}: ${message}`);
      }
    }
  }
  for (const row of rows.values()) row.flaky = row.passes > 0 && row.passes < row.runs;
  return [...rows.values()];
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Durations as "min / median / max s". */
export function spread(ms: readonly number[]): string {
  if (!ms.length) return "—";
  const s = (x: number) => (x / 1000).toFixed(1);
  return `${s(Math.min(...ms))} / ${s(median(ms))} / ${s(Math.max(...ms))} s`;
}

/** The soak's table: one line per row, failing rows followed by their failures. */
export function soakTable(rows: readonly SoakRow[]): string {
  const w = (k: (r: SoakRow) => string, min: number) => Math.max(min, ...rows.map((r) => k(r).length));
  const sw = w((r) => r.scenario, 8);
  const tw = w((r) => r.target, 6);
  const rw = w((r) => r.runtime, 7);
  const lines = [`  ${"scenario".padEnd(sw)}  ${"target".padEnd(tw)}  ${"runtime".padEnd(rw)}  passed  failures by kind        duration min / median / max`];
  for (const r of rows) {
    const mark = r.flaky ? "⚠" : r.passes === r.runs ? "✔" : "✘";
    const kinds = Object.entries(r.failures).map(([k, n]) => `${k} ${n}`).join(", ") || "—";
    lines.push(`${mark} ${r.scenario.padEnd(sw)}  ${r.target.padEnd(tw)}  ${r.runtime.padEnd(rw)}  ${`${r.passes}/${r.runs}`.padStart(6)}  ${kinds.padEnd(22)}  ${spread(r.durationsMs)}${r.flaky ? "  FLAKY" : ""}`);
    for (const n of r.failureNotes) lines.push(`      ${n}`);
  }
  return lines.join("\n") + "\n";
}

/**
 * The soak's exit status: 1 when any pair is flaky (it passed and failed: luck decided); else 3 when a pair
 * failed in every run (red, but repeatably: not a flake, still not a clean soak); else 0. (2: bad arguments.)
 */
export function soakExitCode(rows: readonly SoakRow[]): number {
  if (rows.some((r) => r.flaky)) return 1;
  if (rows.some((r) => r.passes < r.runs)) return 3;
  return 0;
}
