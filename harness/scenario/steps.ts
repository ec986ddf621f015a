// The step timeline of one scenario run: every wait in bootlab happens inside a named step, and each step
// records its id, the step it runs in, the board it acts on, when it started and ended and how it ended.
// Failures leaving a step get its name, id and board attached. This is the scenario layer's implementation
// of the StepRecorder the lower layers record through (harness/timeline/recorder.ts).

import { AsyncLocalStorage } from "node:async_hooks";
import { asFailure, type FailureKind, StepTimeout } from "../errors/failures.ts";
import type { StepOptions, StepRecorder } from "../timeline/recorder.ts";
import type { StepRecord } from "../timeline/model.ts";

export type { StepRecord };

/** The chain of steps an async context runs in, innermost first. */
interface Nest {
  rec: StepRecord;
  up: Nest | undefined;
}

export class Steps implements StepRecorder {
  readonly records: StepRecord[] = [];
  readonly t0: number;
  /**
   * The step the current async context runs in: steps run side by side (two boards booting at once) each
   * see their own parent, so records never interleave.
   */
  #inside = new AsyncLocalStorage<Nest>();
  #nextId = 1;
  #onChange: ((r: StepRecord) => void) | undefined;

  constructor(t0 = performance.now(), onChange?: (r: StepRecord) => void) {
    this.t0 = t0;
    this.#onChange = onChange;
  }

  now(): number {
    return performance.now() - this.t0;
  }

  /**
   * The step to blame for something that happened now: inside a step, the innermost running step of the
   * caller's own async context; outside any (the scenario's deadline), the running step that started last
   * among those with nothing running inside them — optionally only `board`'s.
   */
  currentRecord(board?: string): StepRecord | undefined {
    for (let n = this.#inside.getStore(); n; n = n.up) {
      if (n.rec.status === "running" && (board === undefined || n.rec.board === board)) return n.rec;
    }
    const running = this.records.filter((r) => r.status === "running");
    const parents = new Set(running.map((r) => r.parent));
    return running.filter((r) => !parents.has(r.id) && (board === undefined || r.board === board)).at(-1);
  }

  /** The name of the step currentRecord() finds. */
  current(board?: string): string | undefined {
    return this.currentRecord(board)?.name;
  }

  /** Runs `fn` as a named step; with a deadline, the step fails with StepTimeout when it passes. */
  async run<T>(name: string, fn: () => Promise<T>, opts: StepOptions = {}): Promise<T> {
    const nest = this.#inside.getStore();
    const parent = nest?.rec;
    const board = opts.board ?? parent?.board;
    const rec: StepRecord = {
      id: this.#nextId++,
      ...(parent ? { parent: parent.id } : {}),
      ...(board !== undefined ? { board } : {}),
      name, depth: parent ? parent.depth + 1 : 0, startMs: this.now(), status: "running",
    };
    this.records.push(rec);
    this.#onChange?.(rec);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const work = this.#inside.run({ rec, up: nest }, fn);
      const result = opts.timeoutMs === undefined ? await work : await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new StepTimeout(`step "${name}" did not finish within ${(opts.timeoutMs! / 1000).toFixed(1)} s`, {
            step: name,
          })), opts.timeoutMs);
        }),
      ]);
      if (!rec.cutShort) rec.status = "passed";
      return result;
    } catch (e) {
      // The innermost step names the failure: outer steps add nothing the inner one set.
      const f = asFailure(e).withContext({ step: name, stepId: rec.id, ...(board !== undefined ? { board } : {}) });
      if (!rec.cutShort) {
        rec.status = "failed";
        rec.failure = { kind: f.kind, message: f.message };
      }
      throw f;
    } finally {
      clearTimeout(timer);
      // A step the run's end already cut short keeps that end: what it does while the lab shuts down is not its story.
      if (!rec.cutShort) {
        rec.endMs = this.now();
        this.#onChange?.(rec);
      }
    }
  }

  /**
   * Ends every step still running as failed with `failure`: what a run's end cuts short (the scenario's
   * deadline, a failure raised outside the step or in a step beside it) did not pass, and the timeline
   * must not say "running". They are marked cut short, so the step that failed by itself stays the one.
   */
  cutShort(failure: { kind: FailureKind; message: string }): void {
    const now = this.now();
    for (const r of this.records) {
      if (r.status !== "running") continue;
      r.status = "failed";
      r.failure = failure;
      r.endMs = now;
      r.cutShort = true;
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
