// Seed 003: a board with blank storage is put in flashing mode by its boot switch (USB), the programmer
// (flows/programmer.ts) writes a flash layout's binaries to the storage through the U-Boot the ROM runs from
// its download, and the board, switched back to SD, boots from that storage alone: its ROM finds the first
// stage in the GPT partition fsbl1 (or fsbl2), U-Boot's distro boot finds extlinux.conf on the bootable
// partition, the kernel and its initramfs mount the ext4 root and run its init.
//
// The release a firmware build would hand the factory is built here too (factoryRelease): u-boot.stm32 (the
// target's U-Boot in an STM32 image header), an ext4 root with /boot/extlinux/extlinux.conf, the kernel and
// an initramfs, and sdcard.img — a GPT disk laid out as genimage does for the STM32MP1 (fsbl1, fsbl2, ssbl,
// rootfs bootable) — with the seed's flash.tsv next to them. Its variants are the mistakes the seed's comment
// thread and the research ran into.

import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { linuxCommandLine, type Target } from "../targets/catalogue.ts";
import type { ScenarioContext, TargetFixtures } from "../scenario/context.ts";
import type { Lab, KeptMedium } from "../lab/lab.ts";
import type { Board } from "../lab/board.ts";
import type { LinuxShell } from "../console/linux-shell.ts";
import type { LabLan } from "../lab/lan.ts";
import { buildExt4 } from "../images/ext4.ts";
import { buildGptImage, GPT_TYPE } from "../images/gpt.ts";
import { wrapStm32Image } from "../images/stm32-image.ts";
import { type FlashLayoutTsv, readFlashLayoutTsv } from "../images/flash-layout-tsv.ts";
import { ProductFailure } from "../errors/failures.ts";
import { bootChain, checkLayoutForBoard, type PartitionProgrammed, programLayout } from "./programmer.ts";

/** What can be wrong with a release, each a mistake seen on real boards. */
export interface ReleaseVariant {
  /** The rootfs partition without LegacyBIOSBootable: distro boot looks at partition 1 only, finds nothing. */
  rootfsNotBootable?: boolean;
  /** extlinux.conf's console= names a port the board does not have ("Starting kernel …" and then silence). */
  console?: string;
  /** The first stage written this far past fsbl1/fsbl2's start (a genimage offset mistake): the ROM finds nothing. */
  firstStageMisplacedBytes?: number;
  /** Extra bytes of filler in the root file system (a binary that outgrows its partition or device). */
  rootfsPaddingMiB?: number;
}

export interface FactoryRelease {
  dir: string;
  /** The seed's layout: the boot chain for the flashing session and sdcard.img as a RawImage on mmc0. */
  layoutPath: string;
  ubootStm32: string;
  sdcardImg: string;
  /** The build id written into the root (/etc/build-id): what the board must show once it runs from storage. */
  buildId: string;
}

const MiB = 1048576;
/** ST's layouts give fsbl1/fsbl2 256 KiB for TF-A; here U-Boot is the first stage and needs more. */
const FSBL_BYTES = 2 * MiB;
const SSBL_BYTES = 2 * MiB;

/** The seed's flash.tsv, as the blog writes it (tabs; the binaries next to it). */
export const SEED_LAYOUT = [
  "#Opt\tId\tName\tType\tIP\tOffset\tBinary",
  "-\t0x01\tfsbl1-boot\tBinary\tnone\t0x0\tu-boot.stm32",
  "-\t0x03\tssbl-boot\tBinary\tnone\t0x0\tu-boot.stm32",
  "P\t0x10\tsdcard\tRawImage\tmmc0\t0x0\tsdcard.img",
  "",
].join("\n");

/** The initramfs's /init: the storage drivers, the root named by root=, and its init (switch_root). */
const STORAGE_INIT = `#!/bin/sh
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# A module for a CPU feature this board lacks (crc32-arm-ce on a Cortex-A15) refuses to load: that is fine.
for m in $(cat /etc/bootlab/modules); do insmod "$m" 2>/dev/null; done
for w in $(cat /proc/cmdline); do case "$w" in root=*) R="\${w#root=}";; esac; done
i=0; while [ ! -b "$R" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
mkdir -p /newroot
if ! mount -t ext4 "$R" /newroot; then echo "bootlab-initramfs: cannot mount the root $R"; exec sh; fi
echo "bootlab-initramfs: root $R mounted, starting its /sbin/init"
umount /proc /sys
umount /dev
exec switch_root /newroot /sbin/init
`;

/** The root file system's own init: a shell the harness drives (bootlab's ready line, then the shell). */
const ROOTFS_INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
hostname factory
# Late kernel messages (crng, ext4) must not land inside the harness's command output.
dmesg -n 1
echo "bootlab-init: ready ($(uname -r) $(uname -m))"
exec setsid cttyhack sh -l
`;

/** Builds the release a firmware build hands the factory (cached per run in `dir`). */
export async function factoryRelease(target: Target, fixtures: TargetFixtures, dir: string, v: ReleaseVariant = {}): Promise<FactoryRelease> {
  mkdirSync(dir, { recursive: true });
  const ubootStm32 = join(dir, "u-boot.stm32");
  writeFileSync(ubootStm32, wrapStm32Image(new Uint8Array(readFileSync(await fixtures.uboot())), { loadAddress: 0, entryPoint: 0 }));
  // The kernel as Debian ships it (not bootloaderKernel's Image.gz): distro boot's booti finds no
  // kernel_comp_addr_r in the environment of a board that boots unattended.
  const kernelPath = await fixtures.shippedKernel();
  const kernelName = target.firmware.uboot?.kernel.format === "zImage" ? "zImage" : "Image";
  const initrd = await fixtures.initramfs({ init: STORAGE_INIT, modules: target.machine.disk!.linuxModules.concat(["ext4"]) });
  const console = v.console ?? target.machine.console.linuxDevice;
  const rootDev = `/dev/${target.machine.disk!.linuxName}4`;
  const buildId = `factory-${target.name}-${Date.now().toString(36)}`;
  const files = [
    { path: "bin/busybox", data: new Uint8Array(readFileSync(await fixtures.busybox())), mode: 0o755 },
    { path: "sbin/init", data: ROOTFS_INIT, mode: 0o755 },
    { path: "etc/build-id", data: `${buildId}\n` },
    { path: `boot/${kernelName}`, data: new Uint8Array(readFileSync(kernelPath)) },
    { path: "boot/initrd.cpio.gz", data: new Uint8Array(readFileSync(initrd)) },
    { path: "boot/extlinux/extlinux.conf", data: `default factory\nlabel factory\n    kernel /boot/${kernelName}\n    initrd /boot/initrd.cpio.gz\n    append ${[...linuxCommandLine(target, console), `root=${rootDev}`, "rootwait"].join(" ")}\n` },
    ...(v.rootfsPaddingMiB ? [{ path: "var/filler.bin", data: new Uint8Array(v.rootfsPaddingMiB * MiB).fill(0xa5) }] : []),
    ...["proc", "sys", "dev", "tmp", "root", "newroot"].map((d) => ({ path: `${d}/`, data: "" })),
  ];
  const payload = files.reduce((n, f) => n + (typeof f.data === "string" ? f.data.length : f.data.length), 0);
  const rootfsMiB = Math.ceil((payload * 1.15) / MiB) + 4;
  const rootfs = join(dir, "rootfs.ext4");
  await buildExt4(rootfs, files, { sizeMiB: rootfsMiB, label: "rootfs" });
  // genimage's image: the partitions and both GPTs, no more (a card is bigger; the backup table then sits
  // short of its end, which Linux mentions and U-Boot ignores).
  const sdcardImg = join(dir, "sdcard.img");
  const firstLba = 34;
  const rootfsStart = 8 * MiB;
  const stage = new Uint8Array(readFileSync(ubootStm32));
  const misplaced = v.firstStageMisplacedBytes ?? 0;
  const img = buildGptImage(sdcardImg, {
    sizeBytes: rootfsStart + rootfsMiB * MiB + 34 * 512,
    firstLba,
    seed: `bootlab factory ${target.name}`,
    partitions: [
      { name: "fsbl1", startLba: firstLba, sizeBytes: FSBL_BYTES, typeGuid: GPT_TYPE.linuxReserved, ...(misplaced ? {} : { content: stage }) },
      { name: "fsbl2", sizeBytes: FSBL_BYTES, typeGuid: GPT_TYPE.linuxReserved, ...(misplaced ? {} : { content: stage }) },
      { name: "ssbl", sizeBytes: SSBL_BYTES, typeGuid: GPT_TYPE.linuxReserved, content: stage },
      { name: "rootfs", startLba: rootfsStart / 512, sizeBytes: rootfsMiB * MiB, bootable: !v.rootfsNotBootable, content: rootfs },
    ],
  });
  if (misplaced) {
    // Both copies land past their partitions' start, into what the ROM does not read as a header.
    const fd = openSync(sdcardImg, "r+");
    try {
      const part = stage.subarray(0, FSBL_BYTES - misplaced);
      for (const p of img.partitions.slice(0, 2)) writeSync(fd, part, 0, part.length, p.startLba * 512 + misplaced);
    } finally {
      closeSync(fd);
    }
  }
  const layoutPath = join(dir, "flash.tsv");
  writeFileSync(layoutPath, SEED_LAYOUT);
  return { dir, layoutPath, ubootStm32, sdcardImg, buildId };
}

/** The board's blank storage: a kept medium of zeros (sparse), which the flashing and the storage boot share. */
export function blankStorage(lab: Lab, target: Target, bytes = storageBytesFor(target)): KeptMedium {
  return lab.blankMedium("storage", bytes);
}

/** A card big enough for the release with room to spare: 128 MiB for arm64's 33 MB Image, 64 MiB otherwise. */
export function storageBytesFor(target: Target): number {
  return (target.guest.debianArch === "arm64" ? 128 : 64) * MiB;
}

export interface FlashingResult {
  partitions: PartitionProgrammed[];
  /** The whole session: power-on in flashing mode to the last partition checked. */
  ms: number;
}

/**
 * The flashing session: the boot switch on USB, the board's ROM runs the layout's first stage from the
 * download, U-Boot gets the network from the lab, and the programmer writes the layout. The board is
 * powered off at the end, its storage written.
 */
export async function flashInFactory(ctx: Pick<ScenarioContext, "lab" | "target" | "step" | "log">, o: { layout: FlashLayoutTsv; storage: KeptMedium; lan: LabLan; print?: (line: string) => void }): Promise<FlashingResult> {
  const { lab, target } = ctx;
  checkLayoutForBoard(o.layout, target, { storageBytes: o.storage.bytes });
  const t0 = performance.now();
  const first = bootChain(o.layout).firstStage;
  const board = await lab.boot(target, { name: "flashing", bootSwitch: "usb", download: first.binary!, disks: [o.storage] });
  const ub = await board.uboot();
  await ub.setenv("autoload", "no");
  await ub.expectOk("dhcp", { step: "U-Boot: dhcp (the programmer's link)" });
  const print = o.print ?? ((line: string) => ctx.log?.(line));
  const partitions = await programLayout({ layout: o.layout, target, ub, lan: o.lan, print });
  await board.powerCut();
  return { partitions, ms: performance.now() - t0 };
}

/**
 * The boot switch back on SD: the board runs what its storage holds and nothing else. Resolves with the
 * shell of the root file system's init, once its ready line names the storage's root partition.
 */
export async function bootFromStorage(ctx: Pick<ScenarioContext, "lab" | "target">, storage: KeptMedium, o: { silentAfterStartingKernelMs?: number } = {}): Promise<{ board: Board; sh: LinuxShell; ready: string }> {
  const { lab, target } = ctx;
  const board = await lab.boot(target, { name: "from-storage", bootSwitch: "sd", disks: [storage] });
  await board.firstOutput();
  await distroBootFindsExtlinux(board);
  await board.kernelSpeaks(o.silentAfterStartingKernelMs ?? 15_000);
  const sh = await board.shell();
  const ready = await sh.expectOk("echo \"root=$(grep ' / ' /proc/mounts | tail -1 | cut -d' ' -f1) build=$(cat /etc/build-id)\"", { step: "the root file system's init runs from the storage" });
  return { board, sh, ready: ready.trim() };
}

/**
 * U-Boot's distro boot must find extlinux.conf on the storage. When it does not, it goes on to the network
 * (BOOTP, then PXE): that is the moment to say so, quoting what U-Boot printed about the storage.
 */
async function distroBootFindsExtlinux(board: Board): Promise<void> {
  const step = "U-Boot's distro boot finds /boot/extlinux/extlinux.conf on the storage";
  await board.expect(/Found \/boot\/extlinux\/extlinux\.conf/, step, {
    timeoutMs: 60_000,
    failOn: [/BOOTP broadcast \d+/, /No ethernet found/, /Unknown command 'pxe'/],
  }).catch((e: unknown) => {
    if (!(e instanceof ProductFailure)) throw e;
    const tail = board.console.stream.tail().join("\n");
    // What U-Boot said about the storage (it names the device, then finds nothing and says no more), and the line that left it.
    const storageLines = tail.split("\n").filter((l) => /VirtIO Block Device|is now current device|Scanning virtio|extlinux|BOOTP broadcast/i.test(l)).map((l) => l.trim()).slice(-4);
    throw new ProductFailure("U-Boot's distro boot found no extlinux.conf on the storage and went on to the network", {
      step, expected: "\"Found /boot/extlinux/extlinux.conf\" from a partition flagged bootable (LegacyBIOSBootable)",
      seen: storageLines.length ? storageLines.join(" | ") : e.message,
    });
  });
}

/**
 * The factory line for one board, as the scenarios run it: the release built (with a variant's mistake),
 * blank storage (`storageBytes`, default the target's card), the lab LAN, and the flashing session.
 */
export async function flashRelease(ctx: ScenarioContext, o: { variant?: ReleaseVariant; storageBytes?: number; layoutText?: string } = {}) {
  const { lab, target, fixtures, step } = ctx;
  const release = await step("build the release (u-boot.stm32, rootfs.ext4, sdcard.img, flash.tsv)", () => factoryRelease(target, fixtures, join(lab.runDir, "release"), o.variant));
  if (o.layoutText) writeFileSync(release.layoutPath, o.layoutText);
  const layout = readFlashLayoutTsv(release.layoutPath);
  const storage = blankStorage(lab, target, o.storageBytes);
  const lan = await lab.lan();
  const flashed = await flashInFactory(ctx, { layout, storage, lan });
  return { release, layout, storage, lan, flashed };
}
