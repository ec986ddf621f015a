// Watches bootlab's own event loop. Every console, every QMP socket and the whole lab LAN of a run are served
// by this one loop (with --jobs 2, two pairs' boards share it): while something in the process computes
// synchronously, frames and console bytes wait in their sockets, and a board can see a timeout the product
// did not cause. A stall is noted in the run log, so that such a failure is read as bootlab's.

/** Decides stalls from the times a periodic tick actually ran (pure: times in, stalls out). */
export class LoopStalls {
  readonly intervalMs: number;
  readonly thresholdMs: number;
  #last: number | undefined;

  constructor(o: { intervalMs: number; thresholdMs: number }) {
    this.intervalMs = o.intervalMs;
    this.thresholdMs = o.thresholdMs;
  }

  /** A tick ran at `nowMs`: how long the loop was held past the tick's due time, if that is a stall. */
  tick(nowMs: number): number | undefined {
    const last = this.#last;
    this.#last = nowMs;
    if (last === undefined) return undefined;
    const late = nowMs - last - this.intervalMs;
    return late >= this.thresholdMs ? late : undefined;
  }
}

/**
 * Calls `onStall(heldMs, endedAt)` (endedAt: performance.now() when the loop ran again) whenever the event
 * loop was held at least `thresholdMs`. The timer does not keep the process alive. The returned function
 * stops it (give it to the run's Owner), reporting first a stall that ended just now: a run whose last step
 * held the loop reaches its end without the timer getting another turn.
 */
export function watchEventLoop(onStall: (heldMs: number, endedAt: number) => void, o: { intervalMs?: number; thresholdMs?: number } = {}): () => void {
  const stalls = new LoopStalls({ intervalMs: o.intervalMs ?? 20, thresholdMs: o.thresholdMs ?? 250 });
  const check = () => {
    const now = performance.now();
    const held = stalls.tick(now);
    if (held !== undefined) onStall(held, now);
  };
  check();
  const timer = setInterval(check, stalls.intervalMs);
  // Node's timer would keep the process alive; Deno's (a number) has no unref. The owner stops it either way.
  (timer as { unref?: () => void }).unref?.();
  return () => {
    check();
    clearInterval(timer);
  };
}
