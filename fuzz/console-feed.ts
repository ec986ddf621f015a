// What the console areas share: a serial console without a socket or a transcript file (bytes in through
// the same decoding as SerialConsole.feed, typed lines kept), markers written in inputs with the recording's
// "BL-127" prefix and given this process's at feed time, and a script of driver steps in which only the
// failures a device can cause are allowed.

import { setImmediate } from "node:timers";
import type { SerialConsole } from "../harness/console/serial-console.ts";
import { ExpectStream, type ExpectOptions, type Match, type Pattern } from "../harness/console/expect.ts";
import type { BadPattern } from "../harness/console/bad-patterns.ts";
import { BootlabFailure } from "../harness/errors/failures.ts";

/** The drivers make markers from the process id; inputs hold the recording's, "BL-127…". */
const RECORDED = "BL-127";
const OURS = `BL-${process.pid % 1000}`;

export class ConsoleFeed {
  readonly name = "con0";
  readonly stream: ExpectStream;
  readonly typed: string[] = [];
  /** The transcript's notes (what a driver typed with the echo off) have no file here. */
  readonly transcript = { note: (_text: string): void => {} };
  #decoder = new TextDecoder("utf-8");
  #chunks = 0;

  constructor(bad: BadPattern[]) {
    this.stream = new ExpectStream(this.name, bad);
  }

  /** As SerialConsole.feed, without the transcript; the recorded marker prefix becomes this process's. */
  feed(bytes: Uint8Array): void {
    const text = this.#decoder.decode(bytes, { stream: true }).replace(/\r/g, "").replaceAll(RECORDED, OURS);
    this.stream.push(text);
  }

  send(text: string): void {
    this.typed.push(text);
  }

  sendLine(line: string): void {
    this.send(line + "\n");
  }

  /**
   * Lets the driver catch up with what was fed: a resolved wait runs on through a few promise hops to its
   * next wait. A macrotask per chunk would be exact and cost most of the run; now and then one is taken.
   */
  async settle(): Promise<void> {
    for (let i = 0; i < 6; i++) await undefined;
    if (++this.#chunks % 32 === 0) await new Promise<void>((r) => setImmediate(r));
  }

  expect(pattern: Pattern | Pattern[], opts: ExpectOptions): Promise<Match> {
    return this.stream.expect(pattern, opts);
  }

  /** For the drivers' constructors, which take the real class. */
  asSerialConsole(): SerialConsole {
    return this as unknown as SerialConsole;
  }
}

/**
 * Runs driver steps in order until one fails. A device's doing (a product failure, a timeout, the console
 * ending) stops the script; a bootlab bug or a scenario error from inside the driver is a crash.
 */
export async function script(steps: [string, () => Promise<unknown>][]): Promise<string> {
  for (const [name, step] of steps) {
    try {
      await step();
    } catch (e) {
      if (!(e instanceof BootlabFailure) || e.kind === "bug" || e.kind === "scenario") throw e;
      if (name.startsWith("expect failure:")) continue;
      return `stopped at:${name} (${e.kind})`;
    }
  }
  return "finished:";
}
