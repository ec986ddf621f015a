// The lab of one scenario run on one target: the machines it powers on, the media they hold and the LAN
// they share. It owns all of them, so whatever happens in the scenario, closing the lab stops everything.

import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import type { Owner } from "../lifecycle/owner.ts";
import type { StepRecorder } from "../timeline/recorder.ts";
import type { Target } from "../targets/catalogue.ts";
import { Machine } from "../machine/machine.ts";
import { type BootMedia, checkCommandLine, type DriveFile, macFor, type MachinePlan, type NicPlan, qemuArgs, shellQuote } from "../machine/qemu-args.ts";
import { linuxBadPatterns } from "../console/bad-patterns.ts";
import type { FrameEvent } from "../lan/segment.ts";
import { LabLan, type LanOptions } from "./lan.ts";
import { Board, type BoardTimeouts } from "./board.ts";
import { type BootlabFailure, ScenarioError } from "../errors/failures.ts";
import { blameMissingTftpFile } from "./blame.ts";
import { SnapshotPolicy, type SnapshotRequest as PolicyRequest, type SnapshotLookup } from "../snapshot/policy.ts";
import { type ImageRef, KeptMedium, MediaStore, type MediumRef } from "../media/store.ts";
import { flashRole } from "../media/board-flash.ts";
import { callSite } from "../errors/stack.ts";
import { type BootSwitch, romBootFromDisk, romBootFromDownload } from "../machine/boot-rom.ts";
import type { Timeline, TimelineBoard } from "../timeline/model.ts";

export { KeptMedium };
export type { ImageRef, MediumRef };

/**
 * A named point a machine is prepared up to once; later boots with the same inputs start from there.
 * "shell": bootlab's init handed over a synced shell. "uboot": U-Boot's prompt is ours (ethaddr set).
 */
export type SnapshotRequest = PolicyRequest<Board>;

/**
 * How `lab.boot` powers a board on: what it boots (kernel, initrd, append, firmware, or its own flash), the media
 * it holds, its network and a snapshot point.
 */
export interface BootOptions extends BootMedia {
  /**
   * Name of the machine in this lab (default: the target's name). A name can be booted again once its
   * last machine has stopped: the same board, powered on again.
   */
  name?: string;
  /**
   * Plug the board's NIC into the lab LAN (default true); false leaves it unplugged; "slirp" uses QEMU's
   * user-mode network instead (for baselines: read-only TFTP from `slirpTftpRoot`, host at 10.0.2.2).
   */
  lan?: boolean | "slirp";
  /** With `lan: "slirp"`: the folder QEMU's built-in TFTP server serves. */
  slirpTftpRoot?: string;
  /**
   * Disk images the board sees as block devices (target.machine.disk.device), in order. An image is never
   * written: each run writes to its own qcow2 overlay. A kept medium (lab.medium) is written in place.
   */
  disks?: MediumRef[];
  /**
   * USB sticks plugged in at power-on (images; each run writes to its own overlay). Passing it — even
   * empty — gives the board the target's USB controller, so sticks can be hot-plugged later.
   */
  usb?: ImageRef[];
  /**
   * The board's own flash chips (target.machine.flash), in order: an image (a throw-away copy, padded to the
   * chip with erased bytes) or a kept medium; null leaves that chip slot empty. With no kernel and no
   * firmware the board powers on from the first chip, as a real board does.
   */
  flash?: (MediumRef | null)[];
  /** Prepare the machine up to a point once and restore it from there afterwards (see SnapshotRequest). */
  snapshot?: "shell" | "uboot" | SnapshotRequest;
  /**
   * Power on through the board's boot ROM (target.machine.bootRom) with its boot switch set: "sd" runs the
   * first stage the ROM finds on the first disk (GPT partition fsbl1, else fsbl2), "usb" the one in
   * `download` (an STM32 image, as a programmer sends it). When nothing passes the ROM's check the board
   * stays silent, as a real one does; `board.uboot()` then fails as a product failure saying so.
   */
  bootSwitch?: BootSwitch;
  /** The first stage the programmer sends over the ROM's USB download path (with `bootSwitch: "usb"`). */
  download?: string;
}

/**
 * The lab of one scenario run on one target (`ctx.lab`): the boards it powers on, the media they hold and the LAN
 * they share. Closing it (the runner does) stops everything.
 */
export class Lab {
  /** A short temporary folder of the run (sockets, overlays), removed at the end. */
  readonly runDir: string;
  /** The run's artifact folder, `out/<scenario id>/<target>/`: put files a person should see here. */
  readonly artifacts: string;
  /** Every board booted in this lab, in boot order (running or not). */
  readonly boards: Board[] = [];
  #owner: Owner;
  #steps: StepRecorder;
  #timeouts: BoardTimeouts;
  #lan: Promise<LabLan> | undefined;
  #seed: string;
  #note: (line: string) => void;
  #policy: SnapshotPolicy;
  #media: MediaStore;

  constructor(o: {
    owner: Owner; steps: StepRecorder; runDir: string; artifacts: string; timeouts: BoardTimeouts; seed: string;
    /** false: every boot is cold and nothing is saved (--no-snapshots). */
    snapshots?: boolean;
    note?: (line: string) => void;
  }) {
    this.#note = o.note ?? (() => {});
    this.#policy = new SnapshotPolicy(o.snapshots ?? true, this.#note);
    this.#media = new MediaStore(o.runDir);
    this.#owner = o.owner;
    this.#steps = o.steps;
    this.runDir = o.runDir;
    this.artifacts = o.artifacts;
    this.#timeouts = o.timeouts;
    this.#seed = o.seed;
  }

  /**
   * The lab LAN: created on first use, with the given addressing (default 192.168.1.0/24, server .10).
   * Options only count on the first call.
   */
  lan(opts: LanOptions = {}): Promise<LabLan> {
    this.#lan ??= LabLan.create({ owner: this.#owner, artifacts: this.artifacts, seed: this.#seed, opts, clock: () => this.#steps.now() })
      .then((lan) => (this.#lanNow = lan));
    return this.#lan;
  }

  /** Frames seen on the lab LAN so far (empty until the LAN exists). */
  get frames(): readonly FrameEvent[] {
    return this.#lanNow?.frames ?? [];
  }

  #lanNow: LabLan | undefined;

  /** The lab LAN if a board or the scenario has made it, without making one. */
  get lanIfMade(): LabLan | undefined {
    return this.#lanNow;
  }
  #boots: { board: Board; artifacts: string; startedMs: number }[] = [];

  /**
   * The boards and the LAN as the run's timeline.json keeps them (after the lab closed: transcripts and
   * logs are complete). File paths are relative to the lab's artifacts folder.
   */
  timeline(): { boards: TimelineBoard[]; lan?: Timeline["lan"] } {
    const rel = (p: string) => relative(this.artifacts, p);
    const boards = this.#boots.map(({ board, artifacts, startedMs }): TimelineBoard => {
      const t = board.console.transcript;
      const recent = t.recent();
      const raw = t.path.replace(/\.log$/, ".raw");
      const file = (p: string) => (existsSync(p) ? rel(p) : undefined);
      const files = { consoleRaw: file(raw), repro: file(join(artifacts, "repro.sh")), qemuCmdline: file(join(artifacts, "qemu-cmdline.txt")) };
      return {
        name: board.name, target: board.target.name, startedMs: Math.round(startedMs), mac: board.mac,
        files: { console: rel(t.path), ...Object.fromEntries(Object.entries(files).filter(([, v]) => v !== undefined)) },
        console: recent.lines.map((l) => ({ atMs: Math.round(startedMs + l.atMs), text: l.text })),
        omitted: recent.omitted,
      };
    });
    const lan = this.#lanNow;
    if (!lan) return { boards };
    const byMac = new Map(this.#boots.map((b) => [b.board.mac.toLowerCase(), b.board.name]));
    const files = { pcap: "lan.pcap", log: "lan-log.json" };
    try {
      return { boards, lan: { subnet: lan.subnet, events: lan.timelineEvents(byMac), files } };
    } catch (e) {
      // The run's record must survive a LAN whose objects a scenario broke (test/scenarios/blame/bootlab-bug.ts).
      return { boards, lan: { subnet: lan.subnet, events: [], files, unrecorded: String(e) } };
    }
  }

  /**
   * The failure as the lab's own logs see it: a device's "File not found" for a name the lab never
   * served is the scenario's mistake, not the product's.
   */
  reconsider(failure: BootlabFailure): BootlabFailure {
    return this.#lanNow ? blameMissingTftpFile(failure, this.#lanNow.tftpMisses()) : failure;
  }

  /**
   * A medium that outlives a boot, made from `image` (which stays untouched): boot a board with it as a
   * disk or a flash chip, power that board off, and boot another (or the same one again) with it.
   */
  medium(name: string, image: ImageRef): KeptMedium {
    return this.#media.keep(name, image);
  }

  /** A medium that outlives a boot and starts blank: `bytes` of zeros (storage as it comes from its maker). */
  blankMedium(name: string, bytes: number): KeptMedium {
    return this.#media.blank(name, bytes);
  }

  /**
   * Powers on a machine of `target` with the given boot media — or, with `snapshot`, restores it at that
   * point if an identical machine was prepared before (and prepares and saves it otherwise).
   */
  async boot(target: Target, opts: BootOptions = {}): Promise<Board> {
    const name = opts.name ?? target.name;
    const earlier = this.boards.filter((b) => b.name === name);
    if (earlier.some((b) => b.machine.running)) {
      throw new ScenarioError(`a machine named "${name}" is already running in this lab`, { at: callSite(), expected: "one name per running board (power it off to boot it again)" });
    }
    const snap = typeof opts.snapshot === "string" ? { at: opts.snapshot } : opts.snapshot;
    checkBootOptions(target, opts, !!snap);
    const t0 = performance.now();
    const { board, machine, overlays, lookup } = await this.#steps.run(`power on ${name}`, async () => {
      const disks = opts.disks ?? [];
      // One chip, one board: refused before anything of this board exists.
      this.#media.claim(name, [...disks, ...chipsOf(opts)]);
      const releases: (() => void)[] = [() => this.#media.release(name)];
      try {
        const artifacts = this.#artifactsFor(name, !!opts.name, earlier.length);
        // A snapshot's guest keeps the MAC it was saved with, whichever scenario restores it.
        const mac = macFor(snap ? `snapshot/${snap.name ?? snap.at}/${name}` : `${this.#seed}/${name}`);
        const { nics, lan } = await this.#nics(name, mac, opts);
        const rom = opts.bootSwitch ? this.#bootRom(name, target, opts) : undefined;
        const media: BootMedia = { firmware: rom?.firmware ?? opts.firmware, kernel: opts.kernel, initrd: opts.initrd, append: opts.append };
        const lookup = snap
          ? await this.#policy.lookup({
            target, request: snap,
            plan: { media, nics, disks: disks.map((d) => ({ file: d.path, format: "qcow2" })), ...(opts.usb ? { usb: opts.usb.map((d) => ({ file: d.path, format: "qcow2" as const })) } : {}) },
            lan: { plugged: !!lan, subnet: lan?.subnet, server: lan?.server.ip, mac },
          })
          : undefined;
        const hit = lookup?.hit;
        const bootsFromFlash = !opts.kernel && !opts.firmware && !!opts.flash?.[0];
        const drives = await this.#drives(name, target, opts, bootsFromFlash, releases, hit);
        const plan: MachinePlan = { media, nics, ...drives };
        writeRepro(artifacts, qemuArgs({ ...plan, target, consoles: [], interactive: true }));
        const machine = await Machine.start({
          name, target, plan, artifacts, runDir: this.runDir, owner: this.#owner, incoming: hit?.state,
          // Under firmware (given, or in the board's flash), one U-Boot banner per power-on is the normal
          // start; a second is a reset.
          badPatterns: linuxBadPatterns({ bootloaderBanners: media.firmware || bootsFromFlash ? 1 : 0 }),
        });
        // The board's media are free (and back in their own byte order) once its machine has stopped.
        void machine.exited.then(() => releases.forEach((r) => r()));
        const silentIfDead = rom
          ? { ms: (target.machine.flash?.firstOutputSeconds ?? 10) * 1000, what: `nothing boots from its ${opts.bootSwitch === "sd" ? "storage" : "USB download"} (boot ROM: ${rom.log.join("; ")})` }
          : bootsFromFlash ? { ms: target.machine.flash!.firstOutputSeconds * 1000, what: "nothing boots from its flash" } : undefined;
        const board = new Board(name, machine, mac, this.#steps, this.#timeouts, () => this.#lanNow, {
          ...(silentIfDead ? { silentIfDead } : {}),
          overlay: (role, image) => this.#media.drive(name, role, image),
        });
        this.boards.push(board);
        // Where the console's times count from, on the run's axis.
        const startedMs = this.#steps.now() - (performance.now() - machine.console.transcript.t0);
        this.#boots.push({ board, artifacts, startedMs });
        if (hit && lookup) await this.#restore(board, machine, lookup, lan, t0);
        return { board, machine, overlays: drives.disks.map((d) => d.file), lookup };
      } catch (e) {
        releases.forEach((r) => r());
        throw e;
      }
    }, { board: name });
    if (snap && lookup && !lookup.hit) await this.#prepareSnapshot(board, machine, snap, lookup, overlays, t0);
    return board;
  }

  /**
   * The board's boot ROM before power-on: what it finds on the switch's source, told in the run's notes, and
   * the first stage (written to a file QEMU loads as its firmware) when one passes the ROM's check.
   */
  #bootRom(name: string, target: Target, opts: BootOptions): { firmware?: string; log: string[] } {
    const rom = target.machine.bootRom!;
    let decision;
    if (opts.bootSwitch === "usb") {
      decision = romBootFromDownload(new Uint8Array(readFileSync(opts.download!)), basename(opts.download!));
    } else {
      const disk = opts.disks![0]!;
      const fd = openSync(disk.path, "r");
      try {
        decision = romBootFromDisk(rom, (offset, length) => {
          const buf = new Uint8Array(length);
          readSync(fd, buf, 0, length, offset);
          return buf;
        });
      } finally {
        closeSync(fd);
      }
    }
    this.#note(`${name}: boot ROM, switch on ${opts.bootSwitch}: ${decision.log.join("; ")}${decision.firstStage ? "" : " — nothing to run, the board stays silent"}`);
    if (!decision.firstStage) return { log: decision.log };
    const firmware = join(this.runDir, `${name}-first-stage.bin`);
    writeFileSync(firmware, decision.firstStage);
    return { firmware, log: decision.log };
  }

  /**
   * What the board holds, as QEMU opens it: disk and stick overlays (over a snapshot's saved disks when
   * restoring), kept media as they are, flash chips in their role. `releases` gets what undoes a role.
   */
  async #drives(name: string, target: Target, opts: BootOptions, bootsFromFlash: boolean, releases: (() => void)[], hit?: SnapshotLookup["hit"]) {
    const disks: DriveFile[] = [];
    for (const [i, d] of (opts.disks ?? []).entries()) disks.push(await this.#media.drive(name, `disk${i}`, d, hit?.disk(i)));
    const usb: DriveFile[] = [];
    for (const [i, d] of (opts.usb ?? []).entries()) usb.push(await this.#media.drive(name, `usb${i}`, d));
    const flash = (opts.flash ?? []).map((m, index) => {
      if (!m) return null;
      const role = flashRole({ flash: target.machine.flash!, index, medium: m, bootsFromFlash, runDir: this.runDir, board: name, target: target.name });
      releases.push(role.release);
      return role.drive;
    });
    return { disks, ...(opts.usb ? { usb } : {}), ...(flash.length ? { flash } : {}) };
  }

  #artifactsFor(name: string, named: boolean, earlierBoots: number): string {
    const base = this.boards.length === 0 && !named ? this.artifacts : join(this.artifacts, name);
    // A board powered on again keeps its first boot's files and gets a folder per later power-on.
    const dir = earlierBoots ? join(this.artifacts, `${name}.boot${earlierBoots + 1}`) : base;
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  async #nics(name: string, mac: string, opts: BootOptions): Promise<{ nics: NicPlan[]; lan?: LabLan }> {
    const nic: NicPlan = { id: "n0", mac };
    if (opts.lan === "slirp") return { nics: [{ ...nic, slirp: { tftpRoot: opts.slirpTftpRoot } }] };
    if (opts.lan === false) return { nics: [nic] };
    const lan = await this.lan();
    const sock = join(this.runDir, `${name}-lan0.sock`);
    // A board powered on again plugs into the port it had: the port listens still, and its last QEMU's
    // connection closed with that QEMU.
    if (!lan.segment.hasPort(name)) await lan.segment.addSocketPort(name, sock);
    return { nics: [{ ...nic, lanSocket: sock }], lan };
  }

  async #restore(board: Board, machine: Machine, lookup: SnapshotLookup, lan: LabLan | undefined, t0: number): Promise<void> {
    const hit = lookup.hit!;
    await machine.resumeFromIncoming();
    board.restoredFrom = { point: lookup.inputs.point, key: lookup.key, name: lookup.name };
    // The guest still holds its lease: the new lab's DHCP server must agree.
    if (hit.meta.lease && lan) lan.dhcp.remember(hit.meta.lease.mac, hit.meta.lease.ip);
    this.#note(`snapshot "${lookup.name}" (${lookup.key.slice(0, 12)}) restored in ${(performance.now() - t0).toFixed(0)} ms; its cold boot took ${hit.meta.coldMs} ms`);
  }

  async #prepareSnapshot(board: Board, machine: Machine, snap: SnapshotRequest, lookup: SnapshotLookup, overlays: string[], t0: number): Promise<void> {
    await this.#steps.run(`prepare snapshot point "${lookup.name}"`, async () => {
      if (snap.at === "shell") await board.shell();
      else await board.uboot();
      await snap.prepare?.(board);
    }, { board: board.name });
    if (!lookup.canSave) return;
    const coldMs = Math.round(performance.now() - t0);
    await this.#steps.run(`save snapshot "${lookup.name}"`, async () => {
      const ip = board.leasedIp();
      await this.#policy.save({ machine, lookup, target: board.target.name, overlays, coldMs, ...(ip ? { lease: { mac: board.mac, ip } } : {}) });
    }, { board: board.name });
  }
}

/** The flash media a boot names (empty slots left out). */
function chipsOf(opts: BootOptions): MediumRef[] {
  return (opts.flash ?? []).filter((m): m is MediumRef => m !== null);
}

/** What can be refused before anything starts: combinations the lab cannot honour. */
function checkBootOptions(target: Target, opts: BootOptions, snapshot: boolean): void {
  if (snapshot && opts.usb?.length) {
    // Their overlays are not saved with the state yet: a restored guest would find other bytes.
    throw new ScenarioError("a board with USB sticks plugged in at power-on cannot have a snapshot point", {
      expected: "plug the sticks in after the snapshot point (board.plugUsb), or drop `snapshot`",
    });
  }
  const chips = chipsOf(opts);
  if (snapshot && (chips.length || opts.disks?.some((d) => d instanceof KeptMedium))) {
    throw new ScenarioError("a board with flash chips or kept media cannot have a snapshot point", {
      expected: "their bytes are not saved with the machine's state: drop `snapshot` for this board",
    });
  }
  if (chips.length && !target.machine.flash) {
    throw new ScenarioError(`target ${target.name} has no flash of its own`, { expected: `a "machine.flash" object in targets/${target.name}.json` });
  }
  if (chips.length && opts.firmware && target.machine.flash) {
    throw new ScenarioError("a board is given both firmware (-bios) and flash chips", {
      expected: "one of them: QEMU puts -bios where the first flash chip is",
    });
  }
  if (opts.kernel && opts.flash?.[0] && target.machine.flash?.firstChipRunsFirst) {
    throw new ScenarioError(`${target.name} runs what is in its first flash chip even when given a kernel`, {
      expected: `no kernel (power on from the flash), or the first chip slot left empty (flash: [null, …]): ${target.machine.flash.firstChipRunsFirst}`,
    });
  }
  if (opts.bootSwitch) checkBootSwitch(target, opts, snapshot);
  checkCommandLine(target, { kernel: opts.kernel, initrd: opts.initrd, append: opts.append },
    opts.initrd && existsSync(opts.initrd) ? statSync(opts.initrd).size : undefined);
}

/** A boot through the ROM takes nothing else that would run first, and names the source its switch points at. */
function checkBootSwitch(target: Target, opts: BootOptions, snapshot: boolean): void {
  const refuse = (what: string, expected: string) => {
    throw new ScenarioError(`bootSwitch "${opts.bootSwitch}": ${what}`, { at: callSite(), expected });
  };
  if (!target.machine.bootRom) refuse(`target ${target.name} has no boot ROM model`, `a "machine.bootRom" object in targets/${target.name}.json`);
  if (opts.firmware || opts.kernel || chipsOf(opts).length) refuse("the board is also given firmware, a kernel or flash chips", "the boot ROM alone decides what runs: drop firmware/kernel/flash");
  if (snapshot) refuse("a board booted by its ROM cannot have a snapshot point", "drop `snapshot` for this board");
  if (opts.bootSwitch === "usb" && !opts.download) refuse("no first stage to download", "download: the path of an STM32 image (the layout's fsbl-boot binary)");
  if (opts.bootSwitch === "usb" && opts.download && !existsSync(opts.download)) refuse(`${opts.download} does not exist`, "the path of an STM32 image");
  if (opts.bootSwitch === "sd") {
    const disk = opts.disks?.[0];
    if (!disk) refuse("the board has no storage", "disks: [the storage medium] (lab.medium or an image)");
    const format = disk instanceof KeptMedium ? disk.format : disk!.format ?? (disk!.path.endsWith(".qcow2") ? "qcow2" : "raw");
    if (format !== "raw") refuse(`the storage ${disk!.path} is ${format}`, "a raw disk image (the ROM model reads its bytes)");
  }
}

function writeRepro(dir: string, argv: string[]): void {
  const path = join(dir, "repro.sh");
  writeFileSync(path, [
    "#!/bin/sh",
    "# Brings the same machine back up with its serial console on this terminal (Ctrl-A X quits QEMU).",
    "# The NIC is present but unplugged: the lab LAN lives only while bootlab runs.",
    `exec ${shellQuote(argv)} "$@"`,
    "",
  ].join("\n"));
  chmodSync(path, 0o755);
}
