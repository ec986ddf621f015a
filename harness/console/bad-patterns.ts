// Lines that mean the device died or reset, watched on every console all the time. A scenario that
// expects one (a panic test) says so by name for that step; the expected pattern also wins when it
// matches the same line.

export interface BadPattern {
  name: string;
  pattern: RegExp;
  /** How many times the line may appear before it counts (a boot banner is fine once). */
  allowedTimes?: number;
}

// printk lines carry "[    1.234567] " on Debian kernels; anchoring on it keeps a shell command that
// prints "BUG:" from looking like a kernel bug.
const PRINTK = String.raw`^(?:\[\s*\d+\.\d+\]\s*)?`;

export function linuxBadPatterns(opts: { bootloaderBanners?: number } = {}): BadPattern[] {
  return [
    { name: "kernel-panic", pattern: /Kernel panic - not syncing:.*/ },
    { name: "oops", pattern: new RegExp(PRINTK + String.raw`(?:Internal error: Oops.*|Oops(?:\[#\d+\])?:.*|(?:CPU \d+ )?Unable to handle kernel.*)`) },
    { name: "bug", pattern: new RegExp(PRINTK + String.raw`BUG: .*`) },
    // The kernel banner at time zero: seen once per boot, a second one means the machine reset.
    { name: "kernel-reset", pattern: /^\[\s*0\.0+\] Linux version .*/, allowedTimes: 1 },
    { name: "bootloader-reset", pattern: /^U-Boot \d{4}\.\d{2}.*/, allowedTimes: opts.bootloaderBanners ?? 0 },
  ];
}
