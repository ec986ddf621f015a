// Live progress of a run: on a terminal, one line per running scenario × target (its current step and how
// long the pair has run), redrawn in place under the results printed so far; in a log (CI), a plain line
// when a pair starts — nothing that needs a cursor.

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

interface Running {
  id: string;
  target: string;
  t0: number;
  step: string;
}

export class LiveProgress {
  readonly #out: ProgressStream;
  readonly #live: boolean;
  readonly #now: () => number;
  #running = new Map<string, Running>();
  #drawn = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(out: ProgressStream, o: { live?: boolean; now?: () => number } = {}) {
    this.#out = out;
    this.#live = o.live ?? !!out.isTTY;
    this.#now = o.now ?? (() => performance.now());
  }

  start(id: string, target: string): void {
    this.#running.set(`${id} ${target}`, { id, target, t0: this.#now(), step: "starting" });
    if (!this.#live) {
      this.#out.write(`▶ ${target.padEnd(13)} ${id}\n`);
      return;
    }
    // The clock moves even when no step does (a long boot): redraw twice a second while pairs run.
    this.#timer ??= setInterval(() => this.#redraw(), 500);
    (this.#timer as { unref?: () => void }).unref?.();
    this.#redraw();
  }

  /** A step of a running pair started: it is what that pair's line shows. */
  step(id: string, target: string, name: string): void {
    const r = this.#running.get(`${id} ${target}`);
    if (!r) return;
    r.step = name;
    if (this.#live) this.#redraw();
  }

  /** A pair ended: its result line goes above the live block, which is drawn again below it. */
  result(id: string, target: string, print: () => void): void {
    this.#running.delete(`${id} ${target}`);
    this.#clear();
    print();
    if (this.#live) this.#redraw();
    if (this.#running.size === 0) this.stop();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#clear();
  }

  /** The live block as it would be drawn now (one line per running pair). */
  lines(width = 120): string[] {
    return [...this.#running.values()].map((r) => {
      const secs = `${((this.#now() - r.t0) / 1000).toFixed(0)} s`.padStart(6);
      const line = `  ⋯ ${r.target.padEnd(13)} ${r.id.padEnd(28)} ${secs}  ${r.step}`;
      return line.length > width ? line.slice(0, width - 1) + "…" : line;
    });
  }

  #clear(): void {
    if (!this.#live || this.#drawn === 0) return;
    // Up to the first live line, then clear everything below it.
    this.#out.write(`\x1b[${this.#drawn}A\r\x1b[J`);
    this.#drawn = 0;
  }

  #redraw(): void {
    this.#clear();
    const lines = this.lines((process.stdout as { columns?: number }).columns ?? 120);
    if (lines.length) this.#out.write(lines.join("\n") + "\n");
    this.#drawn = lines.length;
  }
}
