// Seed 001's router: its flash built from the target's layout (fixtures/flash/router-TARGET.json), its
// identity in the factory partition, and the way its bootloader starts the firmware. The boot command a
// real board keeps in u-boot-env is typed on the console, as a person at the serial port would (Debian's
// malta U-Boot cannot save an environment; virt's keeps it on the second chip, the one a programmer
// clips). On virt-arm64 the kernel is in the flash's "kernel" partition and U-Boot copies it to RAM; it
// does not fit malta's 4 MiB chip next to the root, so there U-Boot fetches it over TFTP.
//
// The programmer (the working board with the bricked board's chip on its clip) is the same flow on both,
// with the chip wired the way each machine allows: malta has one flash, so the clipped chip is a disk
// the kernel's block2mtd turns into a second MTD device; virt has a second CFI chip, and physmap-OF joins
// both into one MTD device that `mtdparts=` splits into "ALL" and "attached".

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Target } from "../targets/catalogue.ts";
import type { ScenarioContext, TargetFixtures } from "../scenario/context.ts";
import type { KeptMedium } from "../media/store.ts";
import type { LabLan } from "../lab/lan.ts";
import type { Board } from "../lab/board.ts";
import type { LinuxShell } from "../console/linux-shell.ts";
import { buildFlash, type FlashImage, readFlashLayout } from "../images/flash.ts";
import { encodeUImage } from "../images/uimage.ts";
import { elfToBinary } from "../images/elf.ts";
import { InfrastructureError, ProductFailure, ScenarioError } from "../errors/failures.ts";
import { projectRoot } from "../paths.ts";
import { ubootOf } from "../fixtures/bootloader.ts";
import { hex } from "../console/uboot.ts";
import { interruptedBootloaderFlash } from "./board-flash.ts";

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
  /** The kernel as U-Boot boots it; U-Boot fetches it over TFTP unless the flash has a "kernel" partition. */
  kernel: string;
}

/** The router's kernel as the target's U-Boot boots it: a uImage (bootm) of an ELF, or the raw arm64 Image (booti). */
async function routerKernel(target: Target, fixtures: TargetFixtures, out: string): Promise<string> {
  const built = await fixtures.builtKernel({ role: "firmware" });
  return ubootOf(target).kernel.format === "uImage" ? kernelUImage(target, built.image, built.release, `${out}.kernel.uImage`) : built.image;
}

/** A working router: its flash image (fixtures/flash/router-TARGET.json) and its kernel. */
export async function routerFirmware(target: Target, fixtures: TargetFixtures, identity: BoardIdentity, out: string, layoutName = `router-${target.name}`): Promise<RouterFirmware> {
  const layout = readFlashLayout(layoutName);
  const kernel = await routerKernel(target, fixtures, out);
  const flash = await buildFlash(out, layout, {
    bootloader: await fixtures.ubootImage(),
    rootFiles: await routerRoot(fixtures),
    dataFs: "jffs2",
    factory: factoryRecord(identity),
    ...(layout.partitions.some((p) => p.content === "kernel") ? { kernel } : {}),
  });
  return { flash, identity, kernel };
}

export function partition(image: FlashImage, name: string) {
  const p = image.partitions.find((x) => x.name === name);
  if (!p) throw new ScenarioError(`the flash layout has no partition "${name}"`, { expected: image.partitions.map((x) => x.name).join(", ") });
  return p;
}

/**
 * At the U-Boot prompt of a board powered on from its flash: what its environment would hold, typed in —
 * the kernel from the flash's "kernel" partition, or else dhcp and the kernel over TFTP (`kernelFile` on
 * the lab's TFTP server); bootargs with the flash layout and the squashfs root — and the boot command.
 * Resolves with the firmware's shell.
 */
export async function bootFirmware(board: Board, flash: FlashImage, kernelFile: string): Promise<LinuxShell> {
  const ub = await board.uboot();
  const inFlash = flash.partitions.find((p) => p.name === "kernel");
  if (inFlash) {
    const chip = board.target.machine.flash!.chips[0]!;
    await ub.expectOk(`cp.b ${hex(chip.address + inFlash.offset)} ${ub.addr("kernel")} ${hex(inFlash.size)}`, { step: "U-Boot: copy the kernel from flash" });
  } else {
    await ub.setenv("autoload", "no");
    await ub.expectOk("dhcp");
    await ub.tftp("kernel", kernelFile);
  }
  const rootIndex = flash.partitions.findIndex((p) => p.name === "rootfs");
  await ub.bootLoaded({ consoleDevice: board.target.machine.console.linuxDevice, append: [flash.mtdparts, `root=/dev/mtdblock${rootIndex}`, "rootfstype=squashfs", "ro"] });
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

/**
 * `mtdparts=` for the programmer: its own chip read-only as one "ALL" partition, the clipped one as
 * "attached", declared `declaredBytes` long. `clip`: the clipped chip's own MTD device (block2mtd's
 * label), or "joined" where the kernel joins both chips into the own chip's device (virt's physmap-OF).
 */
export function programmerMtdparts(ownChip: string, ownBytes: number, clip: string | "joined", declaredBytes: number): string {
  const size = (n: number) => (n % 1048576 === 0 ? `${n / 1048576}m` : `${n / 1024}k`);
  return clip === "joined"
    ? `mtdparts=${ownChip}:${size(ownBytes)}(ALL)ro,${size(declaredBytes)}(attached)`
    : `mtdparts=${ownChip}:${size(ownBytes)}(ALL)ro;${clip}:${size(declaredBytes)}(attached)`;
}

/** The mtdN of a named MTD partition, from /proc/mtd (as the seed finds "ALL" and "attached"). */
export async function mtdDevice(sh: LinuxShell, name: string): Promise<string> {
  const dev = (await sh.expectOk(`grep '"${name}"' /proc/mtd | cut -d: -f1`)).trim();
  if (!/^mtd\d+$/.test(dev)) throw new ProductFailure(`no MTD partition "${name}" in /proc/mtd`, { expected: `a line naming "${name}"`, seen: dev || "none" });
  return dev;
}

/**
 * sha256 as hex, off the event loop (WebCrypto digests on a worker thread): a 64-128 MiB flash hashed
 * in place would hold every other board's console and LAN for a quarter second or more.
 */
async function sha(b: Uint8Array): Promise<string> {
  return Buffer.from(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>)).toString("hex");
}

export const WORKING: BoardIdentity = { mac: "52:54:00:aa:00:01", serial: "GOOD-0001" };
export const BRICKED: BoardIdentity = { mac: "52:54:00:bb:00:02", serial: "BRICKED-0002" };

/** Everything seed 001 starts from: the lab, a working router's firmware, and the bricked board's flash. */
export interface RecoveryBench {
  lan: LabLan;
  /** The lab TFTP server's folder, where uploads land. */
  uploads: string;
  working: RouterFirmware;
  /** The bricked flash as it was (never written). */
  brickedImage: string;
  /** The bricked board's flash chip: it outlives each board that holds it. */
  flash: KeptMedium;
  /** The name the programmer's kernel gives the clipped chip (as the seed's second SPI chip). */
  chipLabel: string;
}

export async function recoveryBench({ lab, target, fixtures, step }: ScenarioContext): Promise<RecoveryBench> {
  const uploads = join(lab.runDir, "lab-tftp");
  mkdirSync(uploads, { recursive: true });
  // The backup is uploaded by Linux's busybox, which can send the largest blocks (RFC 2348) as IP fragments,
  // as tftpd-hpa would grant them: 64 MiB in 1,025 round trips instead of 45,700 (virt-arm64: 20.4 s → 3.9 s).
  const lan = await lab.lan({ tftpRoot: uploads, tftpUploads: true, tftp: { maxBlksize: 65464 } });
  const working = await step("build the working router's firmware", () => routerFirmware(target, fixtures, WORKING, join(lab.runDir, "working.img")));
  const brickedImage = await step("build the bricked router's flash (its own factory, U-Boot half written)", async () => {
    const own = await routerFirmware(target, fixtures, BRICKED, join(lab.runDir, "bricked-was.img"));
    return interruptedBootloaderFlash(target, own.flash.path, partition(own.flash, "u-boot").size, join(lab.runDir, "bricked.img"));
  });
  if (!working.flash.partitions.some((p) => p.name === "kernel")) lan.tftpFiles.set("router.uImage", readFileSync(working.kernel));
  lan.http.file("/recovery.img", readFileSync(working.flash.path));
  return { lan, uploads, working, brickedImage, flash: lab.medium("bricked-flash", { path: brickedImage }), chipLabel: "spi0.1" };
}

/**
 * The working board with the bricked board's flash clipped on: a firmware that knows the second chip (the
 * seed rebuilds OpenWrt with it in the DTS) — the router kernel built from Debian's source, mtd-utils in
 * its initramfs, its own flash read-only — on the lab LAN. The clipped chip is the board's second flash
 * chip where it has one (virt), else a disk made an MTD device by block2mtd (malta). "attached" is
 * declared bigger than the chip, as in the seed, so the kernel truncates it. Resolves with the working
 * board's shell and the clipped chip's /dev/mtdN.
 */
export async function startProgrammer({ lab, target, fixtures }: ScenarioContext, bench: RecoveryBench): Promise<{ board: Board; sh: LinuxShell; attached: string }> {
  const [own, second] = target.machine.flash!.chips;
  const joined = second !== undefined;
  const board = await lab.boot(target, {
    name: "working",
    kernel: (await fixtures.builtKernel({ role: "firmware" })).image,
    initrd: await fixtures.initramfs({ programs: ["/usr/sbin/flashcp", "/usr/sbin/flash_erase"] }),
    append: [programmerMtdparts(own!.linuxName!, own!.bytes, joined ? "joined" : bench.chipLabel, declaredAttachedBytes(target))],
    // Where the machine would run its first chip instead of the lab's kernel (virt), that slot stays empty:
    // the working board's own firmware plays no part in the recovery.
    flash: [target.machine.flash!.firstChipRunsFirst ? null : { path: bench.working.flash.path }, ...(joined ? [bench.flash] : [])],
    ...(joined ? {} : { disks: [bench.flash] }),
  });
  const sh = await board.shell();
  const attached = joined
    ? `/dev/${await mtdDevice(sh, "attached")}`
    : await attachClippedChip(sh, { disk: `/dev/${target.machine.disk!.linuxName}`, chipLabel: bench.chipLabel, eraseBlockBytes: own!.eraseBlockBytes });
  await board.networkUp();
  return { board, sh, attached };
}

/** What the programmer's `mtdparts=` declares for "attached": four times the chip (the seed: 16 MiB on a 4 MiB chip). */
export function declaredAttachedBytes(target: Target): number {
  const chips = target.machine.flash!.chips;
  return 4 * chips[chips.length > 1 ? 1 : 0]!.bytes;
}

/**
 * Backs the whole clipped chip up to the lab (TFTP upload, straight from the MTD device: a 64 MiB chip
 * and its image would not both fit in a 256 MiB board's tmpfs) and checks it against the bricked flash.
 */
export async function backUpToLab(sh: LinuxShell, attached: string, bench: RecoveryBench, step: ScenarioContext["step"]): Promise<void> {
  await step("back the whole bricked flash up to the lab first (TFTP upload)", async () => {
    await sh.expectOk(`tftp -b 65464 -p -l ${attached} -r backup.bin ${bench.lan.server.ip}`, { timeoutMs: 180_000 });
    const got = await sha(await readFile(join(bench.uploads, "backup.bin")));
    const want = await sha(await readFile(bench.brickedImage));
    if (got !== want) throw new ProductFailure("the backup differs from the bricked flash", { expected: want, seen: got });
  });
}

/**
 * Fetches the image to write into /tmp/new.bin on the programmer: the working firmware (the seed's
 * "image over the LAN"), with the bricked board's own factory block from the backup patched in unless
 * `patchFactory` is false.
 */
export async function prepareImage(sh: LinuxShell, bench: RecoveryBench, step: ScenarioContext["step"], o: {
  /** Where the bricked board's bytes are read from: the clipped chip before it is erased, or a backup file. */
  factoryFrom: string;
  patchFactory?: boolean;
  url?: string;
}): Promise<void> {
  const f = partition(bench.working.flash, "factory");
  const patch = o.patchFactory === false ? "" : ` && dd if=${o.factoryFrom} of=/tmp/new.bin bs=${f.size} skip=${f.offset / f.size} seek=${f.offset / f.size} count=1 conv=notrunc`;
  await step(o.patchFactory === false ? "clone: the working firmware as it is (no factory patch)" : "clone: the working firmware with the bricked board's own factory block patched in", () =>
    sh.expectOk(`wget -q -O /tmp/new.bin http://${bench.lan.server.ip}${o.url ?? "/recovery.img"}${patch}`, { timeoutMs: 120_000 }));
}

/** Erases the clipped chip, writes /tmp/new.bin with flashcp and reads it back (mtd-utils; OpenWrt's `mtd -e attached write`). */
export function writeAttached(sh: LinuxShell, attached: string, step: ScenarioContext["step"]): Promise<string> {
  return step("erase, write and verify the attached flash (mtd-utils)", () =>
    sh.expectOk(`flash_erase ${attached} 0 0 && flashcp -v /tmp/new.bin ${attached} && cmp ${attached} /tmp/new.bin && sync`, { timeoutMs: 300_000 }));
}

/** The written chip must be what the programmer had: the working firmware with the given factory block. */
export function expectedFlash(bench: RecoveryBench, o: { patchFactory?: boolean } = {}): Uint8Array {
  const f = partition(bench.working.flash, "factory");
  const out = new Uint8Array(readFileSync(bench.working.flash.path));
  if (o.patchFactory !== false) out.set(readFileSync(bench.brickedImage).subarray(f.offset, f.offset + f.size), f.offset);
  return out;
}

export function flashMatches(bench: RecoveryBench, expected: Uint8Array, step: ScenarioContext["step"], what: string): Promise<void> {
  return step(what, async () => {
    const [got, want] = [await sha(await readFile(bench.flash.path)), await sha(expected)];
    if (got !== want) throw new ProductFailure(`${what}: no`, { expected: want, seen: got });
  });
}

/** Powers the bricked board on from its own flash and boots its firmware; resolves with the MACs the lab's DHCP server acknowledged for it. */
export async function bootRecovered(ctx: ScenarioContext, bench: RecoveryBench, name = "bricked"): Promise<{ board: Board; sh: LinuxShell }> {
  const board = await ctx.lab.boot(ctx.target, { name, flash: [bench.flash] });
  const sh = await bootFirmware(board, bench.working.flash, "router.uImage");
  await sh.expectOk("udhcpc -i eth0 -n -q -t 5 -T 1 -s /bin/true", { step: `${name} asks the lab for an address` });
  return { board, sh };
}

/** Fails unless the lab's DHCP server acknowledged `mac`. */
export function expectDhcpAck(lan: LabLan, mac: string, step: ScenarioContext["step"], what: string): Promise<void> {
  return step(what, async () => {
    const acked = [...new Set(lan.dhcp.log.filter((e) => e.reply === "ACK").map((e) => e.mac))];
    if (!acked.includes(mac)) throw new ProductFailure(`no DHCP ACK for ${mac}`, { expected: `an ACK for ${mac}`, seen: acked.join(", ") || "no ACK" });
  });
}
