// Builds a busybox initramfs (cpio newc + gzip) from files on the host. No root, no loop mounts, and the
// same inputs give the same bytes. Kernel modules go in at their usual paths with a pruned modules.dep,
// so busybox `modprobe NAME` works in the guest; /etc/bootlab/modules lists them in load order.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzip } from "node:zlib";
import { promisify } from "node:util";
import { type CpioEntry, writeCpio } from "./cpio.ts";

export interface InitramfsSpec {
  /** A static busybox binary for the guest's architecture. */
  busybox: string;
  /** The text of /init (a busybox sh script). */
  init: string;
  /** Kernel modules: the unpacked kernel root, its release, and .ko paths relative to the root in load order. */
  modules?: { root: string; release: string; files: string[] };
  /** More files to place, e.g. scripts a scenario needs in the guest. */
  files?: { path: string; data: Uint8Array | string; mode?: number }[];
}

const DIRS = ["bin", "sbin", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "run", "mnt", "root", "etc/bootlab"];

export function initramfsEntries(spec: InitramfsSpec): CpioEntry[] {
  const enc = new TextEncoder();
  const entries: CpioEntry[] = DIRS.map((path) => ({ type: "dir", path, mode: path === "tmp" ? 0o1777 : 0o755 }));
  // /dev/console must exist before devtmpfs is mounted, or the kernel opens no console for /init and
  // everything it prints is lost.
  entries.push({ type: "char", path: "dev/console", major: 5, minor: 1, mode: 0o600 });
  entries.push({ type: "file", path: "bin/busybox", data: readFileSync(spec.busybox), mode: 0o755 });
  entries.push({ type: "symlink", path: "bin/sh", target: "busybox" });
  entries.push({ type: "file", path: "init", data: enc.encode(spec.init), mode: 0o755 });
  if (spec.modules && spec.modules.files.length > 0) {
    const { root, release, files } = spec.modules;
    const base = `lib/modules/${release}`;
    for (const f of files) entries.push({ type: "file", path: f, data: readFileSync(join(root, f)), mode: 0o644 });
    const wanted = new Set(files.map((f) => f.slice(base.length + 1)));
    const dep = readFileSync(join(root, base, "modules.dep"), "utf8")
      .split("\n")
      .filter((l) => wanted.has(l.split(":")[0]!))
      .join("\n");
    entries.push({ type: "file", path: `${base}/modules.dep`, data: enc.encode(dep + "\n") });
    entries.push({ type: "file", path: "etc/bootlab/modules", data: enc.encode(files.map((f) => "/" + f).join("\n") + "\n") });
  }
  for (const f of spec.files ?? []) {
    entries.push({ type: "file", path: f.path, data: typeof f.data === "string" ? enc.encode(f.data) : f.data, mode: f.mode ?? 0o644 });
  }
  return entries;
}

/**
 * The gzip-compressed archive, byte-for-byte reproducible. Compressed on libuv's thread pool: a library run
 * builds initramfs while other boards run, and a compression on the event loop (100-700 ms for a few MB)
 * would stall their consoles and the lab LAN for as long.
 */
export async function buildInitramfs(spec: InitramfsSpec): Promise<Uint8Array> {
  return await promisify(gzip)(writeCpio(initramfsEntries(spec)), { level: 6 });
}
