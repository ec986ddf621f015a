// What a scenario body receives: the target it runs on, the lab (machines + LAN), fixtures bound to the
// target, and named steps with deadlines.

import type { Target } from "../targets/catalogue.ts";
import type { Lab } from "../lab/lab.ts";
import type { Fixtures, InitramfsOptions } from "../fixtures/fixtures.ts";
import type { BootloaderKernel } from "../fixtures/bootloader.ts";
import type { BuiltKernel, BuiltKernelRole } from "../fixtures/kernel-build.ts";
import type { Steps } from "./steps.ts";
import type { Transcript } from "../console/transcript.ts";

/**
 * The fixtures of the target a scenario runs on (`ctx.fixtures`): Debian's kernel, busybox and U-Boot for it,
 * fetched and verified once, cached in ~/.cache/bootlab. Each returns a path (or, for the kernel U-Boot boots, its
 * format and addresses).
 */
export interface TargetFixtures {
  /**
   * Path of the target's Debian kernel for QEMU to boot directly (lab.boot `kernel`): unpacked once where
   * Debian ships it self-decompressing (targets/*.json: guest.kernel.directBoot), so no boot spends its
   * first second in the decompressor. The same kernel runs.
   */
  kernel(): Promise<string>;
  /** Path of the kernel file as Debian ships it: what a bootloader, kexec or a disk's /boot gets. */
  shippedKernel(): Promise<string>;
  /** Kernel release string (uname -r) of that kernel. */
  kernelRelease(): Promise<string>;
  /** Path of an initramfs with busybox, an init script from fixtures/init/, and modules. */
  initramfs(opts?: InitramfsOptions): Promise<string>;
  /** Path of the target's static busybox (for root file systems a scenario builds). */
  busybox(): Promise<string>;
  /** Path of the target's U-Boot (give it to lab.boot as `firmware`). */
  uboot(): Promise<string>;
  /** U-Boot as the guest reads it: what goes at the start of the board's own flash (lab.boot `flash`). */
  ubootImage(): Promise<string>;
  /**
   * The kernel as the target's U-Boot boots it over the network: a uImage for bootm, Debian's zImage, or
   * the Image gzipped where the target says so (with the `env` booti needs to unpack it).
   */
  bootloaderKernel(): Promise<BootloaderKernel>;
  /**
   * A kernel built from Debian's source for this target, optionally with a built-in initramfs: the kexec
   * one (kexec.kernel), or with `role: "firmware"` the one a router firmware on its flash runs.
   */
  builtKernel(opts?: { embed?: string; role?: BuiltKernelRole }): Promise<BuiltKernel>;
}

/** What a scenario body receives, once per target. */
export interface ScenarioContext {
  /** The target this run is on. */
  target: Target;
  /** This run's lab: `lab.boot(target, opts)`, `lab.lan()`, `lab.medium()`. */
  lab: Lab;
  /** Kernels, initramfs, U-Boot for this target. */
  fixtures: TargetFixtures;
  /** Runs `fn` as a named step of the timeline, optionally with its own deadline. */
  step<T>(name: string, fn: () => Promise<T>, opts?: { timeoutSeconds?: number }): Promise<T>;
  /** A note in the run log. */
  log(message: string): void;
}

export function targetFixtures(fixtures: Fixtures, target: Target, steps: Steps): TargetFixtures {
  return {
    kernel: () => steps.run("fetch kernel", () => fixtures.directBootKernel(target)),
    shippedKernel: () => steps.run("fetch kernel", async () => (await fixtures.kernel(target)).image),
    kernelRelease: async () => (await fixtures.kernel(target)).release,
    initramfs: (opts) => steps.run("build initramfs", () => fixtures.initramfs(target, opts)),
    busybox: () => fixtures.busybox(target),
    uboot: () => steps.run("fetch U-Boot", () => fixtures.uboot(target)),
    ubootImage: () => steps.run("fetch U-Boot", () => fixtures.ubootImage(target)),
    bootloaderKernel: () => steps.run("prepare the kernel for U-Boot", () => fixtures.bootloaderKernel(target)),
    builtKernel: (opts) => steps.run(opts?.embed ? "link the kernel with its built-in initramfs" : "build the kernel", () => fixtures.builtKernel(target, opts?.embed, undefined, opts?.role)),
  };
}

export function makeContext(o: { target: Target; lab: Lab; fixtures: Fixtures; steps: Steps; log?: Transcript }): ScenarioContext {
  return {
    target: o.target,
    lab: o.lab,
    fixtures: targetFixtures(o.fixtures, o.target, o.steps),
    step: (name, fn, opts) => o.steps.run(name, fn, { timeoutMs: opts?.timeoutSeconds ? opts.timeoutSeconds * 1000 : undefined }),
    log: (m) => o.log?.note(m),
  };
}
