// The snapshot cache: one folder per fingerprint under <bootlab cache>/snapshots, holding the machine
// state (a QEMU migration stream), the disk overlays as they were, and meta.json (what it was made from,
// when it was last used). Bounded in size: the least recently used go first.

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cacheRoot, tempSuffix } from "../paths.ts";
import type { FingerprintInputs } from "./fingerprint.ts";

export interface SnapshotMeta {
  key: string;
  name: string;
  point: string;
  target: string;
  createdAt: string;
  lastUsedAt: string;
  bytes: number;
  /** How long the cold boot to this point took (what a restore saves). */
  coldMs: number;
  disks: number;
  /** The DHCP lease the guest held, so a restored guest's lease stays valid on a new lab LAN. */
  lease?: { mac: string; ip: string };
  inputs: FingerprintInputs;
}

export function defaultMaxBytes(): number {
  const mb = Number(process.env.BOOTLAB_SNAPSHOT_CACHE_MB ?? 4096);
  return (Number.isFinite(mb) && mb > 0 ? mb : 4096) * 1024 * 1024;
}

function dirSize(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir)) n += statSync(join(dir, f)).size;
  return n;
}

export class SnapshotCache {
  readonly dir: string;

  /** BOOTLAB_SNAPSHOT_CACHE moves the snapshots alone (tests use a folder of their own). */
  constructor(dir = process.env.BOOTLAB_SNAPSHOT_CACHE ?? join(cacheRoot(), "snapshots")) {
    this.dir = dir;
  }

  list(): SnapshotMeta[] {
    if (!existsSync(this.dir)) return [];
    const out: SnapshotMeta[] = [];
    for (const k of readdirSync(this.dir)) {
      const meta = join(this.dir, k, "meta.json");
      if (!existsSync(meta)) continue;
      try {
        out.push(JSON.parse(readFileSync(meta, "utf8")) as SnapshotMeta);
      } catch {
        // a half-written entry: prune removes it
      }
    }
    return out.sort((a, b) => a.lastUsedAt.localeCompare(b.lastUsedAt));
  }

  /** The complete entry for a key (its files), marked as used; undefined if absent. */
  get(key: string): { meta: SnapshotMeta; state: string; disk: (i: number) => string } | undefined {
    const d = join(this.dir, key);
    if (!existsSync(join(d, "meta.json")) || !existsSync(join(d, "state"))) return undefined;
    const meta = JSON.parse(readFileSync(join(d, "meta.json"), "utf8")) as SnapshotMeta;
    meta.lastUsedAt = new Date().toISOString();
    writeFileSync(join(d, "meta.json"), JSON.stringify(meta, null, 2) + "\n");
    return { meta, state: join(d, "state"), disk: (i) => join(d, `disk-${i}.qcow2`) };
  }

  /** Entries made for the same name and target from other inputs (to say why this run boots cold). */
  others(name: string, target: string, key: string): SnapshotMeta[] {
    return this.list().filter((m) => m.name === name && m.target === target && m.key !== key);
  }

  /** A folder to build a new entry in; `commit` moves it into place atomically. */
  staging(key: string): { dir: string; commit: (meta: Omit<SnapshotMeta, "bytes" | "lastUsedAt" | "createdAt">) => SnapshotMeta; abort: () => void } {
    mkdirSync(this.dir, { recursive: true });
    const dir = join(this.dir, `.staging-${key}-${tempSuffix()}`);
    mkdirSync(dir);
    return {
      dir,
      abort: () => rmSync(dir, { recursive: true, force: true }),
      commit: (m) => {
        const now = new Date().toISOString();
        const meta: SnapshotMeta = { ...m, createdAt: now, lastUsedAt: now, bytes: dirSize(dir) };
        writeFileSync(join(dir, "meta.json"), JSON.stringify(meta, null, 2) + "\n");
        const final = join(this.dir, key);
        rmSync(final, { recursive: true, force: true });
        renameSync(dir, final);
        this.prune();
        return meta;
      },
    };
  }

  /** Removes half-made entries, then the least recently used until the cache fits. Returns what went. */
  prune(maxBytes = defaultMaxBytes()): SnapshotMeta[] {
    if (!existsSync(this.dir)) return [];
    for (const k of readdirSync(this.dir)) {
      const d = join(this.dir, k);
      // Staging folders of processes that died; a live one is younger than a minute.
      if (k.startsWith(".staging-") && Date.now() - statSync(d).mtimeMs > 60_000) rmSync(d, { recursive: true, force: true });
      else if (!k.startsWith(".") && !existsSync(join(d, "meta.json"))) rmSync(d, { recursive: true, force: true });
    }
    const all = this.list();
    let total = all.reduce((n, m) => n + m.bytes, 0);
    const removed: SnapshotMeta[] = [];
    for (const m of all) {
      if (total <= maxBytes) break;
      rmSync(join(this.dir, m.key), { recursive: true, force: true });
      total -= m.bytes;
      removed.push(m);
    }
    return removed;
  }

  clear(): number {
    const n = this.list().length;
    rmSync(this.dir, { recursive: true, force: true });
    return n;
  }
}
