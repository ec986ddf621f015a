// A booted machine as a scenario sees it: capabilities (console, Linux shell, power, QMP), not "the QEMU
// driver". Every wait is a named step with a deadline.

import type { Machine } from "../machine/machine.ts";
import { onBoard, type StepRecorder } from "../timeline/recorder.ts";
import { LinuxShell } from "../console/linux-shell.ts";
import type { SerialConsole } from "../console/serial-console.ts";
import type { Target } from "../targets/catalogue.ts";
import type { LabLan } from "./lan.ts";
import { BootlabFailure, ProductFailure, ScenarioError, StepTimeout } from "../errors/failures.ts";
import { dhcpSeen } from "./blame.ts";
import { dropbearStartCommands, SshSession } from "../services/ssh/client.ts";
import { UBootConsole } from "../console/uboot.ts";
import { wholeLine } from "../console/expect.ts";
import { ubootOf } from "../fixtures/bootloader.ts";
import { basename } from "node:path";
import type { ImageRef } from "../media/store.ts";
import type { DriveFile } from "../machine/qemu-args.ts";

export interface BoardTimeouts {
  bootMs: number;
  stepMs: number;
}

/**
 * A machine of the lab, powered on by `lab.boot`: its serial console, its Linux shell or U-Boot prompt, its NIC on
 * the lab LAN, its USB ports and its power. Every wait is a named step with a deadline.
 */
export class Board {
  /**
   * The machine's name in the lab (`BootOptions.name`, default the target's name); also its switch port and
   * console file name.
   */
  readonly name: string;
  /** The target this board is a machine of. */
  readonly target: Target;
  /** The QEMU process and its QMP connection (bootlab's own layer: scenarios rarely need it). */
  readonly machine: Machine;
  /**
   * The NIC's MAC address, derived from the run's seed and the board's name: the same on every run, so DHCP host
   * entries can name it.
   */
  readonly mac: string;
  #steps: StepRecorder;
  #timeouts: BoardTimeouts;
  #shell: LinuxShell | undefined;
  #lan: () => LabLan | undefined;
  #dropbear = false;
  #uboot: UBootConsole | undefined;
  /**
   * Set when the machine was restored from a snapshot instead of powered on: the point it was saved at
   * ("shell", "uboot") and the snapshot's key. What that point established is already true.
   */
  restoredFrom: { point: string; key: string; name: string } | undefined;
  #hotplugged = 0;

  /**
   * Set when the board powers on from its own media (its flash, or its boot ROM's choice): how long it may
   * stay silent before it is dead, and what that silence means.
   */
  readonly #silentIfDead: { ms: number; what: string } | undefined;
  /** Makes the per-run overlay a hot-plugged stick writes to (the lab's media owner). */
  readonly #overlay: ((role: string, image: ImageRef) => Promise<DriveFile>) | undefined;

  constructor(
    name: string, machine: Machine, mac: string, steps: StepRecorder, timeouts: BoardTimeouts, lan: () => LabLan | undefined = () => undefined,
    o: { silentIfDead?: { ms: number; what: string }; overlay?: (role: string, image: ImageRef) => Promise<DriveFile> } = {},
  ) {
    this.#silentIfDead = o.silentIfDead;
    this.#overlay = o.overlay;
    this.#lan = lan;
    this.name = name;
    this.target = machine.target;
    this.machine = machine;
    this.mac = mac;
    // Every step this board (and its consoles) runs is its own on the timeline, whoever calls it.
    this.#steps = onBoard(steps, name);
    this.#timeouts = timeouts;
  }

  /** The board's serial console: the raw expect engine under `shell()` and `uboot()`. */
  get console(): SerialConsole {
    return this.machine.console;
  }

  /**
   * Waits on the console inside a named step. `failOn`: lines that mean the device has gone another way
   * (e.g. "preinit: USB mount failed: …" while waiting for the USB path) — the step fails at once,
   * quoting the line, instead of running into its deadline.
   */
  expect(pattern: string | RegExp, step: string, opts: { timeoutMs?: number; allow?: string[]; failOn?: RegExp[] } = {}) {
    return this.#steps.run(step, async () => {
      // A failOn line counts once it is whole, so the failure quotes all of it (a chunk can end mid-line).
      const m = await this.console.expect([pattern, ...(opts.failOn ?? []).map(wholeLine)], { step, timeoutMs: opts.timeoutMs ?? this.#timeouts.stepMs, allow: opts.allow });
      if (m.index > 0) {
        throw new ProductFailure(m.text.trim(), { step, expected: String(pattern), seen: m.text.trim() });
      }
      return m;
    });
  }

  /**
   * Runs `fn` with some always-on bad patterns switched off, e.g. ["kernel-reset"] around a deliberate
   * reboot. Names: kernel-panic, oops, bug, kernel-reset, bootloader-reset.
   */
  allowing<T>(names: string[], fn: () => Promise<T>): Promise<T> {
    return this.console.stream.allowing(names, fn);
  }

  /**
   * Before a person takes the console: the shell's echo back on (LinuxShell.handOver). Returns what the
   * person must do themselves, if anything.
   */
  handOverConsole(): string | undefined {
    return this.#shell?.handOver();
  }

  /** Waits for bootlab's init to hand over a shell, then syncs with it. */
  async shell(): Promise<LinuxShell> {
    if (this.#shell) return this.#shell;
    const step = this.name === this.target.name ? "kernel boots to the shell" : `${this.name}: kernel boots to the shell`;
    // A machine restored at "shell" printed its ready line in an earlier life: syncing is enough.
    if (this.restoredFrom?.point !== "shell") await this.expect(/bootlab-init: ready[^\n]*\n/, step, { timeoutMs: this.#timeouts.bootMs });
    const sh = new LinuxShell(this.console, this.#steps, this.#timeouts.stepMs);
    await sh.sync();
    this.#shell = sh;
    return sh;
  }

  /**
   * U-Boot's console, taken over after power-on (autoboot stopped, prompt synced). Where the target's
   * U-Boot sends from a MAC of its own, `ethaddr` is set to the board's, so the lab sees one MAC per board.
   */
  async uboot(): Promise<UBootConsole> {
    if (this.#uboot) return this.#uboot;
    // Boards with names of their own share the timeline with others: their steps say whose they are.
    const label = this.name === this.target.name ? "" : this.name;
    const ub = new UBootConsole(this.console, this.#steps, ubootOf(this.target), {
      timeoutMs: this.#timeouts.stepMs, label, linuxWords: this.target.guest.kernel.cmdline,
    });
    if (this.restoredFrom?.point === "uboot") {
      // Restored at the prompt, ethaddr already set: only sync.
      await ub.sync();
      this.#uboot = ub;
      return ub;
    }
    if (this.#silentIfDead !== undefined) await this.firstOutput();
    await ub.takeOver(this.#timeouts.bootMs);
    // -f: this U-Boot treats ethaddr as write-once ("Can't overwrite").
    if (ub.uboot.fixedMac) await ub.expectOk(`setenv -f ethaddr ${this.mac}`, { step: "U-Boot: set ethaddr to the board's MAC" });
    this.#uboot = ub;
    return ub;
  }

  #label(step: string): string {
    return this.name === this.target.name ? step : `${this.name}: ${step}`;
  }

  /**
   * Waits for the first console output after power-on. A board whose flash holds no working bootloader
   * prints nothing at all: that is a product failure that says so, not a step timeout.
   */
  async firstOutput(timeoutMs = this.#silentIfDead?.ms ?? this.#timeouts.bootMs): Promise<void> {
    await this.#steps.run(this.#label("first console output after power-on"), async () => {
      try {
        // Zero-length: the bootloader's banner stays in the buffer for whoever waits for it next.
        await this.console.expect(/(?=[\s\S])/, { step: "first console output", timeoutMs });
      } catch (e) {
        if (!(e instanceof StepTimeout)) throw e;
        throw new ProductFailure(`no output from ${this.name} within ${timeoutMs / 1000} s of power-on: ${this.#silentIfDead?.what ?? "nothing boots"}`, {
          expected: "the bootloader's first line on the console",
          seen: "silence",
        });
      }
    });
  }

  /**
   * Asserts that the board is dead: not one byte on its console for `timeoutMs` after power-on (a
   * bricked flash). Any output fails the step, quoting it.
   */
  async expectDead(timeoutMs = this.#silentIfDead?.ms ?? 10_000): Promise<void> {
    await this.#steps.run(this.#label(`stays silent for ${timeoutMs / 1000} s (nothing boots)`), async () => {
      let seen: string | undefined;
      try {
        const m = await this.console.expect(/[^\n]*\S[^\n]*/, { step: "a dead board stays silent", timeoutMs });
        seen = m.text;
      } catch (e) {
        if (!(e instanceof StepTimeout)) throw e;
      }
      if (seen !== undefined) {
        throw new ProductFailure(`${this.name} printed output, but it should boot nothing`, { expected: "silence", seen: seen.trim() });
      }
    });
  }

  /**
   * After the bootloader's "Starting kernel ...": the kernel must say something on this console within
   * `timeoutMs`. Silence there is the classic wrong console= (or a kernel for another board), reported as
   * such rather than as a boot that timed out — also when the silent kernel panics and the board resets
   * (panic=1), which shows as the bootloader's banner being the next thing on the console.
   */
  async kernelSpeaks(timeoutMs: number): Promise<void> {
    await this.expect(/Starting kernel[^\n]*\n/, this.#label("the bootloader starts the kernel"), { timeoutMs: this.#timeouts.bootMs });
    const t0 = performance.now();
    const expected = `the kernel's first lines on ${this.target.machine.console.linuxDevice} (check console= in the boot configuration)`;
    await this.#steps.run(this.#label("the kernel's first console output"), () => this.allowing(["bootloader-reset"], async () => {
      let line: string;
      try {
        line = (await this.console.expect(/[^\n]*\S[^\n]*\n/, { step: "the kernel's first console output", timeoutMs })).text.trim();
      } catch (e) {
        if (!(e instanceof StepTimeout)) throw e;
        throw new ProductFailure(`no console output for ${timeoutMs / 1000} s after 'Starting kernel ...'`, { expected, seen: "\"Starting kernel ...\", then silence" });
      }
      if (/^U-Boot \d{4}\.\d{2}/.test(line)) {
        const s = ((performance.now() - t0) / 1000).toFixed(1);
        throw new ProductFailure(`no console output after 'Starting kernel ...': the board reset ${s} s later without a word from the kernel`, {
          expected, seen: `"Starting kernel ...", silence, then "${line}"`,
        });
      }
    }));
  }

  /** Cuts the power: QEMU is killed at once, whatever the guest is doing (a write half done stays half done). */
  async powerCut(): Promise<void> {
    await this.#steps.run(this.#label("power cut"), async () => {
      await this.machine.kill();
    });
  }

  /** Powers the guest off from its shell and waits for QEMU to exit cleanly. */
  async powerOff(): Promise<void> {
    const sh = await this.shell();
    await this.#steps.run(this.name === this.target.name ? "power off" : `${this.name}: power off`, async () => {
      this.machine.expectExit();
      sh.console.sendLine("poweroff -f");
      await this.machine.waitForPowerOff("power off", this.#timeouts.stepMs);
    });
  }

  /**
   * Loads the NIC driver, brings the interface up and runs udhcpc against the lab's DHCP server; with
   * `ip`, a host entry for this board's MAC is added first. Resolves with the leased address.
   */
  async networkUp(opts: { ip?: string; file?: string } = {}): Promise<string> {
    const lan = this.#lan();
    if (!lan) throw new ScenarioError("board.networkUp() needs the lab LAN: the board was booted without it");
    if (opts.ip) lan.dhcp.host({ mac: this.mac, ip: opts.ip, file: opts.file });
    const sh = await this.shell();
    const nic = this.target.machine.nic.linuxName;
    const before = { dhcp: lan.dhcp.log.length, port: lan.segment.portCounters(this.name) };
    try {
      await sh.expectOk(`for m in ${this.target.machine.nic.linuxModules.join(" ")}; do modprobe $m; done; ip link set ${nic} up && udhcpc -i ${nic} -n -q -t 5 -T 1`, {
        step: "network up (udhcpc)",
      });
    } catch (e) {
      // udhcpc says only what it sent; the lab says what arrived and what it answered, which tells a lost
      // frame from a server that kept quiet.
      if (!(e instanceof BootlabFailure)) throw e;
      throw e.withContext({ lab: dhcpSeen(lan.dhcp.log.slice(before.dhcp), this.mac, this.name, before.port, lan.segment.portCounters(this.name)) });
    }
    const ip = this.leasedIp();
    if (!ip) throw new ScenarioError(`udhcpc succeeded but the lab's DHCP log has no ACK for ${this.mac}`);
    return ip;
  }

  /** The address the lab's DHCP server last gave this board, if any. */
  leasedIp(): string | undefined {
    return this.#lan()?.dhcp.log.filter((e) => e.mac === this.mac && e.reply === "ACK").at(-1)?.ip;
  }

  /**
   * An SSH session from the lab to this board: starts Debian's dropbear from the shell (the initramfs
   * needs `programs: ["/usr/sbin/dropbear"]`), then logs in as root over the lab LAN's TCP.
   */
  async ssh(opts: { ip?: string } = {}): Promise<SshSession> {
    const lan = this.#lan();
    if (!lan) throw new ScenarioError("board.ssh() needs the lab LAN: the board was booted with lan: false");
    const ip = opts.ip ?? this.leasedIp();
    if (!ip) throw new ScenarioError(`board.ssh(): ${this.name} has no DHCP lease from the lab; pass { ip }`);
    return await this.#steps.run(`ssh to ${this.name} (${ip})`, async () => {
      if (!this.#dropbear) {
        await (await this.shell()).expectOk(dropbearStartCommands(lan.sshKey.publicKey), { step: "start dropbear" });
        this.#dropbear = true;
      }
      const conn = await lan.server.connectTcp(ip, 22);
      return await SshSession.connect(conn, { username: "root", key: lan.sshKey, timeoutMs: this.#timeouts.stepMs });
    });
  }

  /** Plugs or pulls the board's network cable as QEMU sees it (QMP set_link: the guest sees carrier go). */
  async setLink(up: boolean): Promise<void> {
    await this.machine.command("set_link", { name: "n0", up });
  }

  /**
   * Plugs a USB stick in while the machine runs (QMP blockdev-add + device_add on the target's USB
   * controller; the board must have been booted with `usb`). Returns the id to pull it with.
   */
  async plugUsb(image: string, opts: { format?: "raw" | "qcow2" } = {}): Promise<string> {
    const u = this.target.machine.usb;
    if (!u) throw new ScenarioError(`target ${this.target.name} has no USB controller`);
    const n = this.#hotplugged++;
    const id = `hotstick${n}`;
    return await this.#steps.run(`plug in USB stick ${basename(image)}`, async () => {
      if (!this.#overlay) throw new ScenarioError(`board.plugUsb(): ${this.name} was not booted by a lab`);
      const drive = await this.#overlay(id, { path: image, format: opts.format ?? "raw" });
      await this.machine.command("blockdev-add", { driver: "qcow2", "node-name": `${id}-node`, file: { driver: "file", filename: drive.file } });
      await this.machine.command("device_add", { driver: "usb-storage", bus: u.bus, drive: `${id}-node`, id });
      return id;
    });
  }

  /** Pulls a hot-plugged stick out (device_del; the guest sees the disconnect). */
  async unplugUsb(id: string): Promise<void> {
    await this.#steps.run(`pull USB stick ${id}`, async () => {
      await this.machine.command("device_del", { id });
    });
  }

  /** QEMU's view of the machine (running, paused, shutdown, …). */
  async status(): Promise<string> {
    return (await this.machine.qmp.status()).status;
  }
}
