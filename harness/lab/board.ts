// A booted machine as a scenario sees it: capabilities (console, Linux shell, power, QMP), not "the QEMU
// driver". Every wait is a named step with a deadline.

import type { Machine } from "../machine/machine.ts";
import type { Steps } from "../scenario/steps.ts";
import { LinuxShell } from "../console/linux-shell.ts";
import type { SerialConsole } from "../console/serial-console.ts";
import type { Target } from "../targets/catalogue.ts";
import type { LabLan } from "./lan.ts";
import { ProductFailure, ScenarioError } from "../errors/failures.ts";
import { dropbearStartCommands, SshSession } from "../services/ssh/client.ts";
import { UBootConsole } from "../console/uboot.ts";
import { ubootOf } from "../fixtures/bootloader.ts";
import { runCommand } from "../host/command.ts";
import { basename, join } from "node:path";

export interface BoardTimeouts {
  bootMs: number;
  stepMs: number;
}

export class Board {
  readonly name: string;
  readonly target: Target;
  readonly machine: Machine;
  readonly mac: string;
  #steps: Steps;
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
  /** The run's folder for per-run files (USB overlays made at hot-plug). */
  runDir = "";
  #hotplugged = 0;

  constructor(name: string, machine: Machine, mac: string, steps: Steps, timeouts: BoardTimeouts, lan: () => LabLan | undefined = () => undefined) {
    this.#lan = lan;
    this.name = name;
    this.target = machine.target;
    this.machine = machine;
    this.mac = mac;
    this.#steps = steps;
    this.#timeouts = timeouts;
  }

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
      const m = await this.console.expect([pattern, ...(opts.failOn ?? [])], { step, timeoutMs: opts.timeoutMs ?? this.#timeouts.stepMs, allow: opts.allow });
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
    const ub = new UBootConsole(this.console, this.#steps, ubootOf(this.target), this.#timeouts.stepMs, label);
    if (this.restoredFrom?.point === "uboot") {
      // Restored at the prompt, ethaddr already set: only sync.
      await ub.sync();
      this.#uboot = ub;
      return ub;
    }
    await ub.takeOver(this.#timeouts.bootMs);
    // -f: this U-Boot treats ethaddr as write-once ("Can't overwrite").
    if (ub.uboot.fixedMac) await ub.expectOk(`setenv -f ethaddr ${this.mac}`, { step: "U-Boot: set ethaddr to the board's MAC" });
    this.#uboot = ub;
    return ub;
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
    const nic = this.target.nic.linuxName;
    await sh.expectOk(`for m in ${this.target.nic.linuxModules.join(" ")}; do modprobe $m; done; ip link set ${nic} up && udhcpc -i ${nic} -n -q -t 5 -T 1`, {
      step: "network up (udhcpc)",
    });
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
    const u = this.target.usb;
    if (!u) throw new ScenarioError(`target ${this.target.name} has no USB controller`);
    const n = this.#hotplugged++;
    const id = `hotstick${n}`;
    const overlay = join(this.runDir, `${this.name}-${id}.qcow2`);
    return await this.#steps.run(`plug in USB stick ${basename(image)}`, async () => {
      await runCommand(["qemu-img", "create", "-q", "-f", "qcow2", "-F", opts.format ?? "raw", "-b", image, overlay], { why: "create the USB stick's overlay" });
      await this.machine.command("blockdev-add", { driver: "qcow2", "node-name": `${id}-node`, file: { driver: "file", filename: overlay } });
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
