// The step timeline of one scenario run: every wait in bootlab happens inside a named step, and each step
// records when it started and ended and how it ended. Failures leaving a step get its name attached.

import { AsyncLocalStorage } from "node:async_hooks";
import { asFailure, type FailureKind, StepTimeout } from "../errors/failures.ts";

export interface StepRecord {
  name: string;
  /** Nesting depth: 0 for steps the scenario runs, 1+ for the steps inside them. */
  depth: number;
  startMs: number;
  endMs?: number;
  status: "running" | "passed" | "failed";
  failure?: { kind: FailureKind; message: string };
}

export class Steps {
  readonly records: StepRecord[] = [];
  readonly t0: number;
  /** The depth of the step the current async context runs in: steps run side by side nest correctly. */
  #depth = new AsyncLocalStorage<number>();
  #onChange: ((r: StepRecord) => void) | undefined;

  constructor(t0 = performance.now(), onChange?: (r: StepRecord) => void) {
    this.t0 = t0;
    this.#onChange = onChange;
  }

  /** The innermost step still running. */
  current(): string | undefined {
    for (let i = this.records.length - 1; i >= 0; i--) if (this.records[i]!.status === "running") return this.records[i]!.name;
    return undefined;
  }

  /** Runs `fn` as a named step; with a deadline, the step fails with StepTimeout when it passes. */
  async run<T>(name: string, fn: () => Promise<T>, opts: { timeoutMs?: number } = {}): Promise<T> {
    const depth = (this.#depth.getStore() ?? -1) + 1;
    const rec: StepRecord = { name, depth, startMs: performance.now() - this.t0, status: "running" };
    this.records.push(rec);
    this.#onChange?.(rec);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const work = this.#depth.run(depth, fn);
      const result = opts.timeoutMs === undefined ? await work : await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new StepTimeout(`step "${name}" did not finish within ${(opts.timeoutMs! / 1000).toFixed(1)} s`, {
            step: name,
          })), opts.timeoutMs);
        }),
      ]);
      rec.status = "passed";
      return result;
    } catch (e) {
      const f = asFailure(e).withContext({ step: name });
      rec.status = "failed";
      rec.failure = { kind: f.kind, message: f.message };
      throw f;
    } finally {
      clearTimeout(timer);
      rec.endMs = performance.now() - this.t0;
      this.#onChange?.(rec);
    }
  }

  /**
   * Ends every step still running as failed with `failure`: what a run's end cuts short (the scenario's
   * deadline, a failure raised outside the step) did not pass, and the timeline must not say "running".
   */
  cutShort(failure: { kind: FailureKind; message: string }): void {
    const now = performance.now() - this.t0;
    for (const r of this.records) {
      if (r.status !== "running") continue;
      r.status = "failed";
      r.failure = failure;
      r.endMs = now;
      this.#onChange?.(r);
    }
  }

  /** "power on 0.2 s · boot 3.1 s · ✘ shell 60.0 s" for the top-level steps, the failed ones marked. */
  summary(): string {
    return this.records
      .filter((r) => r.depth === 0 && r.endMs !== undefined)
      .map((r) => `${r.status === "failed" ? "✘ " : ""}${r.name} ${((r.endMs! - r.startMs) / 1000).toFixed(1)} s`)
      .join(" · ");
  }
}
