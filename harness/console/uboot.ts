// Drives U-Boot's console: stops autoboot, syncs on the prompt, runs commands and fails the step on
// U-Boot's own error words, reads and sets the environment. Each command is followed by `echo` of a
// marker with the command's status ($? in U-Boot's hush); the marker is matched only at the start of a
// line, so the echo of the typed line (which starts with the prompt) never matches it.

import type { SerialConsole } from "./serial-console.ts";
import type { StepRecorder } from "../timeline/recorder.ts";
import { commandLineStart, hex, type UBootTarget, ubootKernelEnv } from "../targets/catalogue.ts";
import { ProductFailure, ScenarioError } from "../errors/failures.ts";

/**
 * What U-Boot prints when a command failed, even where the status is 0 (a tftpboot that gave up still
 * leaves a prompt). Each names the failure a person would look for in the transcript.
 */
export const UBOOT_ERRORS: { name: string; pattern: RegExp }[] = [
  // Most specific first: the first match names the failure.
  { name: "overwrite-reserved", pattern: /^.*trying to overwrite reserved memory.*$/m },
  { name: "error", pattern: /^## Error.*$/m },
  { name: "tftp-error", pattern: /^.*TFTP error.*$/m },
  { name: "retry-exceeded", pattern: /^.*Retry count exceeded.*$/m },
  { name: "unknown-command", pattern: /^Unknown command '.*'.*$/m },
  { name: "wrong-image-format", pattern: /^.*Wrong Image Format.*$/m },
  { name: "bad-crc", pattern: /^.*Bad (?:Data|Header) CRC.*$/m },
  { name: "no-unpack-address", pattern: /^kernel_comp_addr_r or kernel_comp_size is not provided!$/m },
  { name: "bad-magic", pattern: /^.*Bad (?:Linux ARM(?:64)? zImage|Linux ARM64 Image) magic.*$/m },
  { name: "not-found", pattern: /^.*File not found.*$/m },
  { name: "cant-overwrite", pattern: /^## Can't overwrite.*$/m },
  { name: "usage", pattern: /^Usage:$/m },
];

/** Options of one U-Boot command. */
export interface UBootRunOptions {
  /** The step's name in the timeline (default: `U-Boot: COMMAND`). */
  step?: string;
  /** The command's deadline (default: the scenario's stepSeconds). */
  timeoutMs?: number;
  /** Error names from UBOOT_ERRORS this command is expected to print (a negative test asserts them itself). */
  allowErrors?: string[] | "all";
}

/** What a U-Boot command left: its status (`$?`), its output, and the first U-Boot error it printed. */
export interface UBootResult {
  /** U-Boot's `$?` after the command (0: success). */
  status: number;
  /** What the command printed, without the echo and the prompt. */
  output: string;
  /** The first of UBOOT_ERRORS found in the output, if any. */
  error?: { name: string; line: string };
}

/**
 * U-Boot's prompt on a board's console (`board.uboot()`): autoboot stopped, the prompt synced, ethaddr set where
 * U-Boot fakes it. Commands fail their step on a U-Boot error (`## Error`, `TFTP error`, `Retry count exceeded`,
 * …) unless allowed. Set `autoload` to `no` before `dhcp`/`bootp` to keep them from fetching the boot file
 * themselves: the scenario then chooses where each file goes with `tftp()`.
 */
export class UBootConsole {
  /** The serial console U-Boot runs on. */
  readonly console: SerialConsole;
  /** The target's U-Boot data: prompt, load addresses, kernel format. */
  readonly uboot: UBootTarget;
  #steps: StepRecorder;
  #seq = 0;
  #timeoutMs: number;

  /** Prefix for step names when several boards share a timeline ("board-a: U-Boot: dhcp"). */
  #label: string;

  /** The target's words for every Linux boot (`guest.kernel.cmdline`), after the console and panic=1. */
  #linuxWords: string[];

  constructor(console: SerialConsole, steps: StepRecorder, uboot: UBootTarget, o: { timeoutMs?: number; label?: string; linuxWords?: string[] } = {}) {
    this.#label = o.label ? `${o.label}: ` : "";
    this.console = console;
    this.uboot = uboot;
    this.#steps = steps;
    this.#timeoutMs = o.timeoutMs ?? 30_000;
    this.#linuxWords = o.linuxWords ?? [];
  }

  /** Waits for U-Boot after power-on, stops autoboot if the build counts down, and syncs on the prompt. */
  async takeOver(timeoutMs = this.#timeoutMs): Promise<void> {
    await this.#steps.run(`${this.#label}U-Boot starts`, async () => {
      if (this.uboot.autoboot) {
        await this.console.expect(/Hit any key to stop autoboot/, { step: "U-Boot starts", timeoutMs });
        this.console.send(" ");
      }
      await this.console.expect(this.uboot.prompt, { step: "U-Boot starts", timeoutMs });
    });
    await this.sync();
  }

  /** Types a marker and waits for it: after this, the prompt is ours. */
  async sync(step = "U-Boot prompt answers"): Promise<void> {
    await this.#steps.run(this.#label + step, async () => {
      const id = `${process.pid % 1000}u${++this.#seq}`;
      this.console.sendLine(`echo BL-${id}-SYNC`);
      await this.console.expect(new RegExp(`\\nBL-${id}-SYNC\\n`), { step, timeoutMs: this.#timeoutMs });
    });
  }

  /** Runs a command and returns its status and output; does not judge them. */
  async run(command: string, opts: UBootRunOptions = {}): Promise<UBootResult> {
    const step = opts.step ?? `U-Boot: ${command.length > 60 ? command.slice(0, 57) + "..." : command}`;
    return this.#steps.run(this.#label + step, async () => {
      const id = `${process.pid % 1000}u${++this.#seq}`;
      const line = `${command}; echo BL-${id}-E$?`;
      // Refused rather than typed as two lines: typed ahead, the marker would be eaten by a running command
      // that polls for Ctrl-C (U-Boot's ctrlc() reads and drops whatever key is waiting).
      if (line.length >= this.uboot.lineBytes) {
        throw new ScenarioError(`U-Boot's console line holds ${this.uboot.lineBytes - 1} characters; \`${command.length > 60 ? command.slice(0, 57) + "..." : command}\` is ${command.length}, and bootlab adds ${line.length - command.length} for its status marker`, {
          step, expected: `a command of at most ${this.uboot.lineBytes - 1 - (line.length - command.length)} characters (firmware.uboot.lineBytes in the target); set a long variable in parts: setenv v "\${v} more"`,
        });
      }
      this.console.sendLine(line);
      // Only the marker line in the pattern: a lazy "any output" before it made each match quadratic in the
      // output (seconds per chunk for an `md` dump, with the event loop and the step's deadline stuck).
      const m = await this.console.expect(new RegExp(`\\nBL-${id}-E(\\d+)\\n`), {
        step, timeoutMs: opts.timeoutMs ?? this.#timeoutMs,
      });
      // The output is what follows the echo of the typed line.
      const echoEnd = m.before.indexOf("\n");
      const output = echoEnd < 0 ? "" : m.before.slice(echoEnd + 1);
      const hit = UBOOT_ERRORS.map((e) => ({ name: e.name, m: e.pattern.exec(output) })).find((e) => e.m);
      return { status: Number(m.groups[0]), output, ...(hit ? { error: { name: hit.name, line: hit.m![0].trim() } } : {}) };
    });
  }

  /**
   * Runs a command that must work: a non-zero status or any of U-Boot's error lines is a product failure
   * naming the line (unless the scenario allowed that error).
   */
  async expectOk(command: string, opts: UBootRunOptions = {}): Promise<string> {
    const step = opts.step ?? `U-Boot: ${command.length > 60 ? command.slice(0, 57) + "..." : command}`;
    const r = await this.run(command, { ...opts, step });
    const allowed = opts.allowErrors === "all" || (r.error && opts.allowErrors?.includes(r.error.name));
    if ((r.error && !allowed) || r.status !== 0) {
      throw new ProductFailure(`U-Boot: \`${command}\` failed${r.error ? `: ${r.error.line}` : ` with status ${r.status}`}`, {
        step,
        expected: "the command to succeed",
        seen: r.error?.line ?? (r.output.trim().split("\n").slice(-3).join(" | ") || "(no output)"),
        consoleTail: this.console.stream.tail(),
      });
    }
    return r.output;
  }

  /** `setenv NAME VALUE` (typed as given: quote a value with spaces or `;` for U-Boot's parser); a failure fails the step. */
  async setenv(name: string, value: string): Promise<void> {
    await this.expectOk(`setenv ${name} ${value}`, { step: `U-Boot: setenv ${name}` });
  }

  /**
   * Sets `name` to `words` joined by spaces, in as many commands as U-Boot's line buffer needs: the first
   * sets it (single-quoted), the others append (`setenv name "${name} …"`), as a person at malta's U-Boot,
   * whose line holds 255 characters, would. A word needs no quoting beyond that: no quote characters and no `$`.
   */
  async setenvWords(name: string, words: string[]): Promise<void> {
    // Room for "setenv NAME " and the quotes, and for the status marker run() adds ("; echo BL-999u99999-E$?").
    const room = this.uboot.lineBytes - 1 - `setenv ${name} "\${${name}} "`.length - 32;
    const parts: string[][] = [[]];
    for (const w of words) {
      if (/['"$]/.test(w) || w.length > room) throw new ScenarioError(`U-Boot: cannot type the ${name} word ${JSON.stringify(w.slice(0, 60))}`, { expected: `words of at most ${room} characters with no quote or $` });
      const last = parts[parts.length - 1]!;
      if (last.length > 0 && [...last, w].join(" ").length > room) parts.push([w]);
      else last.push(w);
    }
    await this.setenv(name, `'${parts[0]!.join(" ")}'`);
    for (const p of parts.slice(1)) await this.setenv(name, `"\${${name}} ${p.join(" ")}"`);
  }

  /** One variable's value, or undefined when it is not set. */
  async getenv(name: string): Promise<string | undefined> {
    const r = await this.run(`printenv ${name}`, { step: `U-Boot: printenv ${name}` });
    const m = new RegExp(`^${name}=(.*)$`, "m").exec(r.output);
    return r.status === 0 && m ? m[1] : undefined;
  }

  /** Sends a command that does not come back to the prompt (bootm, go, reset): the caller expects what follows. */
  boot(command: string): void {
    this.console.sendLine(command);
  }

  /** The target's load address for a kind of image, as U-Boot wants it typed. */
  addr(kind: "kernel" | "ramdisk" | "script"): string {
    return hex(this.uboot.addresses[kind]);
  }

  /**
   * tftpboot a file to the target's address for its kind; resolves with the byte count U-Boot reports.
   * Any TFTP error, a give-up or a missing file fails the step with U-Boot's own line.
   */
  async tftp(kind: "kernel" | "ramdisk" | "script", file: string, opts: UBootRunOptions = {}): Promise<number> {
    const out = await this.expectOk(`tftpboot ${this.addr(kind)} ${file}`, { step: `U-Boot: tftpboot ${kind} ${file}`, timeoutMs: 120_000, ...opts });
    const m = /Bytes transferred = (\d+)/.exec(out);
    if (!m) throw new ProductFailure(`U-Boot: tftpboot ${file} printed no "Bytes transferred"`, { step: opts.step ?? `U-Boot: tftpboot ${kind} ${file}`, seen: out.trim().split("\n").slice(-3).join(" | ") });
    return Number(m[1]);
  }

  /**
   * Boots what was loaded at the kernel address (and the initramfs at the ramdisk address, if its size is
   * given) the way this target's bootloader does: bootargs with the console, the words every Linux boot
   * on the board gets, the bootloader's own (malta: memsize) and rd_start/rd_size where the initramfs
   * travels in bootargs.
   */
  async bootLoaded(opts: {
    consoleDevice: string;
    ramdiskSize?: number;
    /** Where the initramfs was loaded, if not at the target's ramdisk address. */
    ramdiskAddress?: number;
    append?: string[];
    /** false leaves out the target's own bootargs (malta's memsize) — to reproduce what happens without them. */
    targetBootargs?: boolean;
  }): Promise<void> {
    const u = this.uboot;
    const rd = opts.ramdiskSize;
    const rdAddr = opts.ramdiskAddress !== undefined ? hex(opts.ramdiskAddress) : this.addr("ramdisk");
    const words = [...commandLineStart(opts.consoleDevice, this.#linuxWords), ...(opts.targetBootargs === false ? [] : u.bootargs), ...(opts.append ?? [])];
    if (rd !== undefined && u.kernel.ramdisk === "bootargs") words.push(`rd_start=${rdAddr}`, `rd_size=${rd}`);
    await this.setenvWords("bootargs", words);
    const env = Object.entries(ubootKernelEnv(u));
    if (env.length) {
      await this.expectOk(env.map(([k, v]) => `setenv ${k} ${v}`).join("; "), { step: `U-Boot: set ${env.map(([k]) => k).join(", ")}` });
    }
    const k = this.addr("kernel");
    const cmd = u.kernel.bootCommand === "bootm" ? `bootm ${k}`
      : `${u.kernel.bootCommand} ${k} ${rd !== undefined ? `${rdAddr}:${rd.toString(16)}` : "-"} \${fdtcontroladdr}`;
    await this.#steps.run(`${this.#label}U-Boot: ${cmd}`, async () => this.boot(cmd));
  }

  /** Numbers from `bdinfo` (relocaddr, DRAM start/size, …), so scenarios can aim at U-Boot's own memory. */
  async bdinfo(): Promise<Record<string, number>> {
    const out = await this.expectOk("bdinfo");
    const info: Record<string, number> = {};
    for (const m of out.matchAll(/^([A-Za-z_ ]+?)\s*= (0x[0-9a-fA-F]+)/gm)) info[m[1]!.trim().replace(/ /g, "_")] = Number(m[2]);
    return info;
  }
}

export { hex };
