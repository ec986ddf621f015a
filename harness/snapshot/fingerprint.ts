// What determined a machine's state at a snapshot point, as one hash. Everything that could make a restored
// machine differ from a cold-booted one goes in: the target data, QEMU's version and command line (with
// every file replaced by the hash of its content, and run-specific socket paths by placeholders), the
// LAN addressing the guest saw, and the preparation (point, name, and the source of the prepare function).
// Any difference means a cold boot — never a restore into the wrong state.

import { createHash } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import type { Target } from "../targets/catalogue.ts";

export interface FingerprintInputs {
  point: string;
  name: string;
  prepare: string;
  target: Target;
  qemuVersion: string;
  /** QEMU's argv with files as "sha256:…" and sockets as placeholders. */
  argv: string[];
  lan: { plugged: boolean; subnet?: string; server?: string; mac: string };
}

const fileHashes = new Map<string, { key: string; hash: string }>();

/** sha256 of a file's content, remembered per path, size and mtime (a kernel is hashed once per process). */
export async function fileHash(path: string): Promise<string> {
  const st = statSync(path);
  const key = `${st.size}:${st.mtimeMs}`;
  const known = fileHashes.get(path);
  if (known?.key === key) return known.hash;
  const h = createHash("sha256");
  await new Promise<void>((resolve, reject) => {
    createReadStream(path).on("data", (b) => h.update(b)).on("end", () => resolve()).on("error", reject);
  });
  const hash = h.digest("hex");
  fileHashes.set(path, { key, hash });
  return hash;
}

const versions = new Map<string, string>();

export function qemuVersion(binary: string): string {
  let v = versions.get(binary);
  if (v === undefined) {
    const r = spawnSync(binary, ["--version"], { encoding: "utf8" });
    v = (r.stdout ?? "").split("\n")[0]!.trim() || `unknown (${r.error?.message ?? r.status})`;
    versions.set(binary, v);
  }
  return v;
}

export function fingerprintKey(inputs: FingerprintInputs): string {
  return createHash("sha256").update(JSON.stringify(inputs)).digest("hex").slice(0, 32);
}

/** The top-level inputs that differ between two fingerprints, for the note that explains a cold boot. */
export function differences(a: FingerprintInputs, b: FingerprintInputs): string[] {
  const out: string[] = [];
  for (const k of Object.keys(a) as (keyof FingerprintInputs)[]) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(k === "argv" ? "QEMU command line or a boot file" : k);
  }
  return out;
}
