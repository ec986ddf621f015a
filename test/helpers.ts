// Shared by the tests: temp folders and the check that no QEMU of ours is left running.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The suite runs under Node, then again under Deno. Under the second runtime every harness module still runs
 * end to end, but the same flow is not proven on the same target twice: a scenario library runs each
 * scenario on one of its targets, in turn, and the three largest (netboot, usbboot, flash recovery) run the
 * pairs named in SECOND_RUNTIME_PAIRS — one per harness path they drive (README: "Two commands").
 */
export const secondRuntime = "Deno" in globalThis;

/**
 * The second runtime's pairs of the largest libraries, `scenario id@target`: each covers a module or path no
 * other pair in the list does, and together they cover every target.
 */
export const SECOND_RUNTIME_PAIRS: Record<string, string[]> = {
  netboot: [
    "netboot/tftp-to-ram@virt-arm64", // seed 000: U-Boot's TFTP, the kernel handover, the capture
    "netboot/bootp-bootstrap@malta-mipsel", // seed 002: BOOTP, a bootstrap loaded by file name
    "netboot/tftp-options@virt-armhf", // RFC 2348/7440 options, the server's windowed sending
    "netboot/no-initramfs@malta-mipsel", // an expected product failure in the kernel's step
    "netboot/two-boards@virt-armhf", // two boards on one lab LAN at once
  ],
  usbboot: [
    "usbboot/usb-ext4@malta-mipsel", // kexec into the kernel built from source, an ext4 stick
    "usbboot/network-path@virt-arm64", // the boot script over HTTP
    "usbboot/nbd-root@virt-armhf", // a root on the lab's NBD server
    "usbboot/fallback-flash@malta-mipsel", // no stick: the flash root, jffs2 on an MTD
  ],
  "flash-recovery": [
    "flash-recovery/recover-bricked@malta-mipsel", // seed 001 whole: backup, clone, patch, write, boot
    "flash-recovery/clone-without-factory@virt-arm64", // two boards, the switch's duplicate-MAC report
  ],
};

type Pair = { scenario: { id: string }; target: string };

/**
 * How the suite runs a scenario library: two pairs side by side (a board waiting on the network, the
 * console or a timer leaves a core free), as `bootlab run --jobs 2` does; under the second runtime, one
 * target each, or the library's SECOND_RUNTIME_PAIRS. Netboot too: it once ran one pair at a time, since
 * U-Boot busy-polls its NIC and two such vCPUs starved the lab (CI: 241 s alone, 336 s two at a time);
 * with the vCPU threads at nice 10 (harness/machine/vcpu-priority.ts), `bootlab run scenarios/netboot
 * --target all` takes 73 s with --jobs 2 and 116 s with --jobs 1 (27 pairs, all passed, one sitting).
 */
export function libraryRun(library?: string): { jobs: number; oneTargetEach?: boolean; pick?: <P extends Pair>(pairs: P[]) => P[] } {
  const jobs = 2;
  if (!secondRuntime) return { jobs };
  const pairs = library ? SECOND_RUNTIME_PAIRS[library] : undefined;
  if (!pairs) return { jobs, oneTargetEach: true };
  return { jobs, pick: (all) => all.filter((p) => pairs.includes(`${p.scenario.id}@${p.target}`)) };
}

export function tempDir(prefix = "bootlab-test-"): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** PIDs of running qemu-system-* processes whose command line contains `marker` (any, if empty). */
export function qemuProcesses(marker = ""): number[] {
  const pids: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
    } catch {
      continue;
    }
    const argv = cmd.split("\0");
    // QEMU itself, not the watchdog shell whose arguments also name it; zombies have an empty cmdline.
    if (/(^|\/)qemu-system-[a-z0-9_]+$/.test(argv[0] ?? "") && cmd.includes(marker)) {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, "utf8");
        if (/\) Z /.test(stat)) continue;
      } catch {
        continue;
      }
      pids.push(Number(d));
    }
  }
  return pids;
}

export async function waitFor(cond: () => boolean, timeoutMs: number, stepMs = 100): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return cond();
}
