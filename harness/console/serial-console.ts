// A serial port of a machine, as the harness sees it: bytes from QEMU's socket chardev are decoded,
// written to the transcript and fed to the expect engine; text typed by drivers goes back the same way.

import type { Socket } from "node:net";
import { type ExpectOptions, ExpectStream, type Match, type Pattern } from "./expect.ts";
import type { BadPattern } from "./bad-patterns.ts";
import { Transcript } from "./transcript.ts";

/**
 * A board's serial port (`board.console`): everything it prints goes to the transcript (console-NAME.log) and the
 * expect engine; `sendLine` types.
 */
export class SerialConsole {
  /** The board's name. */
  readonly name: string;
  readonly stream: ExpectStream;
  readonly transcript: Transcript;
  #socket: Socket | undefined;
  #decoder = new TextDecoder("utf-8");
  #taps = new Set<(bytes: Uint8Array) => void>();

  constructor(name: string, transcriptPath: string, bad: BadPattern[], t0?: number) {
    this.name = name;
    this.stream = new ExpectStream(name, bad);
    this.transcript = new Transcript(transcriptPath, t0);
  }

  attach(socket: Socket): void {
    this.#socket = socket;
    socket.on("data", (b: Buffer) => this.feed(b));
    socket.on("error", () => {}); // the machine's exit handler reports why the console went away
  }

  feed(bytes: Uint8Array): void {
    for (const tap of this.#taps) tap(bytes);
    const text = this.#decoder.decode(bytes, { stream: true }).replace(/\r/g, "");
    this.transcript.write(text);
    this.stream.push(text);
  }

  /** Types text as is. */
  send(text: string): void {
    if (!this.#socket || this.#socket.destroyed) return;
    this.#socket.write(text);
  }

  /** Raw bytes to the port, as a terminal sends them (keys, escape sequences). */
  sendBytes(bytes: Uint8Array): void {
    if (!this.#socket || this.#socket.destroyed) return;
    this.#socket.write(bytes);
  }

  /**
   * Every byte the port sends from now on, undecoded (\r and escape sequences kept), for a terminal attached
   * to it. Returns the function that detaches the tap.
   */
  tap(listener: (bytes: Uint8Array) => void): () => void {
    this.#taps.add(listener);
    return () => this.#taps.delete(listener);
  }

  /** Types a line and Enter. */
  sendLine(line: string): void {
    this.send(line + "\n");
  }

  /**
   * Waits for a pattern (or the first of several) in new output; bad patterns (panic, Oops, a reset) fail it at
   * once.
   */
  expect(pattern: Pattern | Pattern[], opts: ExpectOptions): Promise<Match> {
    return this.stream.expect(pattern, opts);
  }

  async close(): Promise<void> {
    this.#socket?.destroy();
    await this.transcript.close();
  }
}
