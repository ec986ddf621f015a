// Seed 004's boot chain as parts a scenario composes: the router's "flash" initramfs whose /init is the
// custom preinit (fixtures/preinit/preinit.sh), the boot script it fetches (HTTP) or finds (USB /boot/),
// the custom kernel's bigger initramfs (stage 2: mount the USB or NBD root, switch_root), and the root
// file system for the stick. Target differences (modules, kexec arguments, console) come from the
// target data, not from branches here.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Target } from "../targets/catalogue.ts";
import type { TargetFixtures } from "../scenario/context.ts";
import { projectRoot } from "../paths.ts";
import { ScenarioError } from "../errors/failures.ts";
import type { ImageFile } from "../images/ext4.ts";

const fixture = (name: string) => readFileSync(join(projectRoot, "fixtures", "preinit", name), "utf8");

export interface PreinitChainOptions {
  /** Base URL the preinit fetches boot.sh from (and the boot script the kernel and stage 2 from). */
  http?: string;
  /** How long the preinit waits for a USB stick to appear. Default 3 s. */
  usbWaitSeconds?: number;
  /** The boot script's name in /boot/ on the stick. Default boot.sh. */
  script?: string;
  /** Where stage 2 finds the root: the stick, or an NBD export ("nbd:HOST:PORT:EXPORT"). */
  root: "usb" | `nbd:${string}`;
  /** The flash's writable data partition (rootfs_data) as the guest sees it. */
  flashData?: { device: string; fs: string };
}

export interface PreinitChain {
  /** The router's firmware initramfs: preinit as /init, the normal boot as /etc/preinit.00. */
  flashInitramfs: string;
  /** What the boot script runs: the kernel kexec loads and its bigger initramfs. */
  kernel: Uint8Array;
  stage2: Uint8Array;
  /** The boot script, for the stick's /boot/ or the HTTP server. */
  bootScript: string;
  /** A root file system for the stick (busybox and an init that hands the harness a shell). */
  rootFiles: ImageFile[];
}

export async function preinitChain(target: Target, fixtures: TargetFixtures, o: PreinitChainOptions): Promise<PreinitChain> {
  if (!target.kexec?.supported) {
    throw new ScenarioError(`target ${target.name} cannot kexec with its Debian kernel: ${target.kexec?.why ?? "no kexec data"}`);
  }
  const usb = target.usb?.linuxModules ?? [];
  // ext4 asks for crc32c by name at mount time (no module dependency carries it).
  const fsModules = ["crc32c_generic", "ext4", "vfat", "nls_cp437", "nls_ascii", "overlay"];
  const disk = target.disk?.linuxModules ?? [];
  const stage2Cmdline = [`console=${target.console.linuxDevice}`, "panic=1", ...target.kernel.cmdline, `bootlab.root=${o.root}`].join(" ");
  const conf = [
    `PREINIT_MODULES="${[...usb, ...target.nic.linuxModules, ...disk, ...fsModules].join(" ")}"`,
    `PREINIT_NIC=${target.nic.linuxName}`,
    `PREINIT_HTTP="${o.http ?? ""}"`,
    `PREINIT_USB_WAIT=${o.usbWaitSeconds ?? 3}`,
    `PREINIT_SCRIPT=${o.script ?? "boot.sh"}`,
    `FLASH_DATA_DEV=${o.flashData?.device ?? `/dev/${target.disk?.linuxName ?? "vda"}`}`,
    `FLASH_DATA_FS=${o.flashData?.fs ?? "ext4"}`,
    `STAGE2_CMDLINE="${stage2Cmdline}"`,
    `KEXEC_ARGS="${target.kexec.args.join(" ")}"`,
    "",
  ].join("\n");
  const shellInit = readFileSync(join(projectRoot, "fixtures", "init", "shell.sh"), "utf8");
  const flashInitramfs = await fixtures.initramfs({
    init: fixture("preinit.sh"),
    modules: [...usb, ...target.nic.linuxModules, ...disk, ...fsModules],
    programs: ["/sbin/kexec"],
    files: [
      { path: "etc/preinit.conf", data: conf },
      { path: "etc/preinit.00", data: fixture("preinit.00.sh"), mode: 0o755 },
      { path: "etc/boot.sh.flash-copy", data: fixture("boot-script.sh") },
      { path: "sbin/init", data: shellInit, mode: 0o755 },
    ],
  });
  const stage2Modules = [...usb, ...target.nic.linuxModules, "crc32c_generic", "ext4", "vfat", "loop", "nbd"];
  const stage2 = new Uint8Array(readFileSync(await fixtures.initramfs({
    init: fixture("stage2-init.sh"),
    modules: stage2Modules,
    programs: o.root.startsWith("nbd:") ? ["/sbin/nbd-client"] : [],
    files: [{ path: "etc/stage2.modules", data: stage2Modules.join("\n") + "\n" }],
  })));
  const busybox = new Uint8Array(readFileSync(await fixtures.busybox()));
  // The stick's root has no /bin/sh until busybox installs its links: the interpreter is busybox itself.
  const rootInit = shellInit.replace(/^#!\/bin\/sh/, "#!/bin/busybox sh")
    .replace('echo "bootlab-init: ready', 'echo "root: $(cat /etc/root-from) root mounted"\necho "bootlab-init: ready');
  return {
    flashInitramfs,
    kernel: new Uint8Array(readFileSync(await fixtures.kernel())),
    stage2,
    bootScript: fixture("boot-script.sh"),
    rootFiles: [
      { path: "bin/busybox", data: busybox, mode: 0o755 },
      { path: "sbin/init", data: rootInit, mode: 0o755 },
      { path: "etc/root-from", data: o.root + "\n" },
      ...["proc", "sys", "dev", "tmp", "root", "mnt", "usr/bin", "usr/sbin"].map((d) => ({ path: `${d}/.keep`, data: "" })),
    ],
  };
}

/** What a boot stick holds: the root file system, and /boot with the script, the kernel and stage 2. */
export function bootStickFiles(chain: PreinitChain, opts: { root?: boolean } = {}): ImageFile[] {
  return [
    ...(opts.root === false ? [] : chain.rootFiles),
    { path: "boot/boot.sh", data: chain.bootScript, mode: 0o755 },
    { path: "boot/kernel", data: chain.kernel },
    { path: "boot/stage2.cpio.gz", data: chain.stage2 },
  ];
}

/** The LAN's HTTP server hands out the boot script, the kernel and stage 2 under /boot/. */
export function serveBootFiles(http: { file(path: string, body: Uint8Array | string, contentType?: string): void }, chain: PreinitChain): void {
  http.file("/boot/boot.sh", chain.bootScript, "text/x-shellscript");
  http.file("/boot/kernel", chain.kernel);
  http.file("/boot/stage2.cpio.gz", chain.stage2);
}
