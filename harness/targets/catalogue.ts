// The machine catalogue: targets/*.json, one file per board, validated up front. Adding a board is adding
// a file here — the launcher has no per-machine branches.

import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { FieldReader } from "../validation/fields.ts";
import { ScenarioError } from "../errors/failures.ts";
import { projectRoot } from "../paths.ts";

/** A kernel built from a Debian source package (harness/fixtures/kernel-build.ts). */
export interface KernelBuildSpec {
  /** The locked source package, e.g. linux-source-6.1. */
  source: string;
  /** The Kconfig fragment applied to allnoconfig, relative to the project. */
  config: string;
  /** make's ARCH= and CROSS_COMPILE= (a Debian cross compiler's prefix). */
  arch: string;
  crossCompile: string;
  /** The make target that is the bootable image: vmlinux (at the top of the tree), or Image (under arch/ARCH/boot/). */
  image: string;
}

export interface Target {
  name: string;
  description: string;
  /** Debian architecture the guest software comes from. */
  debianArch: string;
  /** What `uname -m` prints in the guest. */
  unameMachine: string;
  qemu: {
    binary: string;
    machine: string;
    cpu?: string;
    memoryMiB: number;
    extraArgs: string[];
  };
  console: {
    /** The kernel's name for the first serial port, used in `console=`. */
    linuxDevice: string;
  };
  nic: {
    /** QEMU -device model of the board's NIC. */
    device: string;
    /** Modules that drive it under Debian's kernel, dependencies resolved by the fixtures. */
    linuxModules: string[];
    linuxName: string;
  };
  /** The board's block device for disks the scenario attaches (flash stand-ins, root images). */
  disk?: {
    device: string;
    linuxModules: string[];
    /** The first disk's name under Linux (vda, sda, …). */
    linuxName: string;
  };
  /** The USB host controller sticks plug into, and the modules that drive it and the stick. */
  usb?: {
    /** QEMU -device of the controller (its id is the device name). */
    controller: string;
    /** The bus its ports are on, for usb-storage's bus= (QEMU names it "<id>.0"). */
    bus: string;
    linuxModules: string[];
  };
  /**
   * Whether the target can kexec, and the kexec arguments it needs. With `kernel`, the Debian kernel
   * cannot, and the boot chain runs on a kernel built from Debian's source (both stages, no modules).
   */
  kexec?: { supported: boolean; args: string[]; why?: string; kernel?: KernelBuildSpec };
  /**
   * How the boot chain's kernel (seed 004's preinit) reaches a router flash image given as a disk: as an
   * MTD device (block2mtd, so rootfs_data is jffs2 as on a router) or, where the kernel cannot make an
   * MTD of a disk, through loop devices at the partition offsets with an ext4 rootfs_data.
   */
  flashAsDisk?: { access: "block2mtd" | "loop"; dataFs: "jffs2" | "ext4"; why?: string };
  /** The board's own flash chips (CFI NOR on QEMU's pflash), which a board with no kernel boots from. */
  boardFlash?: BoardFlash;
  kernel: {
    /** Debian package (usually a meta package) that provides the kernel. */
    package: string;
    /** Path of the kernel image inside the unpacked package; {version} is the kernel release. */
    file: string;
    /** Extra kernel command-line words this board needs. */
    cmdline: string[];
    /**
     * Where QEMU's loader cuts the command line (malta: 255 bytes), and what it puts in front of it when
     * there is an initrd ({size}: the initrd's size in bytes). A longer line is refused before power-on:
     * QEMU would cut it silently and, say, a long mtdparts= would vanish.
     */
    commandLineLimit?: { bytes: number; initrdPrefix?: string };
  };
  /** Whether machine snapshots restore correctly on this target, and why not if they do not. */
  snapshots?: { supported: boolean; why?: string };
  /** The board's firmware when it boots like a real device: U-Boot from Debian's u-boot-qemu. */
  uboot?: UBootTarget;
}

export interface BoardFlash {
  /** In QEMU's pflash unit order; the first is the one the CPU starts from. */
  chips: {
    name: string;
    bytes: number;
    eraseBlockBytes: number;
    /** The MTD device name Linux gives the chip (what `mtdparts=` names), where Linux can see it. */
    linuxName?: string;
    /** Where the bootloader reads the chip (malta's U-Boot: 0xbe000000, KSEG1 of 0x1e000000). */
    address: number;
  }[];
  /**
   * Where the board's QEMU stores flash words swapped when it boots from flash (malta little-endian:
   * hw/mips/malta.c swaps every 32-bit word of the first 0x3e0000 bytes in memory at power-on). Media
   * hold the guest's byte order; the lab swaps them for that role and back afterwards.
   */
  byteSwap?: { wordBytes: number; firstBytes: number; why: string };
  /** How long a board booting from flash may be silent before it counts as dead (nothing boots). */
  firstOutputSeconds: number;
  /**
   * The kernel a router firmware on this flash runs, when the Debian kernel cannot see the flash (no
   * physmap-OF, no cmdlinepart); without it, the kexec kernel built from source (malta's has both).
   */
  firmwareKernel?: KernelBuildSpec;
  /**
   * Set (to why) where QEMU runs the first chip even when given a kernel: a board then boots a lab kernel
   * only with that slot empty.
   */
  firstChipRunsFirst?: string;
  why?: string;
}

export interface UBootTarget {
  /** Path inside the u-boot-qemu package, given to QEMU as -bios. */
  firmware: string;
  /** Malta in little-endian mode swaps every 32-bit word of its flash: the file must be pre-swapped. */
  byteSwap32: boolean;
  /** The prompt as printed, e.g. "=> ". */
  prompt: string;
  /** Whether the build counts down to autoboot (a key stops it). */
  autoboot: boolean;
  /** The NIC sends from a MAC of U-Boot's own, whatever QEMU says (virtio: 52:52:52:52:52:52): set ethaddr. */
  fixedMac: boolean;
  kernel: {
    /** What the bootloader boots: a legacy uImage (bootm), an ARM zImage (bootz), an arm64 Image (booti). */
    format: "uImage" | "zImage" | "Image";
    bootCommand: "bootm" | "bootz" | "booti";
    /** How the initramfs is passed: as the boot command's second argument, or rd_start/rd_size in bootargs. */
    ramdisk: "argument" | "bootargs";
  };
  /** Load addresses (numbers) for the kernel, the initramfs and scripts, and where RAM starts. */
  addresses: { kernel: number; ramdisk: number; script: number; ramStart: number };
  /** bootargs words the kernel needs from this bootloader (malta: memsize=256M). */
  bootargs: string[];
  /** The uImage architecture name for mkimage-style headers. */
  uimageArch: "mips" | "arm" | "arm64";
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;

/** Validates one target object; `source` names the file in error messages. */
export function parseTarget(source: string, raw: unknown): Target {
  const r = new FieldReader(source, raw);
  const name = r.string("name", { pattern: NAME, what: "a lower-case name like \"malta-mipsel\"" });
  const description = r.string("description");
  const debianArch = r.oneOf("debianArch", ["mipsel", "mips", "armhf", "armel", "arm64"] as const);
  const unameMachine = r.string("unameMachine");
  const q = r.object("qemu")!;
  const qemu = {
    binary: q.string("binary", { pattern: /^qemu-system-[a-z0-9_]+$/, what: "a qemu-system-* binary name" }),
    machine: q.string("machine"),
    cpu: q.optionalString("cpu"),
    memoryMiB: q.number("memoryMiB", { integer: true, min: 16, max: 16384, unit: "MiB" }),
    extraArgs: q.stringArray("extraArgs", { optional: true }),
  };
  q.noOtherFields();
  const c = r.object("console")!;
  const console = { linuxDevice: c.string("linuxDevice", { pattern: /^tty[A-Za-z0-9]+$/, what: "a tty name like ttyS0" }) };
  c.noOtherFields();
  const n = r.object("nic")!;
  const nic = {
    device: n.string("device"),
    linuxModules: n.stringArray("linuxModules"),
    linuxName: n.string("linuxName"),
  };
  n.noOtherFields();
  const d = r.object("disk", { optional: true });
  const disk = d ? { device: d.string("device"), linuxModules: d.stringArray("linuxModules"), linuxName: d.string("linuxName") } : undefined;
  d?.noOtherFields();
  const u0 = r.object("usb", { optional: true });
  const usb = u0 ? { controller: u0.string("controller"), bus: u0.string("bus"), linuxModules: u0.stringArray("linuxModules") } : undefined;
  u0?.noOtherFields();
  const kx = r.object("kexec", { optional: true });
  const kb = kx?.object("kernel", { optional: true });
  const kernelBuild = kb ? readKernelBuild(kb) : undefined;
  const kexec = kx
    ? { supported: kx.optionalBoolean("supported") ?? true, args: kx.stringArray("args", { optional: true }), why: kx.optionalString("why"), ...(kernelBuild ? { kernel: kernelBuild } : {}) }
    : undefined;
  kx?.noOtherFields();
  const bf = r.object("boardFlash", { optional: true });
  let boardFlash: BoardFlash | undefined;
  if (bf) {
    const chips = bf.objectArray("chips", { nonEmpty: true }).map((c) => {
      const linuxName = c.optionalString("linuxName");
      const chip = {
        name: c.string("name", { pattern: /^[a-z0-9][a-z0-9-]*$/, what: "a lower-case chip name" }),
        bytes: c.number("bytes", { integer: true, min: 65536, unit: "bytes" }),
        eraseBlockBytes: c.number("eraseBlockBytes", { integer: true, min: 512, unit: "bytes" }),
        address: Number(c.string("address", { pattern: /^0x[0-9a-fA-F]{1,8}$/, what: "a hex address like \"0xbe000000\"" })),
        ...(linuxName ? { linuxName } : {}),
      };
      c.noOtherFields();
      return chip;
    });
    const sw = bf.object("byteSwap", { optional: true });
    const byteSwap = sw
      ? { wordBytes: sw.number("wordBytes", { integer: true, min: 2, max: 8 }), firstBytes: sw.number("firstBytes", { integer: true, min: 4, unit: "bytes" }), why: sw.string("why") }
      : undefined;
    sw?.noOtherFields();
    const fk = bf.object("firmwareKernel", { optional: true });
    const firmwareKernel = fk ? readKernelBuild(fk) : undefined;
    const firstChipRunsFirst = bf.optionalString("firstChipRunsFirst");
    boardFlash = {
      chips,
      ...(byteSwap ? { byteSwap } : {}),
      ...(firmwareKernel ? { firmwareKernel } : {}),
      ...(firstChipRunsFirst ? { firstChipRunsFirst } : {}),
      firstOutputSeconds: bf.optionalNumber("firstOutputSeconds", { min: 1, max: 120, unit: "seconds" }) ?? 10,
      why: bf.optionalString("why"),
    };
    bf.noOtherFields();
  }
  const fl = r.object("flashAsDisk", { optional: true });
  const flashAsDisk = fl
    ? {
      access: fl.string("access", { pattern: /^(block2mtd|loop)$/, what: "block2mtd or loop" }) as "block2mtd" | "loop",
      dataFs: fl.string("dataFs", { pattern: /^(jffs2|ext4)$/, what: "jffs2 or ext4" }) as "jffs2" | "ext4",
      why: fl.optionalString("why"),
    }
    : undefined;
  fl?.noOtherFields();
  const k = r.object("kernel")!;
  const kernel = {
    package: k.string("package"),
    file: k.string("file", { pattern: /\{version\}/, what: "a path containing {version}" }),
    cmdline: k.stringArray("cmdline", { optional: true }),
  };
  const cl = k.object("commandLineLimit", { optional: true });
  if (cl) {
    const initrdPrefix = cl.optionalString("initrdPrefix");
    Object.assign(kernel, { commandLineLimit: { bytes: cl.number("bytes", { min: 16, integer: true, unit: "bytes" }), ...(initrdPrefix !== undefined ? { initrdPrefix } : {}) } });
    cl.noOtherFields();
  }
  k.noOtherFields();
  const u = r.object("uboot", { optional: true });
  let uboot: UBootTarget | undefined;
  if (u) {
    const hex = { pattern: /^0x[0-9a-fA-F]{1,8}$/, what: "a hex address like \"0x82000000\"" };
    const uk = u.object("kernel")!;
    const ua = u.object("addresses")!;
    uboot = {
      firmware: u.string("firmware"),
      byteSwap32: u.optionalBoolean("byteSwap32") ?? false,
      prompt: u.string("prompt"),
      autoboot: u.optionalBoolean("autoboot") ?? false,
      fixedMac: u.optionalBoolean("fixedMac") ?? false,
      kernel: {
        format: uk.oneOf("format", ["uImage", "zImage", "Image"] as const),
        bootCommand: uk.oneOf("bootCommand", ["bootm", "bootz", "booti"] as const),
        ramdisk: uk.oneOf("ramdisk", ["argument", "bootargs"] as const),
      },
      addresses: {
        kernel: Number(ua.string("kernel", hex)),
        ramdisk: Number(ua.string("ramdisk", hex)),
        script: Number(ua.string("script", hex)),
        ramStart: Number(ua.string("ramStart", hex)),
      },
      bootargs: u.stringArray("bootargs", { optional: true }),
      uimageArch: u.oneOf("uimageArch", ["mips", "arm", "arm64"] as const),
    };
    uk.noOtherFields();
    ua.noOtherFields();
    u.noOtherFields();
  }
  const sn = r.object("snapshots", { optional: true });
  const snapshots = sn ? { supported: sn.optionalBoolean("supported") ?? true, why: sn.optionalString("why") } : undefined;
  sn?.noOtherFields();
  r.noOtherFields();
  r.throwIfProblems("target");
  if (source.endsWith(".json") && basename(source, ".json") !== name) {
    throw new ScenarioError(`${source}: field name: expected "${basename(source, ".json")}" (the file's name), got "${name}"`);
  }
  return { name, description, debianArch, unameMachine, qemu, console, nic, ...(disk ? { disk } : {}), ...(usb ? { usb } : {}), ...(kexec ? { kexec } : {}), ...(flashAsDisk ? { flashAsDisk } : {}), ...(boardFlash ? { boardFlash } : {}), kernel, ...(uboot ? { uboot } : {}), ...(snapshots ? { snapshots } : {}) };
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

export function getTarget(name: string): Target {
  const cat = loadCatalogue();
  const t = cat.get(name);
  if (!t) {
    throw new ScenarioError(`unknown target "${name}"`, { expected: `one of: ${[...cat.keys()].join(", ")}` });
  }
  return t;
}

function readKernelBuild(kb: FieldReader): KernelBuildSpec {
  const spec = { source: kb.string("source"), config: kb.string("config"), arch: kb.string("arch"), crossCompile: kb.string("crossCompile"), image: kb.string("image") };
  kb.noOtherFields();
  return spec;
}
