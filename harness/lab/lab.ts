// The lab of one scenario run on one target: the machines it powers on and the LAN they share. It owns
// all of them, so whatever happens in the scenario, closing the lab stops everything.

import { chmodSync, copyFileSync, existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Owner } from "../lifecycle/owner.ts";
import type { Steps } from "../scenario/steps.ts";
import type { Target } from "../targets/catalogue.ts";
import { Machine } from "../machine/machine.ts";
import { type BootMedia, checkCommandLine, macFor, type MachinePlan, type NicPlan, qemuArgs, shellQuote } from "../machine/qemu-args.ts";
import { linuxBadPatterns } from "../console/bad-patterns.ts";
import type { FrameEvent } from "../lan/segment.ts";
import { LabLan, type LanOptions } from "./lan.ts";
import { Board, type BoardTimeouts } from "./board.ts";
import { runCommand } from "../host/command.ts";
import { ScenarioError } from "../errors/failures.ts";
import { SnapshotCache } from "../snapshot/cache.ts";
import { differences, fileHash, fingerprintKey, type FingerprintInputs, qemuVersion } from "../snapshot/fingerprint.ts";

/**
 * A named point a machine is prepared up to once; later boots with the same inputs start from there.
 * "shell": bootlab's init handed over a synced shell. "uboot": U-Boot's prompt is ours (ethaddr set).
 */
export interface SnapshotRequest {
  at: "shell" | "uboot";
  /** Names the point (default: `at`). Boards with the same name and the same inputs share it. */
  name?: string;
  /** More preparation after `at`, saved with it; its source text is part of the fingerprint. */
  prepare?: (board: Board) => Promise<void>;
}

export interface BootOptions extends BootMedia {
  /** Name of the machine in this lab (default: the target's name). */
  name?: string;
  /**
   * Plug the board's NIC into the lab LAN (default true); false leaves it unplugged; "slirp" uses QEMU's
   * user-mode network instead (for baselines: read-only TFTP from `slirpTftpRoot`, host at 10.0.2.2).
   */
  lan?: boolean | "slirp";
  slirpTftpRoot?: string;
  /**
   * Disk images the board sees as block devices (target.disk.device), in order. The images themselves are
   * never written: each run writes to its own qcow2 overlay.
   */
  disks?: { path: string; format?: "raw" | "qcow2" }[];
  /**
   * USB sticks plugged in at power-on (images; each run writes to its own overlay). Passing it — even
   * empty — gives the board the target's USB controller, so sticks can be hot-plugged later.
   */
  usb?: { path: string; format?: "raw" | "qcow2" }[];
  /** Prepare the machine up to a point once and restore it from there afterwards (see SnapshotRequest). */
  snapshot?: "shell" | "uboot" | SnapshotRequest;
}

export class Lab {
  readonly runDir: string;
  readonly artifacts: string;
  readonly boards: Board[] = [];
  #owner: Owner;
  #steps: Steps;
  #timeouts: BoardTimeouts;
  #lan: Promise<LabLan> | undefined;
  #seed: string;
  #snapshots: boolean;
  #note: (line: string) => void;

  constructor(o: {
    owner: Owner; steps: Steps; runDir: string; artifacts: string; timeouts: BoardTimeouts; seed: string;
    /** false: every boot is cold and nothing is saved (--no-snapshots). */
    snapshots?: boolean;
    note?: (line: string) => void;
  }) {
    this.#snapshots = o.snapshots ?? true;
    this.#note = o.note ?? (() => {});
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
    this.#lan ??= LabLan.create({ owner: this.#owner, artifacts: this.artifacts, seed: this.#seed, opts })
      .then((lan) => (this.#lanNow = lan));
    return this.#lan;
  }

  /** Frames seen on the lab LAN so far (empty until the LAN exists). */
  get frames(): readonly FrameEvent[] {
    return this.#lanNow?.frames ?? [];
  }

  #lanNow: LabLan | undefined;

  /**
   * Powers on a machine of `target` with the given boot media — or, with `snapshot`, restores it at that
   * point if an identical machine was prepared before (and prepares and saves it otherwise).
   */
  async boot(target: Target, opts: BootOptions = {}): Promise<Board> {
    const name = opts.name ?? target.name;
    if (this.boards.some((b) => b.name === name)) throw new Error(`a machine named "${name}" is already in this lab`);
    const snap = typeof opts.snapshot === "string" ? { at: opts.snapshot } : opts.snapshot;
    const snapName = snap ? snap.name ?? snap.at : "";
    if (snap && opts.usb?.length) {
      // Their overlays are not saved with the state yet: a restored guest would find other bytes.
      throw new ScenarioError("a board with USB sticks plugged in at power-on cannot have a snapshot point", {
        expected: "plug the sticks in after the snapshot point (board.plugUsb), or drop `snapshot`",
      });
    }
    checkCommandLine(target, { kernel: opts.kernel, initrd: opts.initrd, append: opts.append },
      opts.initrd && existsSync(opts.initrd) ? statSync(opts.initrd).size : undefined);
    const t0 = performance.now();
    const prepared = await this.#steps.run(`power on ${name}`, async () => {
      const artifacts = this.boards.length === 0 && !opts.name ? this.artifacts : join(this.artifacts, name);
      mkdirSync(artifacts, { recursive: true });
      // A snapshot's guest keeps the MAC it was saved with, whichever scenario restores it.
      const mac = macFor(snap ? `snapshot/${snapName}/${name}` : `${this.#seed}/${name}`);
      const nics: NicPlan[] = [{ id: "n0", mac }];
      let lan: LabLan | undefined;
      if (opts.lan === "slirp") nics[0]!.slirp = { tftpRoot: opts.slirpTftpRoot };
      else if (opts.lan !== false) {
        lan = await this.lan();
        const sock = join(this.runDir, `${name}-lan0.sock`);
        await lan.segment.addSocketPort(name, sock);
        nics[0]!.lanSocket = sock;
      }
      const media: BootMedia = { firmware: opts.firmware, kernel: opts.kernel, initrd: opts.initrd, append: opts.append };
      const disks = opts.disks ?? [];
      if (disks.length && !target.disk) throw new ScenarioError(`target ${target.name} has no disk device`, { expected: `a "disk" object in targets/${target.name}.json` });

      let inputs: FingerprintInputs | undefined;
      let key = "";
      let hit: ReturnType<SnapshotCache["get"]>;
      const cache = new SnapshotCache();
      if (snap) {
        const hashed = async (p?: string) => (p ? `sha256:${await fileHash(p)}` : undefined);
        inputs = {
          point: snap.at, name: snapName, prepare: snap.prepare?.toString() ?? "", target,
          qemuVersion: qemuVersion(target.qemu.binary),
          argv: qemuArgs({
            target,
            media: { ...media, firmware: await hashed(media.firmware), kernel: await hashed(media.kernel), initrd: await hashed(media.initrd) },
            nics: nics.map((n) => ({ ...n, lanSocket: n.lanSocket && "LAN" })),
            consoles: [{ id: "con0", socket: "CONSOLE", logfile: "LOG" }], qmpSocket: "QMP",
            disks: await Promise.all(disks.map(async (d) => ({ file: `sha256:${await fileHash(d.path)}`, format: "qcow2" as const }))),
            ...(opts.usb ? { usb: await Promise.all(opts.usb.map(async (d) => ({ file: `sha256:${await fileHash(d.path)}`, format: "qcow2" as const }))) } : {}),
          }),
          lan: { plugged: !!lan, subnet: lan?.subnet, server: lan?.server.ip, mac },
        };
        key = fingerprintKey(inputs);
        if (!this.#snapshots) this.#note(`snapshot "${snapName}": cold boot (snapshots are off)`);
        else if (target.snapshots?.supported === false) this.#note(`snapshot "${snapName}": cold boot: ${target.name} cannot be restored (${target.snapshots.why ?? "see its target data"})`);
        else {
          hit = cache.get(key);
          if (!hit) {
            const stale = cache.others(snapName, target.name, key);
            this.#note(`snapshot "${snapName}" for ${target.name}: ${stale.length
              ? `cold boot: the saved one was made from other inputs (${differences(stale.at(-1)!.inputs, inputs).join(", ")})`
              : "cold boot: none saved yet"}`);
          }
        }
      }

      // Per-run overlays: the images stay untouched; a restore stacks on the snapshot's saved overlays.
      const overlays: string[] = [];
      for (const [i, d] of disks.entries()) {
        const overlay = join(this.runDir, `${name}-disk${i}.qcow2`);
        const [backing, fmt] = hit ? [hit.disk(i), "qcow2"] : [d.path, d.format ?? (d.path.endsWith(".qcow2") ? "qcow2" : "raw")];
        await runCommand(["qemu-img", "create", "-q", "-f", "qcow2", "-F", fmt, "-b", backing, overlay], { why: `create a disk overlay for ${d.path}` });
        overlays.push(overlay);
      }
      const usbOverlays: string[] = [];
      if (opts.usb && !target.usb) throw new ScenarioError(`target ${target.name} has no USB controller`, { expected: `a "usb" object in targets/${target.name}.json` });
      for (const [i, d] of (opts.usb ?? []).entries()) {
        const overlay = join(this.runDir, `${name}-usb${i}.qcow2`);
        await runCommand(["qemu-img", "create", "-q", "-f", "qcow2", "-F", d.format ?? "raw", "-b", d.path, overlay], { why: `create an overlay for the USB stick ${d.path}` });
        usbOverlays.push(overlay);
      }
      const plan: MachinePlan = {
        media, nics,
        disks: overlays.map((file) => ({ file, format: "qcow2" })),
        ...(opts.usb ? { usb: usbOverlays.map((file) => ({ file, format: "qcow2" as const })) } : {}),
      };
      writeRepro(artifacts, qemuArgs({ ...plan, target, consoles: [], interactive: true }));
      const machine = await Machine.start({
        name, target, plan, artifacts, runDir: this.runDir, owner: this.#owner,
        incoming: hit?.state,
        // Under firmware, one U-Boot banner per power-on is the normal start; a second is a reset.
        badPatterns: linuxBadPatterns({ bootloaderBanners: opts.firmware ? 1 : 0 }),
      });
      const board = new Board(name, machine, mac, this.#steps, this.#timeouts, () => this.#lanNow);
      board.runDir = this.runDir;
      this.boards.push(board);
      if (hit) {
        await machine.resumeFromIncoming();
        board.restoredFrom = { point: snap!.at, key, name: snapName };
        // The guest still holds its lease: the new lab's DHCP server must agree.
        if (hit.meta.lease && lan) lan.dhcp.remember(hit.meta.lease.mac, hit.meta.lease.ip);
        this.#note(`snapshot "${snapName}" (${key.slice(0, 12)}) restored in ${(performance.now() - t0).toFixed(0)} ms; its cold boot took ${hit.meta.coldMs} ms`);
      }
      return { board, machine, overlays, inputs, key, hit };
    });
    const { board, machine, overlays, inputs, key, hit } = prepared;
    const canSave = this.#snapshots && target.snapshots?.supported !== false;
    if (snap && !hit) {
      await this.#steps.run(`prepare snapshot point "${snapName}"`, async () => {
        if (snap.at === "shell") await board.shell();
        else await board.uboot();
        await snap.prepare?.(board);
      });
      if (canSave) {
        const coldMs = Math.round(performance.now() - t0);
        await this.#steps.run(`save snapshot "${snapName}"`, async () => {
          const cache = new SnapshotCache();
          const staging = cache.staging(key);
          try {
            await machine.saveState(join(staging.dir, "state"));
            overlays.forEach((o, i) => copyFileSync(o, join(staging.dir, `disk-${i}.qcow2`)));
            await machine.resume();
            const ip = board.leasedIp();
            const meta = staging.commit({
              key, name: snapName, point: snap.at, target: target.name, coldMs, disks: overlays.length, inputs: inputs!,
              ...(ip ? { lease: { mac: board.mac, ip } } : {}),
            });
            this.#note(`snapshot "${snapName}" (${key.slice(0, 12)}) saved: ${(meta.bytes / 1048576).toFixed(1)} MB; cold boot to it took ${coldMs} ms`);
          } catch (e) {
            staging.abort();
            throw e;
          }
        });
      }
    }
    return board;
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
