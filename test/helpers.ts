// Shared by the tests: temp folders and the check that no QEMU of ours is left running.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The suite runs under Node, then again under Deno. Under the second runtime a scenario library runs each
 * scenario on one of its targets, in turn, instead of on every one: every scenario, every harness module
 * and every target still run end to end under both runtimes, but the same flow is not proven on the same
 * target twice (README: "Two runtimes").
 */
export const secondRuntime = "Deno" in globalThis;
/**
 * How the suite runs a scenario library: two pairs side by side (a TCG guest keeps one of the two cores
 * busy, and a board waiting on the network or the console leaves the other free), as `bootlab run --jobs 2`
 * does; under the second runtime, one target each.
 */
export const libraryRun: { oneTargetEach?: boolean; jobs: number } = { jobs: 2, ...(secondRuntime ? { oneTargetEach: true } : {}) };

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
