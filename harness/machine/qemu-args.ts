// Turns a target (data) plus what a scenario asked for into QEMU's command line. Pure: no processes,
// no files — the same function makes the harness's command line and the one in repro.sh.

import { ScenarioError } from "../errors/failures.ts";
import { linuxCommandLine, type Target } from "../targets/catalogue.ts";

export interface BootMedia {
  /** Firmware in the board's flash (-bios): U-Boot, which then boots whatever the scenario gives it. */
  firmware?: string;
  /** -kernel image (direct kernel boot). */
  kernel?: string;
  initrd?: string;
  /** Words added to the kernel command line after the console and panic settings. */
  append?: string[];
}

export interface NicPlan {
  id: string;
  mac: string;
  /** Unix socket of the lab LAN port this NIC plugs into; undefined = a NIC with no cable. */
  lanSocket?: string;
  /** QEMU's own user-mode network instead (the baseline benches compare against). */
  slirp?: { tftpRoot?: string };
}

export interface ConsolePlan {
  id: string;
  /** Unix socket the harness listens on; QEMU connects to it. */
  socket: string;
  /** QEMU's own raw log of every byte the port sent. */
  logfile: string;
}

/** A block device image as QEMU opens it (a per-run overlay, or a content hash in a fingerprint). */
export interface DriveFile {
  file: string;
  format: "raw" | "qcow2";
}

/** What a board is made of and boots from, before any socket exists: the pure part of a machine. */
export interface MachinePlan {
  media: BootMedia;
  nics: NicPlan[];
  /** Disks on the target's disk device (target.machine.disk), in order. */
  disks?: DriveFile[];
  /** The target's USB controller with sticks plugged in at power-on; undefined: no controller. */
  usb?: DriveFile[];
  /** The board's own flash chips (target.machine.flash), in pflash unit order: raw files of the chip's size; null: an empty slot. */
  flash?: (DriveFile | null)[];
  extraArgs?: string[];
}

export interface QemuPlan extends MachinePlan {
  target: Target;
  /** Interactive variant for repro.sh: serial on stdio, no QMP socket, start at once. */
  interactive?: boolean;
  consoles: ConsolePlan[];
  qmpSocket?: string;
  /** Start with the CPUs stopped (-S): the preflight, which only checks that QEMU comes up. */
  paused?: boolean;
}

export function kernelCommandLine(target: Target, media: BootMedia): string {
  return [...linuxCommandLine(target), ...(media.append ?? [])].join(" ");
}

/**
 * Refuses a command line the target's loader would cut (QEMU's malta loader keeps 255 bytes, its own
 * "rd_start=… rd_size=…" included) — a scenario error before power-on instead of a silently shortened line.
 */
export function checkCommandLine(target: Target, media: BootMedia, initrdBytes?: number): void {
  const limit = target.guest.kernel.commandLineLimit;
  if (!limit || !media.kernel) return;
  const line = kernelCommandLine(target, media);
  const prefix = media.initrd && limit.initrdPrefix ? limit.initrdPrefix.replace("{size}", String(initrdBytes ?? 0)) : "";
  const total = prefix.length + line.length;
  if (total > limit.bytes) {
    throw new ScenarioError(`the kernel command line for ${target.name} is ${total} bytes${prefix ? ` with QEMU's "${prefix.trim()}"` : ""}; QEMU cuts it at ${limit.bytes}`, {
      expected: `append shorter by ${total - limit.bytes} bytes (long parameters such as mtdparts= can go into a built-in command line)`,
      seen: line,
    });
  }
}

export function qemuArgs(plan: QemuPlan): string[] {
  const t = plan.target;
  const a: string[] = [t.machine.qemu.binary, "-M", t.machine.qemu.machine];
  if (t.machine.qemu.cpu) a.push("-cpu", t.machine.qemu.cpu);
  // No -no-reboot: a guest that reboots really reboots, as a board would, and the console watcher
  // reports the second boot banner as an unexpected reset unless the scenario allows it.
  a.push("-m", String(t.machine.qemu.memoryMiB), "-nodefaults", "-no-user-config", "-display", "none");
  if (plan.paused) a.push("-S");
  if (plan.interactive) {
    a.push("-serial", "mon:stdio");
  } else {
    // QEMU connects to sockets the harness already listens on, while it initialises and before the guest
    // runs: the kernel queues every byte until the harness reads it, so nothing is lost without -S.
    for (const c of plan.consoles) {
      a.push("-chardev", `socket,id=${c.id},path=${c.socket},server=off,logfile=${c.logfile}`, "-serial", `chardev:${c.id}`);
    }
    if (plan.qmpSocket) a.push("-chardev", `socket,id=qmp,path=${plan.qmpSocket},server=off`, "-mon", "chardev=qmp,mode=control");
  }
  for (const n of plan.nics) {
    if (n.slirp) {
      a.push("-netdev", `user,id=${n.id}${n.slirp.tftpRoot ? `,tftp=${n.slirp.tftpRoot}` : ""}`);
    } else if (n.lanSocket && !plan.interactive) {
      a.push("-netdev", `stream,id=${n.id},server=off,addr.type=unix,addr.path=${n.lanSocket}`);
    } else {
      a.push("-netdev", `hubport,id=${n.id},hubid=${plan.nics.indexOf(n)}`);
    }
    a.push("-device", `${t.machine.nic.device},netdev=${n.id},mac=${n.mac}`);
  }
  if (plan.media.firmware) a.push("-bios", plan.media.firmware);
  if (plan.media.kernel) a.push("-kernel", plan.media.kernel);
  if (plan.media.initrd) a.push("-initrd", plan.media.initrd);
  if (plan.media.kernel) a.push("-append", kernelCommandLine(t, plan.media));
  // Flash first: with no kernel and no firmware, the CPU starts in pflash unit 0.
  (plan.flash ?? []).forEach((f, i) => f && a.push("-drive", `if=pflash,unit=${i},format=${f.format},file=${f.file}`));
  a.push(...diskArgs(t, plan.disks ?? []));
  if (plan.usb) a.push(...usbArgs(t, plan.usb));
  a.push(...t.machine.qemu.extraArgs, ...(plan.extraArgs ?? []));
  return a;
}

/** The board's disks, on its disk device. */
function diskArgs(target: Target, disks: DriveFile[]): string[] {
  if (disks.length && !target.machine.disk) {
    throw new ScenarioError(`target ${target.name} has no disk device`, { expected: `a "disk" object in targets/${target.name}.json` });
  }
  return disks.flatMap((d, i) => [
    "-drive", `file=${d.file},if=none,id=disk${i},format=${d.format}`,
    "-device", `${target.machine.disk!.device},drive=disk${i}`,
  ]);
}

/** The USB controller and the sticks plugged in at power-on. */
function usbArgs(target: Target, sticks: DriveFile[]): string[] {
  const u = target.machine.usb;
  if (!u) throw new ScenarioError(`target ${target.name} has no USB controller`, { expected: `a "usb" object in targets/${target.name}.json` });
  return [
    "-device", `${u.controller},id=${u.bus.replace(/\.0$/, "")}`,
    ...sticks.flatMap((d, i) => ["-drive", `file=${d.file},if=none,id=usb${i},format=${d.format}`, "-device", `usb-storage,bus=${u.bus},drive=usb${i},id=usbstick${i}`]),
  ];
}

/** Quotes argv for a POSIX shell (repro.sh, logs). */
export function shellQuote(argv: string[]): string {
  return argv.map((w) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/** A locally administered MAC derived from a name, so the same scenario gets the same MAC every run. */
export function macFor(seed: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193) >>> 0;
  const b = [0x52, 0x54, 0x00, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff];
  return b.map((x) => x.toString(16).padStart(2, "0")).join(":");
}
