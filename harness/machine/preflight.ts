// The preflight: really start every target's QEMU with the devices bootlab gives it (NIC, disk, USB
// controller and stick), paused, ask it over QMP whether it is up, and quit. A host that lacks anything
// QEMU loads at start-up (an option ROM, a firmware file) fails here in QEMU's own words, with the fix,
// before a suite runs into the wall. Paused machines cost no CPU: the whole check takes a fraction of
// a second per target.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Target } from "../targets/catalogue.ts";
import { Owner } from "../lifecycle/owner.ts";
import { Machine } from "./machine.ts";
import { asFailure } from "../errors/failures.ts";
import { macFor } from "./qemu-args.ts";

export interface PreflightResult {
  target: string;
  ok: boolean;
  ms: number;
  /** QEMU's status when it answered ("prelaunch"), or its words when it did not. */
  detail: string;
  fix?: string;
}

export async function preflight(target: Target): Promise<PreflightResult> {
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), `bootlab-preflight-${target.name}-`));
  const owner = new Owner(`preflight ${target.name}`);
  try {
    // Blank raw images stand in for the disk and the stick: QEMU only has to open them (one each: QEMU
    // locks an image for writing).
    const blank = (name: string) => {
      const file = join(dir, name);
      writeFileSync(file, new Uint8Array(1 << 20));
      return { file, format: "raw" as const };
    };
    const machine = await Machine.start({
      name: target.name, target, owner, artifacts: dir, runDir: dir, badPatterns: [],
      plan: {
        media: {},
        // An unplugged NIC still loads its option ROM: that is what a missing ipxe-qemu breaks.
        nics: [{ id: "n0", mac: macFor(`preflight/${target.name}`) }],
        disks: target.machine.disk ? [blank("disk.img")] : [],
        ...(target.machine.usb ? { usb: [blank("stick.img")] } : {}),
      },
      paused: true,
    });
    const status = await machine.command<{ status: string }>("query-status");
    return { target: target.name, ok: true, ms: performance.now() - t0, detail: `QEMU ${machine.qmp.version} up (${status.status})` };
  } catch (e) {
    const f = asFailure(e);
    return { target: target.name, ok: false, ms: performance.now() - t0, detail: f.message, ...(f.context.fix ? { fix: f.context.fix } : {}) };
  } finally {
    await owner.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every target at once (paused machines do not compete for the CPU). */
export function preflightAll(targets: Iterable<Target>): Promise<PreflightResult[]> {
  return Promise.all([...targets].map((t) => preflight(t)));
}
