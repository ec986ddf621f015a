// Seed 004's boot chain as parts a scenario composes: the router's firmware — a kernel, an initramfs
// whose /init is the custom preinit (fixtures/preinit/preinit.sh), and a flash image with the squashfs
// root and rootfs_data (fixtures/flash/) — the boot script it fetches (HTTP) or finds (USB /boot/), the
// custom kernel's bigger initramfs (stage 2: mount the USB, loop-image or NBD root, switch_root), and the
// root file system for the stick. Target differences (modules, kexec arguments, how the flash is reached,
// a kernel built from source where Debian's cannot kexec) come from the target data, not from branches here.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { linuxCommandLine, type Target } from "../targets/catalogue.ts";
import type { TargetFixtures } from "../scenario/context.ts";
import { projectRoot } from "../paths.ts";
import { ProductFailure, ScenarioError } from "../errors/failures.ts";
import type { Board } from "../lab/board.ts";
import type { LinuxShell } from "../console/linux-shell.ts";
import type { ImageFile } from "../images/stage.ts";
import { buildFlash, type FlashImage, type FlashLayout, readFlashLayout } from "../images/flash.ts";

/** What the preinit's normal boot says when the flash root is up: squashfs + the rootfs_data overlay. */
export const FLASH_ROOT = /preinit\.00: flash root: squashfs from [^+\n]+ \+ (jffs2|ext4) overlay on \S+/;

/**
 * Lines after which the chain has left the path a scenario waits for: a branch gave up and the next one
 * runs. Give them as `failOn` to board.expect on a happy path, and the step fails at once quoting the
 * line ("preinit: USB mount failed: no such device …") instead of timing out further down.
 */
export const BRANCH_FAILED: RegExp[] = [
  /preinit: network: (no DHCP lease|no boot script)[^\n]*/,
  /preinit: USB mount failed: [^\n]*/,
  /preinit: USB: no \/boot\/[^\n]* on the stick/,
  /preinit: boot script from \w+ failed[^\n]*/,
  /boot script: (cannot|download|kexec load failed|kexec -e returned)[^\n]*/,
  /stage2: (USB mount failed|root: cannot|root: no|no root file system|unknown root)[^\n]*/,
  /preinit\.00: [^\n]*(no flash root|did not mount)[^\n]*/,
  /preinit: falling back to the flash root/,
];

const fixture = (name: string) => readFileSync(join(projectRoot, "fixtures", "preinit", name), "utf8");

/**
 * Where stage 2 finds its root: the stick as an ext4 file system ("usb"), an ext4 image file on the stick
 * ("usb-image:/rootfs.img", the stick itself vfat or ext4), or an NBD export ("nbd:HOST:PORT:EXPORT").
 */
export type Stage2Root = "usb" | `usb-image:/${string}` | `nbd:${string}`;

export interface PreinitChainOptions {
  /** Base URL the preinit fetches boot.sh from (and the boot script the kernel and stage 2 from). */
  http?: string;
  /** How long the preinit waits for a USB stick to appear. Default 3 s. */
  usbWaitSeconds?: number;
  /** The boot script's name in /boot/ on the stick. Default boot.sh. */
  script?: string;
  root: Stage2Root;
  /** The flash layout, by name in fixtures/flash/ or path. Default openwrt-like. */
  flashLayout?: string;
}

export interface PreinitChain {
  /** The kernel the board boots from flash (QEMU's -kernel). */
  flashKernel: string;
  /** The router's firmware initramfs: preinit as /init, the normal boot as /etc/preinit.00. */
  flashInitramfs: string;
  /** What the squashfs root of the flash holds (busybox and an init that hands the harness a shell). */
  flashRootFiles: ImageFile[];
  flashLayout: FlashLayout;
  /** How rootfs_data is formatted: jffs2 on an MTD, ext4 where the kernel reaches the flash through loop devices. */
  flashDataFs: "jffs2" | "ext4";
  /** What the boot script runs: the kernel kexec loads and its bigger initramfs (none when it is built into the kernel). */
  kernel: Uint8Array;
  stage2?: Uint8Array;
  /** The boot script, for the stick's /boot/ or the HTTP server. */
  bootScript: string;
  /** A root file system for stage 2 (busybox and an init that hands the harness a shell). */
  rootFiles: ImageFile[];
}

/** A root file system: static busybox as the interpreter of an init that prints `banner` and starts the harness's shell. */
function rootFileSystem(busybox: Uint8Array, banner: string, extra: ImageFile[]): ImageFile[] {
  const shellInit = readFileSync(join(projectRoot, "fixtures", "init", "shell.sh"), "utf8");
  // The root has no /bin/sh until busybox installs its links: the interpreter is busybox itself.
  const init = shellInit.replace(/^#!\/bin\/sh/, "#!/bin/busybox sh").replace('echo "bootlab-init: ready', `echo "${banner}"\necho "bootlab-init: ready`);
  return [
    { path: "bin/busybox", data: busybox, mode: 0o755 },
    { path: "sbin/init", data: init, mode: 0o755 },
    ...extra,
    ...["proc", "sys", "dev", "tmp", "root", "mnt", "rom", "overlay", "usr/bin", "usr/sbin"].map((d) => ({ path: `${d}/`, data: "" })),
  ];
}

export async function preinitChain(target: Target, fixtures: TargetFixtures, o: PreinitChainOptions): Promise<PreinitChain> {
  if (!target.flows.kexec?.supported) {
    throw new ScenarioError(`target ${target.name} cannot kexec: ${target.flows.kexec?.why ?? "no kexec data"}`, { expected: `a "kexec" object in targets/${target.name}.json` });
  }
  if (!target.flows.flashAsDisk) {
    throw new ScenarioError(`target ${target.name} has no flows.flashAsDisk data`, { expected: `a "flows.flashAsDisk" object in targets/${target.name}.json (block2mtd or loop)` });
  }
  const built = target.flows.kexec.kernel !== undefined;
  // A kernel built from source has every driver built in; Debian's load them as modules.
  const mods = (list: string[]) => (built ? [] : list);
  const usb = target.machine.usb?.linuxModules ?? [];
  const disk = target.machine.disk?.linuxModules ?? [];
  // ext4 asks for crc32c by name at mount time (no module dependency carries it).
  const fsModules = ["crc32c_generic", "ext4", "vfat", "nls_cp437", "nls_ascii", "overlay", "squashfs", "loop"];
  const flashModules = mods([...usb, ...target.machine.nic.linuxModules, ...disk, ...fsModules]);
  const conf = [
    `PREINIT_MODULES="${flashModules.join(" ")}"`,
    `PREINIT_NIC=${target.machine.nic.linuxName}`,
    `PREINIT_HTTP="${o.http ?? ""}"`,
    `PREINIT_USB_WAIT=${o.usbWaitSeconds ?? 3}`,
    `PREINIT_SCRIPT=${o.script ?? "boot.sh"}`,
    `FLASH_DEV=/dev/${target.machine.disk?.linuxName ?? "vda"}`,
    `FLASH_ACCESS=${target.flows.flashAsDisk.access}`,
    `FLASH_DATA_FS=${target.flows.flashAsDisk.dataFs}`,
    `STAGE2_CMDLINE="${linuxCommandLine(target).join(" ")}"`,
    `STAGE2_INITRD=${built ? "built-in" : "file"}`,
    `KEXEC_ARGS="${target.flows.kexec.args.join(" ")}"`,
    "",
  ].join("\n");
  const layout = readFlashLayout(o.flashLayout ?? "openwrt-like");
  const flashKernel = built ? (await fixtures.builtKernel()).image : await fixtures.kernel();
  const flashInitramfs = await fixtures.initramfs({
    init: fixture("preinit.sh"),
    modules: flashModules,
    programs: ["/sbin/kexec"],
    files: [
      { path: "etc/preinit.conf", data: conf },
      { path: "etc/preinit.00", data: fixture("preinit.00.sh"), mode: 0o755 },
      // The chip's erase block, for block2mtd.
      { path: "etc/flash.erase", data: `${layout.eraseBlockBytes}\n` },
    ],
  });
  const stage2Modules = mods([...usb, ...target.machine.nic.linuxModules, "crc32c_generic", "ext4", "vfat", "nls_cp437", "nls_ascii", "loop", "nbd"]);
  const stage2Path = await fixtures.initramfs({
    init: fixture("stage2-init.sh"),
    modules: stage2Modules,
    programs: o.root.startsWith("nbd:") ? ["/sbin/nbd-client"] : [],
    files: [
      { path: "etc/stage2.modules", data: stage2Modules.join("\n") + "\n" },
      // Where the root is: a file, not a kernel parameter, because a kexec'd malta kernel gets no command line.
      { path: "etc/stage2.root", data: o.root + "\n" },
    ],
  });
  // kexec takes the kernel file as shipped (a zImage on armhf), as the boot script on a real stick would.
  const kernel = built ? (await fixtures.builtKernel({ embed: stage2Path })).image : await fixtures.shippedKernel();
  const busybox = new Uint8Array(readFileSync(await fixtures.busybox()));
  return {
    flashKernel,
    flashInitramfs,
    flashRootFiles: rootFileSystem(busybox, "flash root: up (squashfs + rootfs_data)", [{ path: "etc/banner", data: "bootlab flash root\n" }]),
    flashLayout: layout,
    flashDataFs: target.flows.flashAsDisk.dataFs,
    kernel: new Uint8Array(readFileSync(kernel)),
    ...(built ? {} : { stage2: new Uint8Array(readFileSync(stage2Path)) }),
    bootScript: fixture("boot-script.sh"),
    rootFiles: rootFileSystem(busybox, "root: $(cat /etc/root-from) root mounted", [{ path: "etc/root-from", data: o.root + "\n" }]),
  };
}

/** Builds the router's flash image (squashfs root, erased or ext4 rootfs_data) for this chain at `out`. */
export function buildChainFlash(chain: PreinitChain, out: string): Promise<FlashImage> {
  return buildFlash(out, chain.flashLayout, { kernel: chain.flashKernel, rootFiles: chain.flashRootFiles, dataFs: chain.flashDataFs });
}

/** lab.boot options that power the board on from its flash: the kernel, the preinit initramfs, the flash as its disk. */
export function flashBoot(chain: PreinitChain, flash: FlashImage): { kernel: string; initrd: string; append: string[]; disks: { path: string; format: "raw" }[] } {
  return { kernel: chain.flashKernel, initrd: chain.flashInitramfs, append: [flash.mtdparts], disks: [{ path: flash.path, format: "raw" }] };
}

/** What a boot stick holds in /boot: the script, the kernel and (unless built in) stage 2. */
export function bootFiles(chain: PreinitChain): ImageFile[] {
  return [
    { path: "boot/boot.sh", data: chain.bootScript, mode: 0o755 },
    { path: "boot/kernel", data: chain.kernel },
    ...(chain.stage2 ? [{ path: "boot/stage2.cpio.gz", data: chain.stage2 }] : []),
  ];
}

/** What a boot stick holds: the root file system (unless `root: false`), and /boot. */
export function bootStickFiles(chain: PreinitChain, opts: { root?: boolean } = {}): ImageFile[] {
  return [...(opts.root === false ? [] : chain.rootFiles), ...bootFiles(chain)];
}

/** The LAN's HTTP server hands out the boot script, the kernel and stage 2 under /boot/. */
export function serveBootFiles(http: { file(path: string, body: Uint8Array | string, contentType?: string): void }, chain: PreinitChain): void {
  http.file("/boot/boot.sh", chain.bootScript, "text/x-shellscript");
  http.file("/boot/kernel", chain.kernel);
  if (chain.stage2) http.file("/boot/stage2.cpio.gz", chain.stage2);
}

/**
 * After kexec: waits for stage 2 to switch_root into `root` (the kexec is a reset the watcher allows here),
 * takes the new root's shell and checks it is the root stage 2 was told to use.
 */
export async function stage2Shell(board: Board, root: Stage2Root): Promise<LinuxShell> {
  const sh = await board.allowing(["kernel-reset"], async () => {
    await board.expect(`stage2: switch_root to the ${root} root`, "stage 2 mounts the stick as root", { timeoutMs: 90_000, failOn: BRANCH_FAILED });
    return await board.shell();
  });
  const from = (await sh.expectOk("cat /etc/root-from")).trim();
  if (from !== root) throw new ProductFailure("the running root is not the stick's", { expected: root, seen: from });
  return sh;
}

/**
 * On the flash root: writes a file, reboots (after `beforeReboot`, e.g. pulling the stick), waits for
 * `afterReboot`'s lines and the flash root again, and checks the file survived on rootfs_data.
 */
export async function flashWriteSurvivesReboot(board: Board, sh: LinuxShell,
  o: { beforeReboot?: () => Promise<void>; afterReboot: () => Promise<void> }): Promise<void> {
  await sh.expectOk("echo kept > /etc/written-on-flash && sync");
  await o.beforeReboot?.();
  await board.allowing(["kernel-reset"], async () => {
    sh.console.sendLine("reboot -f");
    await o.afterReboot();
    await board.expect(FLASH_ROOT, "the flash root again");
    await board.expect(/bootlab-init: ready[^\n]*\n/, "the flash root's shell");
  });
  await sh.sync();
  const kept = (await sh.expectOk("cat /etc/written-on-flash")).trim();
  if (kept !== "kept") throw new ProductFailure("the file written on the flash root did not survive the reboot", { expected: "kept", seen: kept });
}
