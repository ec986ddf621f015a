// How the lower layers (consoles, boards, the lab) record the steps they run, without knowing who keeps
// the timeline: the scenario layer implements this interface, and nothing here imports anything.

export interface StepOptions {
  /** The step fails with a timeout when this passes. */
  timeoutMs?: number;
  /**
   * The board the step acts on. Unset, a step belongs to the board of the step it runs in (or to none:
   * a scenario's own step, a fixture being built).
   */
  board?: string;
}

export interface StepRecorder {
  /** Runs `fn` as a named step, nested in whatever step the caller runs in. */
  run<T>(name: string, fn: () => Promise<T>, opts?: StepOptions): Promise<T>;
  /** Milliseconds since the run began: the one time axis every record of a run is on. */
  now(): number;
}

/** A recorder whose steps belong to `board` unless they name another: what a board hands its consoles. */
export function onBoard(recorder: StepRecorder, board: string): StepRecorder {
  return {
    run: (name, fn, opts) => recorder.run(name, fn, { board, ...opts }),
    now: () => recorder.now(),
  };
}
