// A fake clock for code that arms real timers (the TFTP server's driver): while installed, setTimeout and
// clearTimeout keep timers in a list instead, and the fuzz input decides when the next one fires. Timers armed
// before installing, or by ids it never gave out, go to the real functions.

type Callback = () => void;

export class FakeTimers {
  now = 0;
  #timers = new Map<number, { at: number; fn: Callback }>();
  #next = 1;

  get pending(): number {
    return this.#timers.size;
  }

  /** Replaces the global timer functions; call the returned function to put them back. */
  install(): () => void {
    const g = globalThis as unknown as { setTimeout: unknown; clearTimeout: unknown };
    const realSet = g.setTimeout, realClear = g.clearTimeout as (id: unknown) => void;
    g.setTimeout = (fn: Callback, ms?: number) => {
      const id = this.#next++;
      this.#timers.set(id, { at: this.now + Math.max(0, ms ?? 0), fn });
      return id;
    };
    g.clearTimeout = (id: unknown) => {
      if (typeof id === "number" && this.#timers.delete(id)) return;
      if (id !== undefined) realClear(id);
    };
    return () => {
      g.setTimeout = realSet;
      g.clearTimeout = realClear;
    };
  }

  /** Fires the earliest timer, moving the clock to it; false when none is pending. */
  fireNext(): boolean {
    let first: [number, { at: number; fn: Callback }] | undefined;
    for (const e of this.#timers) if (!first || e[1].at < first[1].at) first = e;
    if (!first) return false;
    this.#timers.delete(first[0]);
    this.now = Math.max(this.now, first[1].at);
    first[1].fn();
    return true;
  }
}
