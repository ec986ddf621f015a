// When a boot may start from a saved machine instead of powering on, and how a prepared machine is saved.
// The key is a fingerprint of everything that made the state (fingerprint.ts); a miss, a stale entry, a
// target that cannot be restored or snapshots switched off are each a cold boot with a note saying why.

import { copyFileSync } from "node:fs";
import { join } from "node:path";
import type { Target } from "../targets/catalogue.ts";
import type { Machine } from "../machine/machine.ts";
import { type MachinePlan, qemuArgs } from "../machine/qemu-args.ts";
import { SnapshotCache } from "./cache.ts";
import { differences, fileHash, fingerprintKey, type FingerprintInputs, qemuVersion } from "./fingerprint.ts";

/**
 * A named point a machine is prepared up to once; later boots with the same inputs start from there.
 * "shell": bootlab's init handed over a synced shell. "uboot": U-Boot's prompt is ours (ethaddr set).
 */
export interface SnapshotRequest<B = unknown> {
  at: "shell" | "uboot";
  /** Names the point (default: `at`). Boards with the same name and the same inputs share it. */
  name?: string;
  /** More preparation after `at`, saved with it; its source text is part of the fingerprint. */
  prepare?: (board: B) => Promise<void>;
}

export interface SnapshotLookup {
  key: string;
  name: string;
  inputs: FingerprintInputs;
  /** The saved machine, when one matches and may be restored. */
  hit?: NonNullable<ReturnType<SnapshotCache["get"]>>;
  /** Whether a prepared machine may be saved afterwards. */
  canSave: boolean;
}

/** The plan with every file replaced by the hash of its content: what the fingerprint sees. */
async function hashedPlan(plan: MachinePlan): Promise<MachinePlan> {
  const h = async (p?: string) => (p ? `sha256:${await fileHash(p)}` : undefined);
  const drives = (list: MachinePlan["disks"]) => Promise.all((list ?? []).map(async (d) => ({ file: (await h(d.file))!, format: "qcow2" as const })));
  return {
    media: { ...plan.media, firmware: await h(plan.media.firmware), kernel: await h(plan.media.kernel), initrd: await h(plan.media.initrd) },
    nics: plan.nics.map((n) => ({ ...n, lanSocket: n.lanSocket && "LAN" })),
    disks: await drives(plan.disks),
    ...(plan.usb ? { usb: await drives(plan.usb) } : {}),
  };
}

export class SnapshotPolicy {
  readonly #enabled: boolean;
  readonly #note: (line: string) => void;
  readonly #cache = new SnapshotCache();

  constructor(enabled: boolean, note: (line: string) => void) {
    this.#enabled = enabled;
    this.#note = note;
  }

  /**
   * Looks the machine up. `plan` names the source images (not per-run overlays): their content is what
   * the fingerprint hashes.
   */
  async lookup<B>(o: { target: Target; request: SnapshotRequest<B>; plan: MachinePlan; lan: FingerprintInputs["lan"] }): Promise<SnapshotLookup> {
    const name = o.request.name ?? o.request.at;
    const inputs: FingerprintInputs = {
      point: o.request.at, name, prepare: o.request.prepare?.toString() ?? "", target: o.target,
      qemuVersion: qemuVersion(o.target.machine.qemu.binary),
      argv: qemuArgs({ ...(await hashedPlan(o.plan)), target: o.target, consoles: [{ id: "con0", socket: "CONSOLE", logfile: "LOG" }], qmpSocket: "QMP" }),
      lan: o.lan,
    };
    const key = fingerprintKey(inputs);
    const restorable = o.target.machine.snapshots?.supported !== false;
    const canSave = this.#enabled && restorable;
    if (!this.#enabled) this.#note(`snapshot "${name}": cold boot (snapshots are off)`);
    else if (!restorable) this.#note(`snapshot "${name}": cold boot: ${o.target.name} cannot be restored (${o.target.machine.snapshots?.why ?? "see its target data"})`);
    else {
      const hit = this.#cache.get(key);
      if (hit) return { key, name, inputs, hit, canSave };
      const stale = this.#cache.others(name, o.target.name, key);
      this.#note(`snapshot "${name}" for ${o.target.name}: ${stale.length
        ? `cold boot: the saved one was made from other inputs (${differences(stale.at(-1)!.inputs, inputs).join(", ")})`
        : "cold boot: none saved yet"}`);
    }
    return { key, name, inputs, canSave };
  }

  /** Saves a prepared machine (state + its disk overlays, copied while paused), then lets it run on. */
  async save(o: { machine: Machine; lookup: SnapshotLookup; target: string; overlays: string[]; coldMs: number; lease?: { mac: string; ip: string } }): Promise<void> {
    const staging = this.#cache.staging(o.lookup.key);
    try {
      await o.machine.saveState(join(staging.dir, "state"));
      o.overlays.forEach((f, i) => copyFileSync(f, join(staging.dir, `disk-${i}.qcow2`)));
      await o.machine.resume();
      const meta = staging.commit({
        key: o.lookup.key, name: o.lookup.name, point: o.lookup.inputs.point, target: o.target, coldMs: o.coldMs,
        disks: o.overlays.length, inputs: o.lookup.inputs, ...(o.lease ? { lease: o.lease } : {}),
      });
      this.#note(`snapshot "${o.lookup.name}" (${o.lookup.key.slice(0, 12)}) saved: ${(meta.bytes / 1048576).toFixed(1)} MB; cold boot to it took ${o.coldMs} ms`);
    } catch (e) {
      staging.abort();
      throw e;
    }
  }
}
