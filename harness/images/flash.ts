// A router's NOR flash as an image file, from a layout kept as data (fixtures/flash/*.json): OpenWrt's
// u-boot, u-boot-env, factory, firmware (= kernel + squashfs rootfs) and rootfs_data. The same bytes
// serve every target: malta's kernel turns the image into an MTD device with block2mtd and splits it
// with the `mtdparts=` this module writes; the Debian ARM kernels have no way to make an MTD of a disk,
// so their preinit reads the same `mtdparts=` and reaches the partitions through loop devices.

import { closeSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../paths.ts";
import { ScenarioError } from "../errors/failures.ts";
import { FieldReader } from "../validation/fields.ts";
import { buildSquashfs } from "./squashfs.ts";
import { buildExt4 } from "./ext4.ts";
import type { ImageFile } from "./stage.ts";

/** What fills a partition. */
export type PartitionContent =
  /** Erased flash: every byte 0xff (jffs2 formats an erased rootfs_data on its first mount, as OpenWrt relies on). */
  | "erased"
  /** A factory block: an identifying header, then erased bytes (real ones hold MACs and radio calibration). */
  | "factory"
  /** The kernel image the board boots. */
  | "kernel"
  /** The squashfs root file system. */
  | "rootfs"
  /** The writable data partition: erased (for jffs2) or an ext4 file system where the target has no MTD. */
  | "data"
  /** The bootloader the CPU starts from flash (U-Boot). */
  | "bootloader";

export interface FlashPartitionSpec {
  name: string;
  /**
   * Size in KiB; "fit": the content's size rounded up to the erase block; "rest": what the other
   * partitions leave of the chip (layouts with chipKiB, at most one such partition).
   */
  size: number | "fit" | "rest";
  readOnly: boolean;
  content: PartitionContent;
}

export interface FlashLayout {
  /** Where the layout came from (for messages). */
  source: string;
  /** The MTD name `mtdparts=` refers to (block2mtd's label). */
  chip: string;
  eraseBlockBytes: number;
  /** The chip's size when the image must be exactly that (a board's own flash); else the image ends with its last partition. */
  chipBytes?: number;
  partitions: FlashPartitionSpec[];
  /** Named ranges over consecutive partitions, e.g. firmware = kernel + rootfs. */
  spans: { name: string; from: string; to: string }[];
}

export interface FlashPartition {
  name: string;
  offset: number;
  size: number;
  readOnly: boolean;
}

export interface FlashImage {
  path: string;
  size: number;
  eraseBlockBytes: number;
  /** Every partition and span, in `mtdparts=` order. */
  partitions: FlashPartition[];
  /** The kernel parameter describing the layout, e.g. `mtdparts=flash:256k(u-boot)ro,…`. */
  mtdparts: string;
}

const CONTENTS: PartitionContent[] = ["erased", "factory", "kernel", "rootfs", "data", "bootloader"];

/** Reads and checks a layout file (by name from fixtures/flash/, or a path). */
export function readFlashLayout(nameOrPath: string): FlashLayout {
  const path = nameOrPath.includes("/") ? nameOrPath : join(projectRoot, "fixtures", "flash", `${nameOrPath}.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new ScenarioError(`flash layout ${path}: ${(e as Error).message}`, { expected: "a JSON flash layout" });
  }
  return parseFlashLayout(path, raw);
}

export function parseFlashLayout(source: string, raw: unknown): FlashLayout {
  const r = new FieldReader(source, raw);
  r.optionalString("$comment");
  const chip = r.string("chip", { pattern: /^[A-Za-z0-9_.-]+$/, what: "an MTD name (letters, digits, _ . -)" });
  const eraseKiB = r.number("eraseBlockKiB", { min: 4, max: 1024, integer: true, unit: "KiB" });
  const chipKiB = r.optionalNumber("chipKiB", { min: 64, integer: true, unit: "KiB" });
  const problems = r.problems;
  const n = r.optionalArrayLength("partitions") ?? 0;
  if (n === 0) problems.push("field partitions: expected a non-empty array of {name, sizeKiB, content}");
  const partitions: FlashPartitionSpec[] = [];
  for (let i = 0; i < n; i++) {
    const p = new FieldReader(source, (raw as { partitions: unknown[] }).partitions[i], `partitions[${i}]`, problems);
    const name = p.string("name", { pattern: /^[A-Za-z0-9_-]+$/, what: "a partition name (letters, digits, _ -)" });
    let size: number | "fit" | "rest" = "fit";
    // An element that is not an object is already a problem of `p`; it has no size to look at.
    const item = (raw as { partitions: unknown[] }).partitions[i];
    const rawSize = typeof item === "object" && item !== null ? (item as Record<string, unknown>)["sizeKiB"] : undefined;
    if (rawSize === "fit" || rawSize === "rest") {
      size = p.string("sizeKiB") as "fit" | "rest";
      if (size === "rest" && chipKiB === undefined) p.problem("sizeKiB", `a size in KiB or "fit" ("rest" needs the layout's chipKiB)`, size);
    } else {
      size = p.number("sizeKiB", { min: 1, integer: true, unit: "KiB" });
      if (size % eraseKiB !== 0) p.problem("sizeKiB", `a multiple of the erase block (${eraseKiB} KiB)`, size);
    }
    const content = p.string("content", { pattern: new RegExp(`^(${CONTENTS.join("|")})$`), what: `one of ${CONTENTS.join(", ")}` }) as PartitionContent;
    partitions.push({ name, size, readOnly: p.optionalBoolean("readOnly") ?? false, content });
    p.noOtherFields();
  }
  const spans: FlashLayout["spans"] = [];
  const ns = r.optionalArrayLength("spans") ?? 0;
  for (let i = 0; i < ns; i++) {
    const s = new FieldReader(source, (raw as { spans: unknown[] }).spans[i], `spans[${i}]`, problems);
    const span = { name: s.string("name"), from: s.string("from"), to: s.string("to") };
    const a = partitions.findIndex((p) => p.name === span.from);
    const b = partitions.findIndex((p) => p.name === span.to);
    if (a < 0 || b < a) s.problem("to", `partition names of this layout, "from" before "to"`, `${span.from}..${span.to}`);
    spans.push(span);
    s.noOtherFields();
  }
  for (const need of ["rootfs", "data"] as const) {
    if (partitions.filter((p) => p.content === need).length !== 1) problems.push(`field partitions: expected exactly one partition with content "${need}"`);
  }
  if (partitions.filter((p) => p.size === "rest").length > 1) problems.push(`field partitions: expected at most one partition of size "rest"`);
  r.noOtherFields();
  r.throwIfProblems("flash layout");
  return { source, chip, eraseBlockBytes: eraseKiB * 1024, ...(chipKiB ? { chipBytes: chipKiB * 1024 } : {}), partitions, spans };
}

export interface FlashContents {
  /** The kernel image stored in the "kernel" partition. */
  kernel?: string;
  /** The files of the squashfs root. */
  rootFiles: ImageFile[];
  /** How the data partition is prepared: erased for jffs2, or formatted ext4. */
  dataFs: "jffs2" | "ext4";
  /** Bytes after the factory header (e.g. a MAC address), optional. */
  factory?: Uint8Array;
  /** The bootloader image, for a "bootloader" partition (bytes as the guest reads them). */
  bootloader?: string;
}

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

/** Builds the flash image at `out` (scratch files go next to it) and returns its partition map. */
export async function buildFlash(out: string, layout: FlashLayout, c: FlashContents): Promise<FlashImage> {
  const erase = layout.eraseBlockBytes;
  const squash = `${out}.rootfs.squashfs`;
  await buildSquashfs(squash, c.rootFiles);
  const bytesOf = (content: PartitionContent): Uint8Array | undefined => {
    switch (content) {
      case "kernel":
        if (!c.kernel) throw new ScenarioError(`${layout.source}: the layout has a kernel partition but no kernel was given`);
        return new Uint8Array(readFileSync(c.kernel));
      case "rootfs":
        return new Uint8Array(readFileSync(squash));
      case "bootloader":
        if (!c.bootloader) throw new ScenarioError(`${layout.source}: the layout has a bootloader partition but no bootloader was given`);
        return new Uint8Array(readFileSync(c.bootloader));
      case "factory": {
        const head = new TextEncoder().encode("BOOTLAB-FACTORY\n");
        const b = new Uint8Array(head.length + (c.factory?.length ?? 0));
        b.set(head);
        if (c.factory) b.set(c.factory, head.length);
        return b;
      }
      default:
        return undefined;
    }
  };
  const parts: FlashPartition[] = [];
  const fills: { offset: number; bytes?: Uint8Array; content: PartitionContent }[] = [];
  const contents = layout.partitions.map((p) => bytesOf(p.content));
  const sizeOf = (p: FlashPartitionSpec, bytes?: Uint8Array) =>
    p.size === "fit" ? roundUp(Math.max(bytes?.length ?? 0, 1), erase) : p.size === "rest" ? 0 : p.size * 1024;
  const fixed = layout.partitions.reduce((n, p, i) => n + sizeOf(p, contents[i]), 0);
  if (layout.chipBytes !== undefined && fixed > layout.chipBytes) {
    throw new ScenarioError(`${layout.source}: the partitions take ${fixed / 1024} KiB, more than the ${layout.chipBytes / 1024} KiB chip`, {
      expected: "smaller contents (a compressed kernel, a smaller root) or a bigger chip",
    });
  }
  let offset = 0;
  for (const [i, p] of layout.partitions.entries()) {
    const bytes = contents[i];
    const size = p.size === "rest" ? layout.chipBytes! - fixed : sizeOf(p, bytes);
    if (bytes && bytes.length > size) {
      throw new ScenarioError(`${layout.source}: partition ${p.name} is ${size / 1024} KiB but its ${p.content} is ${Math.ceil(bytes.length / 1024)} KiB`,
        { expected: `sizeKiB ≥ ${roundUp(bytes.length, erase) / 1024}, or "fit"` });
    }
    parts.push({ name: p.name, offset, size, readOnly: p.readOnly });
    fills.push({ offset, bytes, content: p.content });
    offset += size;
  }
  const total = offset;
  const fd = openSync(out, "w");
  try {
    // Erased flash reads 0xff: write it in 1 MiB pieces, then the contents over it.
    const ff = new Uint8Array(1 << 20).fill(0xff);
    for (let o = 0; o < total; o += ff.length) writeSync(fd, ff, 0, Math.min(ff.length, total - o), o);
    for (const f of fills) if (f.bytes) writeSync(fd, f.bytes, 0, f.bytes.length, f.offset);
  } finally {
    closeSync(fd);
  }
  if (c.dataFs === "ext4") {
    const i = layout.partitions.findIndex((p) => p.content === "data");
    const data = `${out}.rootfs_data.ext4`;
    await buildExt4(data, [], { sizeMiB: parts[i]!.size / 1048576, label: "rootfs_data" });
    const fdw = openSync(out, "r+");
    try {
      const b = readFileSync(data);
      writeSync(fdw, b, 0, b.length, parts[i]!.offset);
    } finally {
      closeSync(fdw);
    }
  }
  const all = [...parts];
  for (const s of layout.spans) {
    const a = parts.find((p) => p.name === s.from)!;
    const b = parts.find((p) => p.name === s.to)!;
    all.push({ name: s.name, offset: a.offset, size: b.offset + b.size - a.offset, readOnly: false });
  }
  const kib = (n: number) => (n % 1048576 === 0 ? `${n / 1048576}m` : `${n / 1024}k`);
  // Sequential partitions take no offset; spans overlap them and need one (cmdlinepart allows both).
  const mtdparts = `mtdparts=${layout.chip}:` + all.map((p, i) =>
    `${kib(p.size)}${i >= parts.length ? `@0x${p.offset.toString(16)}` : ""}(${p.name})${p.readOnly ? "ro" : ""}`).join(",");
  return { path: out, size: statSync(out).size, eraseBlockBytes: erase, partitions: all, mtdparts };
}
