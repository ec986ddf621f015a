// A console transcript: every line with the time since the machine started, written as it arrives so a
// crash of the harness still leaves the text on disk.

import { createWriteStream, type WriteStream } from "node:fs";

export class Transcript {
  readonly path: string;
  #out: WriteStream;
  #t0: number;
  #partial = "";

  constructor(path: string, t0 = performance.now()) {
    this.path = path;
    this.#t0 = t0;
    this.#out = createWriteStream(path);
  }

  #stamp(): string {
    return `[${((performance.now() - this.#t0) / 1000).toFixed(3).padStart(8)}] `;
  }

  write(text: string): void {
    const parts = (this.#partial + text).split("\n");
    this.#partial = parts.pop()!;
    for (const l of parts) this.#out.write(this.#stamp() + l + "\n");
  }

  /** A line of the harness's own, marked so it is never mistaken for console output. */
  note(text: string): void {
    this.#out.write(this.#stamp() + "## bootlab: " + text + "\n");
  }

  close(): Promise<void> {
    if (this.#partial) this.#out.write(this.#stamp() + this.#partial + "\n");
    this.#partial = "";
    return new Promise((resolve) => this.#out.end(resolve));
  }
}
