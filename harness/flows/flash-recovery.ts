// Seed 001's router: its flash built from a layout (fixtures/flash/), its identity in the factory
// partition, and the way its bootloader starts the firmware. Debian's malta U-Boot has no autoboot and
// cannot save an environment, so the boot command a real board keeps in u-boot-env is typed on the
// console, as a person at the serial port would. The kernel does not fit malta's 4 MiB chip next to the
// root (see fixtures/flash/malta-router.json): U-Boot fetches it over TFTP, and the root stays on flash.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Target } from "../targets/catalogue.ts";
import type { TargetFixtures } from "../scenario/context.ts";
import type { Board } from "../lab/board.ts";
import type { LinuxShell } from "../console/linux-shell.ts";
import { buildFlash, type FlashImage, readFlashLayout } from "../images/flash.ts";
import { encodeUImage } from "../images/uimage.ts";
import { elfToBinary } from "../images/elf.ts";
import { InfrastructureError, ProductFailure, ScenarioError } from "../errors/failures.ts";
import { projectRoot } from "../paths.ts";
import { ubootOf } from "../fixtures/bootloader.ts";

/** Who a board is: what its factory partition says. */
export interface BoardIdentity {
  mac: string;
  serial: string;
}

/** The bytes after the factory header: the MAC (6 bytes), then "serial=…\n". */
export function factoryRecord(id: BoardIdentity): Uint8Array {
  const mac = id.mac.split(":").map((h) => parseInt(h, 16));
  if (mac.length !== 6 || mac.some((b) => !(b >= 0 && b <= 255))) throw new ScenarioError(`factory MAC "${id.mac}" is not six hex bytes`);
  const serial = new TextEncoder().encode(`serial=${id.serial}\n`);
  const out = new Uint8Array(6 + serial.length);
  out.set(mac);
  out.set(serial, 6);
  return out;
}

/** The kernel as an uncompressed legacy uImage (Debian's malta U-Boot has gzip but no LZMA). */
function kernelUImage(target: Target, elfPath: string, release: string, out: string): string {
  const elf = elfToBinary(new Uint8Array(readFileSync(elfPath)));
  if (typeof elf === "string") throw new InfrastructureError(`${elfPath}: ${elf}`);
  writeFileSync(out, encodeUImage({ arch: ubootOf(target).uimageArch, type: "kernel", compression: "none", load: elf.loadAddress, entry: elf.entry, name: `Linux-${release}`, data: elf.binary }));
  return out;
}

/** The router's root: static busybox and the firmware's init (fixtures/flash/router-init.sh). */
async function routerRoot(fixtures: TargetFixtures) {
  return [
    { path: "bin/busybox", data: new Uint8Array(readFileSync(await fixtures.busybox())), mode: 0o755 },
    { path: "sbin/init", data: readFileSync(join(projectRoot, "fixtures", "flash", "router-init.sh"), "utf8"), mode: 0o755 },
    ...["proc", "sys", "dev", "tmp"].map((d) => ({ path: `${d}/`, data: "" })),
  ];
}

export interface RouterFirmware {
  /** The whole flash: U-Boot, the factory identity, the squashfs root, erased rootfs_data and env. */
  flash: FlashImage;
  identity: BoardIdentity;
  /** The kernel U-Boot fetches over TFTP (a uImage). */
  kernel: string;
}

/** A working router: its flash image and the kernel its U-Boot fetches. */
export async function routerFirmware(target: Target, fixtures: TargetFixtures, identity: BoardIdentity, out: string, layoutName = "malta-router"): Promise<RouterFirmware> {
  const built = await fixtures.builtKernel();
  const flash = await buildFlash(out, readFlashLayout(layoutName), {
    bootloader: await fixtures.ubootImage(),
    rootFiles: await routerRoot(fixtures),
    dataFs: "jffs2",
    factory: factoryRecord(identity),
  });
  return { flash, identity, kernel: kernelUImage(target, built.image, built.release, `${out}.kernel.uImage`) };
}

export function partition(image: FlashImage, name: string) {
  const p = image.partitions.find((x) => x.name === name);
  if (!p) throw new ScenarioError(`the flash layout has no partition "${name}"`, { expected: image.partitions.map((x) => x.name).join(", ") });
  return p;
}

/**
 * At the U-Boot prompt of a board powered on from its flash: what its environment would hold, typed in —
 * dhcp, the kernel over TFTP (`kernelFile` on the lab's TFTP server), bootargs with the flash layout and
 * the squashfs root — and bootm. Resolves with the firmware's shell.
 */
export async function bootFirmware(board: Board, flash: FlashImage, kernelFile: string): Promise<LinuxShell> {
  const ub = await board.uboot();
  await ub.setenv("autoload", "no");
  await ub.expectOk("dhcp");
  await ub.tftp("kernel", kernelFile);
  const rootIndex = flash.partitions.findIndex((p) => p.name === "rootfs");
  await ub.setenv("bootargs", `${flash.mtdparts} root=/dev/mtdblock${rootIndex} rootfstype=squashfs ro`);
  ub.boot(`bootm ${ub.addr("kernel")}`);
  return await board.shell();
}

/**
 * The programmer board's view of a second chip wired to it (the seed's SPI clip): the disk the lab gives
 * it becomes an MTD device named `chipLabel` through block2mtd, and the kernel's `mtdparts=` (see
 * `programmerMtdparts`) splits it — into one partition "attached" declared for a bigger chip than the
 * one on the clip, as in the seed, so the kernel truncates it. Resolves with the partition's /dev/mtdN.
 */
export async function attachClippedChip(sh: LinuxShell, o: { disk: string; chipLabel: string; eraseBlockBytes: number }): Promise<string> {
  await sh.expectOk(`i=0; while [ ! -b ${o.disk} ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; ` +
    `echo ${o.disk},${o.eraseBlockBytes},${o.chipLabel} > /sys/module/block2mtd/parameters/block2mtd`, { step: "clip the bricked board's flash onto the working board (block2mtd)" });
  return `/dev/${await mtdDevice(sh, "attached")}`;
}

/** `mtdparts=` for the programmer: its own chip read-only as one "ALL" partition, the clipped one as "attached". */
export function programmerMtdparts(ownChip: string, ownBytes: number, chipLabel: string, declaredBytes: number): string {
  const size = (n: number) => (n % 1048576 === 0 ? `${n / 1048576}m` : `${n / 1024}k`);
  return `mtdparts=${ownChip}:${size(ownBytes)}(ALL)ro;${chipLabel}:${size(declaredBytes)}(attached)`;
}

/** The mtdN of a named MTD partition, from /proc/mtd (as the seed finds "ALL" and "attached"). */
export async function mtdDevice(sh: LinuxShell, name: string): Promise<string> {
  const dev = (await sh.expectOk(`grep '"${name}"' /proc/mtd | cut -d: -f1`)).trim();
  if (!/^mtd\d+$/.test(dev)) throw new ProductFailure(`no MTD partition "${name}" in /proc/mtd`, { expected: `a line naming "${name}"`, seen: dev || "none" });
  return dev;
}
