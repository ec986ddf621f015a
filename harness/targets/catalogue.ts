// The machine catalogue: targets/*.json, one file per board, validated up front. Adding a board is adding
// a file here — the launcher has no per-machine branches.

import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { type Infer, parseWith, s } from "../validation/schema.ts";
import { ScenarioError } from "../errors/failures.ts";
import { projectRoot } from "../paths.ts";

const NAME = /^[a-z0-9][a-z0-9-]*$/;

/** A kernel built from a Debian source package (harness/fixtures/kernel-build.ts). */
const KERNEL_BUILD = {
  /** The locked source package, e.g. linux-source-6.1. */
  source: s.string(),
  /** The Kconfig fragment applied to allnoconfig, relative to the project. */
  config: s.string(),
  /** make's ARCH=. */
  arch: s.string(),
  /** make's CROSS_COMPILE= (a Debian cross compiler's prefix). */
  crossCompile: s.string(),
  /** The make target that is the bootable image: vmlinux (at the top of the tree), or Image (under arch/ARCH/boot/). */
  image: s.string(),
};
/**
 * A kernel built from a Debian source package: source, config fragment, ARCH, CROSS_COMPILE, image.
 *
 * @interface
 */
export type KernelBuildSpec = Infer<typeof KERNEL_BUILD>;

/** A device the board has, and how Linux drives and names it. */
const LINUX_DEVICE = {
  /** QEMU -device model. */
  device: s.string(),
  /** Modules that drive it under Debian's kernel, dependencies resolved by the fixtures. */
  linuxModules: s.strings(),
  /** Its name under Linux (eth0; for disks the first disk's name: vda, sda, …). */
  linuxName: s.string(),
};

/** The board's own flash chips (CFI NOR on QEMU's pflash), which a board with no kernel boots from. */
const BOARD_FLASH = {
  /** In QEMU's pflash unit order; the first is the one the CPU starts from. */
  chips: s.objects({
    name: s.string({ pattern: NAME, what: "a lower-case chip name" }),
    bytes: s.number({ integer: true, min: 65536, unit: "bytes" }),
    eraseBlockBytes: s.number({ integer: true, min: 512, unit: "bytes" }),
    /** The MTD device name Linux gives the chip (what `mtdparts=` names), where Linux can see it. */
    linuxName: s.string().maybe(),
    /** Where the bootloader reads the chip (malta's U-Boot: 0xbe000000, KSEG1 of 0x1e000000). */
    address: s.hex(),
  }, { nonEmpty: true }),
  /**
   * Where the board's QEMU stores flash words swapped when it boots from flash (malta little-endian:
   * hw/mips/malta.c swaps every 32-bit word of the first 0x3e0000 bytes in memory at power-on). Media
   * hold the guest's byte order; the lab swaps them for that role and back afterwards.
   */
  byteSwap: s.object({
    wordBytes: s.number({ integer: true, min: 2, max: 8 }),
    firstBytes: s.number({ integer: true, min: 4, unit: "bytes" }),
    why: s.string(),
  }).maybe(),
  /**
   * How long a board booting from flash may be silent before it counts as dead (nothing boots). U-Boot's
   * first byte from flash or after a boot ROM's load came within 35 ms of power-on in all 28 power-ons of
   * the flash-recovery and factory-flash libraries at --jobs 2 ("first console output after power-on");
   * 3 s leaves a wide margin, and every dead board in the library waits it out.
   */
  firstOutputSeconds: s.number({ min: 1, max: 120, unit: "seconds" }).or(3),
  /**
   * Set (to why) where QEMU runs the first chip even when given a kernel: a board then boots a lab kernel
   * only with that slot empty.
   */
  firstChipRunsFirst: s.string().maybe(),
  why: s.string().maybe(),
};
/**
 * A board's own flash chips (`target.machine.flash`): what `lab.boot(target, { flash })` fills.
 *
 * @interface
 */
export type BoardFlash = Infer<typeof BOARD_FLASH>;

/** What QEMU emulates, and how Linux names its parts. */
const MACHINE = {
  qemu: s.object({
    binary: s.string({ pattern: /^qemu-system-[a-z0-9_]+$/, what: "a qemu-system-* binary name" }),
    machine: s.string(),
    cpu: s.string().maybe(),
    memoryMiB: s.number({ integer: true, min: 16, max: 16384, unit: "MiB" }),
    extraArgs: s.strings(),
  }),
  console: s.object({
    /** The kernel's name for the first serial port, used in `console=`. */
    linuxDevice: s.string({ pattern: /^tty[A-Za-z0-9]+$/, what: "a tty name like ttyS0" }),
  }),
  /** The board's NIC. */
  nic: s.object(LINUX_DEVICE),
  /** The board's block device for disks the scenario attaches (flash stand-ins, root images). */
  disk: s.object(LINUX_DEVICE).maybe(),
  /** The USB host controller sticks plug into, and the modules that drive it and the stick. */
  usb: s.object({
    /** QEMU -device of the controller (its id is the device name). */
    controller: s.string(),
    /** The bus its ports are on, for usb-storage's bus= (QEMU names it "<id>.0"). */
    bus: s.string(),
    linuxModules: s.strings(),
  }).maybe(),
  /** The board's own flash chips, which a board with no kernel boots from. */
  flash: s.object(BOARD_FLASH).maybe(),
  /** Whether machine snapshots restore correctly on this target, and why not if they do not. */
  snapshots: s.object({
    supported: s.boolean().or(true),
    why: s.string().maybe(),
    /**
     * The CPU's compare timer is not in this QEMU's saved state: after a restore, bootlab re-arms it through
     * QEMU's gdbstub (harness/machine/cpu-timer.ts) before the guest runs. "mips-cp0": the MIPS Count/Compare
     * timer, re-armed by stopping and starting Count (Cause.DC), as QEMU does when the guest toggles it.
     */
    rearmTimer: s.object({ kind: s.oneOf(["mips-cp0"] as const), byteOrder: s.oneOf(["little", "big"] as const), why: s.string() }).maybe(),
  }).maybe(),
  /**
   * A boot ROM with a boot switch (harness/machine/boot-rom.ts), modelled on the STM32MP1's: on storage it
   * runs the first stage from the first of `storage.partitions` (GPT names) whose STM32 image header passes
   * its check; on USB it runs the first stage a programmer downloads. The storage is the board's first disk.
   */
  bootRom: s.object({
    storage: s.object({
      /** GPT partition names the ROM tries in order. */
      partitions: s.strings(),
      /** The layout's name for the storage (`mmc0`): what a flash layout's IP column calls it. */
      device: s.string({ pattern: /^mmc\d$/, what: "an MMC device name like mmc0" }),
      /** Whether the storage has eMMC boot partitions (boot1/boot2); an SD card has none. */
      bootPartitions: s.boolean().or(false),
    }),
    why: s.string(),
  }).maybe(),
};

/** The Debian software that runs on the machine. */
const GUEST = {
  /** Debian architecture the guest software comes from. */
  debianArch: s.oneOf(["mipsel", "mips", "armhf", "armel", "arm64"] as const),
  /** What `uname -m` prints in the guest. */
  unameMachine: s.string(),
  kernel: s.object({
    /** Debian package (usually a meta package) that provides the kernel. */
    package: s.string(),
    /** Path of the kernel image inside the unpacked package; {version} is the kernel release. */
    file: s.string({ pattern: /\{version\}/, what: "a path containing {version}" }),
    /**
     * Words every Linux boot of this target gets, whoever passes the command line (QEMU, U-Boot, kexec,
     * extlinux.conf) — see `linuxCommandLine`.
     */
    cmdline: s.strings(),
    /** Why those words: each one is a cost of emulation, not a choice of the product under test. */
    cmdlineWhy: s.string().maybe(),
    /**
     * Where QEMU's loader cuts the command line (malta: 255 bytes), and what it puts in front of it when
     * there is an initrd ({size}: the initrd's size in bytes). A longer line is refused before power-on:
     * QEMU would cut it silently and, say, a long mtdparts= would vanish.
     */
    commandLineLimit: s.object({ bytes: s.number({ min: 16, integer: true, unit: "bytes" }), initrdPrefix: s.string().maybe() }).maybe(),
    /**
     * The kernel ships self-decompressing (an .xz payload behind a decompressor), and QEMU's -kernel gets it
     * unpacked once instead (`fixtures.kernel()`): "mips-zboot" as an ELF that loads the kernel at
     * `loadAddress` and enters where the decompressor would jump, "arm-zimage" as an uncompressed uImage at
     * `loadAddress` (where the zImage's own decompressor puts the Image on that board). What a bootloader,
     * kexec or a disk gets stays as shipped (`fixtures.shippedKernel()`).
     */
    directBoot: s.object({ unpack: s.oneOf(["mips-zboot", "arm-zimage"] as const), loadAddress: s.hex(), why: s.string() }).maybe(),
  }),
};

/** The board's firmware when it boots like a real device: U-Boot from Debian's u-boot-qemu. */
const UBOOT = {
  /** Path inside the u-boot-qemu package, given to QEMU as -bios. */
  firmware: s.string(),
  /** Malta in little-endian mode swaps every 32-bit word of its flash: the file must be pre-swapped. */
  byteSwap32: s.boolean().or(false),
  /** The prompt as printed, e.g. "=> ". */
  prompt: s.string(),
  /**
   * U-Boot's console line buffer (CONFIG_SYS_CBSIZE), in bytes: a typed line must be shorter, or U-Boot cuts
   * it there (measured by typing a 605-character echo: Debian's malta build keeps 255, qemu_arm and
   * qemu_arm64 keep 511). Longer commands are refused before they are typed; a long bootargs is set in parts.
   */
  lineBytes: s.number({ min: 64, integer: true, unit: "bytes" }),
  /** Whether the build counts down to autoboot (a key stops it). */
  autoboot: s.boolean().or(false),
  /** The NIC sends from a MAC of U-Boot's own, whatever QEMU says (virtio: 52:52:52:52:52:52): set ethaddr. */
  fixedMac: s.boolean().or(false),
  kernel: s.object({
    /** What the bootloader boots: a legacy uImage (bootm), an ARM zImage (bootz), an arm64 Image (booti). */
    format: s.oneOf(["uImage", "zImage", "Image"] as const),
    bootCommand: s.oneOf(["bootm", "bootz", "booti"] as const),
    /** How the initramfs is passed: as the boot command's second argument, or rd_start/rd_size in bootargs. */
    ramdisk: s.oneOf(["argument", "bootargs"] as const),
    /**
     * The Image travels gzipped (Linux's Image.gz) over the network, and booti unpacks it: to
     * kernel_comp_addr_r (`unpackAddress`), reading at most kernel_comp_size (`maxBytes`) bytes, then moves
     * it to the load address. Both variables must be set before booti (`ubootKernelEnv`).
     */
    gzip: s.object({ unpackAddress: s.hex(), maxBytes: s.hex(), why: s.string().maybe() }).maybe(),
  }),
  /** Load addresses for the kernel, the initramfs and scripts, and where RAM starts. */
  addresses: s.object({ kernel: s.hex(), ramdisk: s.hex(), script: s.hex(), ramStart: s.hex() }),
  /** bootargs words the kernel needs from this bootloader (malta: memsize=256M). */
  bootargs: s.strings(),
  /** The uImage architecture name for mkimage-style headers. */
  uimageArch: s.oneOf(["mips", "arm", "arm64"] as const),
};
/**
 * What a target's U-Boot wants (`target.firmware.uboot`): prompt, autoboot, load addresses, the kernel format it boots.
 *
 * @interface
 */
export type UBootTarget = Infer<typeof UBOOT>;

const FIRMWARE = {
  uboot: s.object(UBOOT).maybe(),
};

/** What the seed flows need of a board beyond the machine, the guest and the firmware. */
const FLOWS = {
  /**
   * Whether the target can kexec (seed 004), and the kexec arguments it needs. With `kernel`, the Debian
   * kernel cannot, and the boot chain runs on a kernel built from Debian's source (both stages, no modules).
   */
  kexec: s.object({
    supported: s.boolean().or(true),
    args: s.strings(),
    why: s.string().maybe(),
    kernel: s.object(KERNEL_BUILD).maybe(),
  }).maybe(),
  /**
   * How the boot chain's kernel (seed 004's preinit) reaches a router flash image given as a disk: as an
   * MTD device (block2mtd, so rootfs_data is jffs2 as on a router) or, where the kernel cannot make an
   * MTD of a disk, through loop devices at the partition offsets with an ext4 rootfs_data.
   */
  flashAsDisk: s.object({
    access: s.oneOf(["block2mtd", "loop"] as const),
    dataFs: s.oneOf(["jffs2", "ext4"] as const),
    why: s.string().maybe(),
  }).maybe(),
  /**
   * The kernel a router firmware on the board's flash runs (seed 001), when the Debian kernel cannot see
   * the flash (no physmap-OF, no cmdlinepart); without it, the kexec kernel built from source (malta's has both).
   */
  routerKernel: s.object(KERNEL_BUILD).maybe(),
};

/** One board: targets/NAME.json. */
const TARGET = {
  name: s.string({ pattern: NAME, what: "a lower-case name like \"malta-mipsel\"" }),
  description: s.string(),
  machine: s.object(MACHINE),
  guest: s.object(GUEST),
  firmware: s.object(FIRMWARE),
  flows: s.object(FLOWS),
};
/**
 * A board of the catalogue (targets/NAME.json, `bootlab targets`), as data checked when loaded: `machine` (QEMU,
 * console, NIC, disk, USB, its own flash, snapshots), `guest` (Debian arch, uname, kernel), `firmware` (U-Boot) and
 * `flows` (kexec, flashAsDisk, routerKernel). A scenario gets it as `ctx.target`.
 *
 * @interface
 */
export type Target = Infer<typeof TARGET>;

/** Validates one target object; `source` names the file in error messages. */
export function parseTarget(source: string, raw: unknown): Target {
  const target = parseWith(source, raw, TARGET, "target");
  if (source.endsWith(".json") && basename(source, ".json") !== target.name) {
    throw new ScenarioError(`${source}: field name: expected "${basename(source, ".json")}" (the file's name), got "${target.name}"`);
  }
  return target;
}

let cached: Map<string, Target> | undefined;

/** Loads and validates every target in a folder (default: the project's targets/). */
export function loadCatalogue(dir = join(projectRoot, "targets")): Map<string, Target> {
  if (cached && dir === join(projectRoot, "targets")) return cached;
  const out = new Map<string, Target>();
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
    const file = join(dir, f);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
      throw new ScenarioError(`${file}: not valid JSON: ${(e as Error).message}`);
    }
    const t = parseTarget(file, raw);
    out.set(t.name, t);
  }
  if (dir === join(projectRoot, "targets")) cached = out;
  return out;
}

/**
 * The command line every Linux boot of `target` starts with, whoever passes it (QEMU's -append, U-Boot's
 * bootargs, a boot script, kexec, an extlinux.conf): the console (`console`, to reproduce a wrong one),
 * panic=1 (a panicking guest reboots instead of hanging; the console watcher has already failed the step)
 * and the target's own words (`guest.kernel.cmdline`).
 */
export function linuxCommandLine(target: Target, console = target.machine.console.linuxDevice): string[] {
  return commandLineStart(console, target.guest.kernel.cmdline);
}

/** `linuxCommandLine` for code that holds the console's name and the target's words, not the target. */
export function commandLineStart(console: string, targetWords: readonly string[]): string[] {
  return [`console=${console}`, "panic=1", ...targetWords];
}

/** A number as U-Boot writes addresses: 0x and 8 hex digits. */
export const hex = (n: number): string => "0x" + n.toString(16).padStart(8, "0");

/**
 * The U-Boot variables its boot command needs before it boots the kernel `bootloaderKernel` makes: for a
 * gzipped Image, where booti unpacks it (real arm64 boards carry these in their default environment;
 * Debian's qemu_arm64 build does not). Empty when the kernel needs none.
 */
export function ubootKernelEnv(u: UBootTarget): Record<string, string> {
  const g = u.kernel.gzip;
  if (!g) return {};
  return { kernel_comp_addr_r: hex(g.unpackAddress), kernel_comp_size: hex(g.maxBytes) };
}

export function getTarget(name: string): Target {
  const cat = loadCatalogue();
  const t = cat.get(name);
  if (!t) {
    throw new ScenarioError(`unknown target "${name}"`, { expected: `one of: ${[...cat.keys()].join(", ")}` });
  }
  return t;
}
