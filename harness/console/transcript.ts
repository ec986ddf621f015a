// A console transcript: every line with the time since the machine started, written as it arrives so a
// crash of the harness still leaves the text on disk.

import { createWriteStream, type WriteStream } from "node:fs";

/** How many recent lines a transcript keeps in memory with their times (for the run's timeline.json). */
const RECENT_LINES = 400;

export class Transcript {
  readonly path: string;
  /** The performance.now() its times count from. */
  readonly t0: number;
  #out: WriteStream;
  #partial = "";
  #recent: { atMs: number; text: string }[] = [];
  #lines = 0;
  #cutShort = false;

  constructor(path: string, t0 = performance.now()) {
    this.path = path;
    this.t0 = t0;
    this.#out = createWriteStream(path);
  }

  #stamp(): string {
    const ms = performance.now() - this.t0;
    return `[${(ms / 1000).toFixed(3).padStart(8)}] `;
  }

  #line(text: string): void {
    this.#lines++;
    this.#recent.push({ atMs: Math.round(performance.now() - this.t0), text });
    if (this.#recent.length > RECENT_LINES * 2) this.#recent.splice(0, this.#recent.length - RECENT_LINES);
    this.#out.write(this.#stamp() + text + "\n");
  }

  /** The last lines written, each with its time since t0; `omitted` counts the earlier ones not kept. */
  recent(): { lines: { atMs: number; text: string }[]; omitted: number } {
    const lines = this.#recent.slice(-RECENT_LINES);
    return { lines, omitted: this.#lines - lines.length };
  }

  write(text: string): void {
    // The line a note cut short has been written already: its own end is not a second, empty line.
    if (this.#cutShort && text.startsWith("\n")) text = text.slice(1);
    this.#cutShort = false;
    const parts = (this.#partial + text).split("\n");
    this.#partial = parts.pop()!;
    for (const l of parts) this.#line(l);
  }

  /** A line of the harness's own, marked so it is never mistaken for console output (each line of it, if several). */
  note(text: string): void {
    // A note goes after what the machine has printed so far, so a line still being printed (a prompt) is
    // written out first: what bootlab types then reads after the prompt it was typed at.
    if (this.#partial) {
      this.#line(this.#partial);
      this.#partial = "";
      this.#cutShort = true;
    }
    const stamp = this.#stamp();
    this.#out.write(text.split("\n").map((l) => stamp + "## bootlab: " + l + "\n").join(""));
  }

  close(): Promise<void> {
    if (this.#partial) this.#line(this.#partial);
    this.#partial = "";
    return new Promise((resolve) => this.#out.end(resolve));
  }
}
