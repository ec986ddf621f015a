// Drives a busybox/POSIX shell on a serial console. Each command is framed by markers that the shell
// prints with printf escapes (\036), so the echo of the typed line can never look like the marker;
// the exit status comes back inside the end marker. Kernel messages (printk lines, "[   12.345678] ...")
// land wherever the UART is between two chunks of the shell's output: inside the output, even mid-line, and
// inside a marker itself (the expect engine matches a marker a printk line cut in two, see
// kernel-interjections.ts); printk lines and terminal queries are removed from the output.
// Once synced the shell is driven with the tty's echo off (see sync), and what is typed goes into the
// transcript as a note instead.

import type { SerialConsole } from "./serial-console.ts";
import { ProductFailure } from "../errors/failures.ts";
import type { StepRecorder } from "../timeline/recorder.ts";

/**
 * What a shell command left: its exit status and its output (stdout and stderr together, as the console showed
 * them, without the echo and prompt).
 */
export interface CommandResult {
  /** The command's exit status ($?). */
  status: number;
  /** The output, trimmed, lines joined with \n. */
  output: string;
}

/** Options of one shell command. */
export interface RunOptions {
  /** The command's deadline (default: the scenario's stepSeconds). */
  timeoutMs?: number;
  /** Step name for the timeline and errors; defaults to "run: <command>". */
  step?: string;
  /** Bad patterns this command is expected to trigger. */
  allow?: string[];
}

const PRINTK_LINE = /\[ *\d+\.\d{6}\] [^\n]*\n/g;
const CSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** Cleans the text between two markers into what the command printed. */
export function cleanOutput(raw: string): string {
  return raw.replace(CSI, "").replace(PRINTK_LINE, "").replace(/^\n/, "").replace(/\n$/, "");
}

/**
 * The Linux shell on a board's console (`board.shell()`): one round trip per command, its exit status carried in
 * the end marker, so output is never torn by kernel messages.
 */
export class LinuxShell {
  /** The serial console the shell runs on. */
  readonly console: SerialConsole;
  #steps: StepRecorder;
  #seq = 0;
  #defaultTimeoutMs: number;
  /** The tty's echo is off since the last sync (see sync). */
  #echoOff = false;
  /** Commands typed whose end marker has not come back: they may still be running. */
  #inFlight = 0;

  constructor(console: SerialConsole, steps: StepRecorder, defaultTimeoutMs = 30_000) {
    this.console = console;
    this.#steps = steps;
    this.#defaultTimeoutMs = defaultTimeoutMs;
  }

  /** Waits until the shell answers a marker: after this, commands can run. */
  async sync(step = "shell answers", timeoutMs = this.#defaultTimeoutMs): Promise<void> {
    await this.#steps.run(step, async () => {
      const id = `${process.pid % 1000}s${++this.#seq}`;
      // An empty line first, so anything half-typed on the line is finished off.
      this.console.sendLine("");
      // Echo off: an interactive busybox sh on a tty edits the line itself, reading and echoing one key at a
      // time, which under TCG costs 15-30 ms per command we type; with the tty's echo off it reads whole lines
      // from the kernel's line discipline instead (2-3 ms per command, measured on all three targets). What
      // we type is noted in the transcript instead. Without stty, echo stays on and commands are only slower.
      this.console.sendLine(`stty -echo 2>/dev/null; printf '\\036BL-${id}-SYNC\\036\\n'`);
      await this.console.expect(`\x1eBL-${id}-SYNC\x1e`, { step, timeoutMs });
      this.#echoOff = true;
      this.#inFlight = 0;
    });
  }

  /** Runs a command; resolves with its exit status and output whatever the status. */
  async run(command: string, opts: RunOptions = {}): Promise<CommandResult> {
    const step = opts.step ?? `run: ${command.length > 60 ? command.slice(0, 57) + "..." : command}`;
    return this.#steps.run(step, async () => {
      const id = `${process.pid % 1000}c${++this.#seq}`;
      if (this.#echoOff) this.console.transcript.note(`$ ${command}`);
      // One compound command: the shell reads every line of it (and echoes it, where echo is on) before running
      // any, so no echo or prompt lands between the markers; a command ending in "&" or spanning lines still works.
      this.console.sendLine(`printf '\\036BL-${id}-B\\036\\n'; {\n${command}\n}; printf '\\036BL-${id}-E:%d\\036\\n' $?`);
      this.#inFlight++;
      const m = await this.console.expect(new RegExp(`\\x1eBL-${id}-B\\x1e\\n([\\s\\S]*?)\\x1eBL-${id}-E:(\\d+)\\x1e`), {
        step,
        timeoutMs: opts.timeoutMs ?? this.#defaultTimeoutMs,
        allow: opts.allow,
      });
      this.#inFlight--;
      return { status: Number(m.groups[1]), output: cleanOutput(m.groups[0]!) };
    });
  }

  /** Runs a command that must succeed; a non-zero status is a product failure showing the output. */
  async expectOk(command: string, opts: RunOptions = {}): Promise<string> {
    const r = await this.run(command, opts);
    if (r.status !== 0) {
      throw new ProductFailure(`\`${command}\` exited with status ${r.status}`, {
        step: opts.step ?? `run: ${command}`,
        expected: "exit status 0",
        seen: r.output.split("\n").slice(-5).join(" | ") || "(no output)",
        consoleTail: this.console.stream.tail(),
      });
    }
    return r.output;
  }

  /**
   * Gives the shell to a person at a terminal (`bootlab console`, --attach-on-failure): echo on again, so
   * what they type shows. Not while a command of ours may still be running, since it would read the line;
   * then the returned text tells the person what to type.
   */
  handOver(): string | undefined {
    if (!this.#echoOff) return undefined;
    if (this.#inFlight > 0) return "bootlab typed its commands with the tty's echo off, and its last command may still be running: type `stty echo` at the next prompt to see what you type";
    this.console.sendLine("stty echo 2>/dev/null");
    this.#echoOff = false;
    return undefined;
  }
}
