// The STM32MP1 factory-flashing layout (`flash.tsv`) that STM32CubeProgrammer sends to U-Boot's stm32prog,
// read the way stm32prog reads it (arch/arm/mach-stm32mp/cmd_stm32prog/stm32prog.c, parse_flash_layout and
// init_device): fields split on tabs only, runs of tabs count as one, a line whose first field starts with '#'
// is a comment, a trailing CR is ignored. Every problem is reported, compiler-style (FILE:LINE:COLUMN), so a
// layout is fixed in one pass instead of one USB flashing attempt per mistake.

import { readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ScenarioError } from "../errors/failures.ts";

/** Opt column: "-" (skip), or letters P (program), E (empty: create, write nothing), D (delete: erase first). */
export interface FlashOpt {
  skip: boolean;
  program: boolean;
  empty: boolean;
  delete: boolean;
}

export type FlashDeviceKind = "none" | "mmc" | "nor" | "nand" | "spi-nand" | "ram";
export interface FlashDevice {
  kind: FlashDeviceKind;
  index: number;
}

export type FlashOffset = { kind: "bytes"; value: number } | { kind: "boot1" } | { kind: "boot2" };
export type FlashPartType = "Binary" | "FIP" | "System" | "FileSystem" | "RawImage";

export interface FlashLayoutEntry {
  line: number;
  /** 1-based column where each field starts, for messages about this line. */
  columns: { opt: number; id: number; name: number; type: number; ip: number; offset: number; binary: number };
  opt: FlashOpt;
  id: number;
  name: string;
  type: FlashPartType;
  /** n of `Binary(n)`: copies of an FSBL on NAND. */
  typeCount?: number;
  device: FlashDevice;
  offset: FlashOffset;
  /** Absolute path (resolved against the layout's folder); absent for `none`. */
  binary?: string;
}

export interface FlashLayoutTsv {
  source: string;
  entries: FlashLayoutEntry[];
}

const TYPES: readonly FlashPartType[] = ["Binary", "FIP", "System", "FileSystem", "RawImage"];
const COLUMN_NAMES = "Opt Id Name Type IP Offset Binary";
/** stm32prog: phase 0x00 is the layout itself; 0xF1.. are its commands, OTP, PMIC, end and reset. */
const LAST_USER_ID = 0xf0;
/** stm32prog keeps the first 34 sectors of an MMC for the primary GPT (GPT_HEADER_SZ). */
const MMC_FIRST_OFFSET = 34 * 512;
/** stm32prog's STM32PROG_MAX_DEV, and its partition name buffer (16 + NUL, the GPT name it writes). */
const MAX_DEVICES = 5;
const MAX_NAME = 16;

interface Problem {
  line: number;
  col: number;
  text: string;
}

export function deviceName(d: FlashDevice): string {
  return d.kind === "none" || d.kind === "ram" ? d.kind : `${d.kind}${d.index}`;
}

const hex = (n: number) => `0x${n.toString(16)}`;
/** A field as written, quoted, with control characters made visible. */
const q = (t: string) => JSON.stringify(t);
/** Ids as the layouts write them: 0x04, not 0x4. */
const idHex = (n: number) => `0x${n.toString(16).padStart(2, "0")}`;
const optText = (o: FlashOpt) => (o.skip ? "-" : `P${o.empty ? "E" : ""}${o.delete ? "D" : ""}`);

/** Reads a layout file; binaries are resolved against its folder. */
export function readFlashLayoutTsv(path: string): FlashLayoutTsv {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ScenarioError(`flash layout ${path}: ${(e as Error).message}`, { expected: "a readable flash.tsv" });
  }
  return parseFlashLayoutTsv(path, text);
}

/** Parses layout text. `source` names the file in messages; binaries resolve against `folder` (default: its folder). */
export function parseFlashLayoutTsv(source: string, text: string, folder = dirname(resolve(source))): FlashLayoutTsv {
  const problems: Problem[] = [];
  const entries: FlashLayoutEntry[] = [];
  if (text.startsWith("\uFEFF")) {
    problems.push({ line: 1, col: 1, text: "the file starts with a byte-order mark, which stm32prog reads as part of the first field, expected plain text without a BOM" });
    text = text.slice(1);
  }
  const lines = text.split("\n");
  lines.forEach((raw, i) => {
    const entry = parseLine(raw.endsWith("\r") ? raw.slice(0, -1) : raw, i + 1, folder, problems);
    if (entry) entries.push(entry);
  });
  if (entries.length === 0 && problems.length === 0) {
    problems.push({ line: 1, col: 1, text: "no partition lines, only comments and blank lines, expected at least one line of 7 tab-separated columns" });
  }
  checkAcrossLines(entries, problems);
  throwIfProblems(source, problems, "a flash layout as STM32CubeProgrammer and U-Boot's stm32prog read it");
  return { source, entries };
}

interface Field {
  text: string;
  col: number;
}

function parseLine(line: string, n: number, folder: string, problems: Problem[]): FlashLayoutEntry | undefined {
  // Fields are the runs of non-tab characters: stm32prog skips empty columns, so "mmc0\t\t0x0" is two fields.
  const fields: Field[] = [...line.matchAll(/[^\t]+/g)].map((m) => ({ text: m[0], col: (m.index ?? 0) + 1 }));
  const first = fields[0];
  if (!first || first.text.startsWith("#")) return undefined;
  const problem = (col: number, text: string) => problems.push({ line: n, col, text });
  const cr = line.indexOf("\r");
  if (cr >= 0) {
    problem(cr + 1, "a carriage return inside the line, which stm32prog reads as the end of the field, expected one only before the line feed (CRLF)");
    return undefined;
  }
  if (fields.length !== 7) {
    const spaced = / /.test(line) && fields.length < 7 ? "; the fields here are separated by spaces, which the tool reads as part of a field" : "";
    const col = fields.length > 7 ? fields[7]!.col : line.length + 1;
    problem(col, `${fields.length} column${fields.length === 1 ? "" : "s"}, expected 7 tab-separated columns (${COLUMN_NAMES})${spaced}`);
    return undefined;
  }
  const [fOpt, fId, fName, fType, fIp, fOffset, fBinary] = fields as [Field, Field, Field, Field, Field, Field, Field];
  const before = problems.length;
  const opt = parseOpt(fOpt.text, (t) => problem(fOpt.col, t));
  const id = parseId(fId.text, (t) => problem(fId.col, t));
  const name = fName.text;
  if (name.length > MAX_NAME) problem(fName.col, `name ${q(name)} has ${name.length} characters, expected at most ${MAX_NAME} (stm32prog's GPT name buffer)`);
  if (/[\s,;"=]/.test(name)) problem(fName.col, `name ${q(name)} contains a space or one of , ; " =, expected none of them (stm32prog passes names to "gpt write" as name=…,start=…;)`);
  const type = parseType(fType.text, (t) => problem(fType.col, t));
  const device = parseIp(fIp.text, (t) => problem(fIp.col, t));
  const offset = parseOffset(fOffset.text, (t) => problem(fOffset.col, t));
  const binary = fBinary.text === "none" ? undefined : resolve(folder, fBinary.text);
  if (problems.length > before || !opt || id === undefined || !type || !device || !offset) return undefined;
  return {
    line: n,
    columns: { opt: fOpt.col, id: fId.col, name: fName.col, type: fType.col, ip: fIp.col, offset: fOffset.col, binary: fBinary.col },
    opt, id, name, type: type.type, ...(type.count !== undefined ? { typeCount: type.count } : {}), device, offset,
    ...(binary !== undefined ? { binary } : {}),
  };
}

function parseOpt(t: string, bad: (text: string) => void): FlashOpt | undefined {
  if (t === "-") return { skip: true, program: false, empty: false, delete: false };
  const wrong = [...t].find((c) => !"PED".includes(c));
  if (wrong !== undefined) {
    bad(`option ${q(t)} has the letter ${q(wrong)}, expected "-" or letters P (program), E (empty), D (delete)`);
    return undefined;
  }
  // stm32prog: "Layout line %d: missing 'P' in option %s".
  if (!t.includes("P")) {
    bad(`option ${q(t)} has no P, expected P in every option but "-" (stm32prog refuses E or D alone)`);
    return undefined;
  }
  return { skip: false, program: true, empty: t.includes("E"), delete: t.includes("D") };
}

function parseId(t: string, bad: (text: string) => void): number | undefined {
  if (!/^0[xX][0-9a-fA-F]+$/.test(t)) {
    bad(`id ${q(t)} is not a hex number, expected 0x01..0xF0`);
    return undefined;
  }
  const v = parseInt(t.slice(2), 16);
  if (v === 0) bad(`id ${t} is the phase of the flash layout itself, expected 0x01..0xF0`);
  else if (v > LAST_USER_ID) bad(`id ${t} is reserved by stm32prog (commands, OTP, PMIC, end, reset), expected 0x01..0xF0`);
  else return v;
  return undefined;
}

function parseType(t: string, bad: (text: string) => void): { type: FlashPartType; count?: number } | undefined {
  if ((TYPES as readonly string[]).includes(t)) return { type: t as FlashPartType };
  const m = /^Binary\(([0-9]+)\)$/.exec(t);
  if (m && Number(m[1]) >= 1) return { type: "Binary", count: Number(m[1]) };
  bad(`type ${q(t)} is unknown, expected one of Binary, Binary(n) with n ≥ 1, FIP, System, FileSystem, RawImage`);
  return undefined;
}

function parseIp(t: string, bad: (text: string) => void): FlashDevice | undefined {
  if (t === "none" || t === "ram") return { kind: t, index: 0 };
  const m = /^(mmc|nor|nand|spi-nand)([0-9])$/.exec(t);
  if (m) return { kind: m[1] as FlashDeviceKind, index: Number(m[2]) };
  bad(`IP ${q(t)} is not a device, expected none, ram, or mmcN, norN, nandN, spi-nandN with one digit N`);
  return undefined;
}

function parseOffset(t: string, bad: (text: string) => void): FlashOffset | undefined {
  if (t === "boot1" || t === "boot2") return { kind: t };
  let v: number | undefined;
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) v = parseInt(t.slice(2), 16);
  else if (/^(0|[1-9][0-9]*)$/.test(t)) v = Number(t);
  else if (/^0[0-9]+$/.test(t)) {
    // stm32prog reads offsets with simple_strtoull(p, &tail, 0): a leading 0 means octal.
    bad(`offset ${q(t)} has a leading zero, which stm32prog reads as octal, expected 0x… hex or a decimal without leading zeros`);
    return undefined;
  } else if (t.startsWith("boot")) {
    bad(`offset ${q(t)} is not an eMMC boot partition, expected boot1 or boot2`);
    return undefined;
  }
  if (v === undefined) bad(`offset ${q(t)} is not a number, expected 0x… hex, a decimal number, boot1 or boot2`);
  else if (!Number.isSafeInteger(v)) bad(`offset ${q(t)} is too large, expected below 2^53`);
  else return { kind: "bytes", value: v };
  return undefined;
}

function checkAcrossLines(entries: FlashLayoutEntry[], problems: Problem[]): void {
  const problem = (e: FlashLayoutEntry, col: number, text: string) => problems.push({ line: e.line, col, text });
  const byId = new Map<number, FlashLayoutEntry>();
  const devices: string[] = [];
  const bootAreas = new Map<string, FlashLayoutEntry>();
  for (const e of entries) {
    const c = e.columns;
    const prev = byId.get(e.id);
    if (prev) problem(e, c.id, `id ${idHex(e.id)} is already used by ${prev.name} on line ${prev.line}, expected every id once`);
    else byId.set(e.id, e);
    const dev = deviceName(e.device);
    if (e.device.kind === "none") {
      // stm32prog: "Layout: selected none phase"; none lines are the boot chain the ROM loads into RAM.
      if (!e.opt.skip) problem(e, c.opt, `option "${optText(e.opt)}" on a line with IP none (the boot chain, loaded into RAM, never written), expected "-" (stm32prog: "selected none phase")`);
      continue;
    }
    if (!devices.includes(dev)) {
      devices.push(dev);
      if (devices.length === MAX_DEVICES + 1) problem(e, c.ip, `${dev} is a ${MAX_DEVICES + 1}th device, expected at most ${MAX_DEVICES} (stm32prog's STM32PROG_MAX_DEV)`);
    }
    if (e.offset.kind !== "bytes" && e.device.kind !== "mmc") {
      problem(e, c.offset, `${e.offset.kind} is an eMMC boot partition but this line is on ${dev}, expected boot1/boot2 only on an mmc device (stm32prog: "hw partition not expected")`);
    } else if (e.offset.kind !== "bytes") {
      const area = `${e.offset.kind} of ${dev}`;
      const other = bootAreas.get(area);
      if (other) problem(e, c.offset, `${area} is already written by ${other.name} on line ${other.line}, expected one line per eMMC boot partition`);
      else bootAreas.set(area, e);
    }
    if (e.type === "RawImage" && !(e.offset.kind === "bytes" && e.offset.value === 0)) {
      problem(e, c.offset, `a RawImage is written over the whole of ${dev} from byte 0 (stm32prog ignores this offset), expected 0x0`);
    }
    if ((e.typeCount ?? 1) > 1 && (!["nand", "spi-nand"].includes(e.device.kind) || e.id >= 0x10 || !e.name.startsWith("fsbl"))) {
      problem(e, c.type, `${e.type}(${e.typeCount}) on ${e.name} (${idHex(e.id)}, ${dev}), expected several copies only for an fsbl* with id below 0x10 on nand or spi-nand`);
    }
    if (e.opt.program && !e.opt.empty && e.binary === undefined) {
      problem(e, c.binary, `${e.name} is programmed (P) but names no binary, expected a file name, or E in the option for an empty partition`);
    }
  }
  for (const d of partitionsByDevice({ source: "", entries })) {
    const raw = d.rawImage;
    let last: DevicePartition | undefined;
    for (const p of d.partitions) {
      const e = p.entry;
      if (raw) problem(e, e.columns.offset, `${e.name} lies inside the RawImage ${raw.name} (line ${raw.line}), which covers all of ${d.device}, expected no other partitions on that device but boot1/boot2`);
      if (d.kind === "mmc" && p.start < MMC_FIRST_OFFSET) {
        problem(e, e.columns.offset, `offset ${hex(p.start)} on ${d.device} is inside the primary GPT, expected ${hex(MMC_FIRST_OFFSET)} or more (stm32prog keeps the first 34 sectors)`);
      }
      if (last && p.start <= last.start) {
        problem(e, e.columns.offset, `offset ${hex(p.start)} is not after ${last.entry.name}'s ${hex(last.start)} (line ${last.entry.line}) on ${d.device}, expected offsets that increase down the file on each device (a partition ends where the next begins)`);
      }
      last = p;
    }
    for (const extra of d.extraRawImages) problem(extra, extra.columns.type, `a second RawImage on ${d.device} (the first is ${raw?.name} on line ${raw?.line}), expected one`);
  }
}

export interface DevicePartition {
  entry: FlashLayoutEntry;
  start: number;
  /** Bytes to the next partition's offset; undefined for the last one, which runs to the end of the device. */
  size?: number;
}

export interface DeviceLayout {
  /** "mmc0", "nor0", "ram"… */
  device: string;
  kind: FlashDeviceKind;
  index: number;
  /** Partitions at a byte offset, in file order (= offset order in a valid layout). */
  partitions: DevicePartition[];
  boot1?: FlashLayoutEntry;
  boot2?: FlashLayoutEntry;
  /** A whole-device image (stm32prog writes it from byte 0 to the end). */
  rawImage?: FlashLayoutEntry;
  extraRawImages: FlashLayoutEntry[];
}

/** Each device's partitions with the sizes stm32prog gives them; IP none lines belong to no device. */
export function partitionsByDevice(layout: FlashLayoutTsv): DeviceLayout[] {
  const out = new Map<string, DeviceLayout>();
  for (const e of layout.entries) {
    if (e.device.kind === "none") continue;
    const name = deviceName(e.device);
    let d = out.get(name);
    if (!d) out.set(name, (d = { device: name, kind: e.device.kind, index: e.device.index, partitions: [], extraRawImages: [] }));
    if (e.type === "RawImage") {
      if (d.rawImage) d.extraRawImages.push(e);
      else d.rawImage = e;
    } else if (e.offset.kind === "bytes") d.partitions.push({ entry: e, start: e.offset.value });
    else d[e.offset.kind] = e;
  }
  for (const d of out.values()) {
    d.partitions.forEach((p, i) => {
      const next = d.partitions[i + 1];
      if (next && next.start > p.start) p.size = next.start - p.start;
    });
  }
  return [...out.values()];
}

export interface FlashDeviceSize {
  bytes: number;
  /** An eMMC has boot1/boot2 hardware partitions; an SD card or a NOR/NAND has none. */
  hasBootPartitions?: boolean;
  /** Size of each of boot1/boot2, when known (commonly 4 MiB). */
  bootPartitionBytes?: number;
  /** Where the device's addresses start: the DRAM base for `ram` (0xC0000000 on the STM32MP1), else 0. */
  base?: number;
}

/** Size in bytes of a file, or undefined when it is missing. */
function fileSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

/**
 * Checks a parsed layout against its binaries and the target's devices (keyed "mmc0", "nor0", "ram"…):
 * every binary that will be sent exists and fits its partition or device, every device is known, and
 * boot1/boot2 are only used where the card has them.
 */
export function checkFlashLayoutFits(layout: FlashLayoutTsv, devices: Record<string, FlashDeviceSize>, sizeOf: (path: string) => number | undefined = fileSize): void {
  const problems: Problem[] = [];
  const problem = (e: FlashLayoutEntry, col: number, text: string) => problems.push({ line: e.line, col, text });
  // Binaries stm32prog receives: the boot chain (IP none) and every partition programmed but not left empty.
  const sizes = new Map<FlashLayoutEntry, number>();
  for (const e of layout.entries) {
    if (e.binary === undefined || !(e.device.kind === "none" || (e.opt.program && !e.opt.empty))) continue;
    const size = sizeOf(e.binary);
    if (size === undefined) problem(e, e.columns.binary, `binary ${e.binary} does not exist, expected the file next to the layout`);
    else sizes.set(e, size);
  }
  const fits = (e: FlashLayoutEntry, capacity: number, where: string) => {
    const size = sizes.get(e);
    const copies = e.typeCount ?? 1;
    if (size !== undefined && size * copies > capacity) {
      const what = copies > 1 ? `${copies} copies of ${size} bytes` : `${size} bytes`;
      problem(e, e.columns.binary, `${e.binary} is ${what} but ${e.name} has ${capacity} bytes (${where}), expected a binary that fits`);
    }
  };
  for (const d of partitionsByDevice(layout)) {
    const size = devices[d.device];
    if (!size) {
      const first = d.rawImage ?? d.partitions[0]?.entry ?? d.boot1 ?? d.boot2;
      if (first) problem(first, first.columns.ip, `${d.device} is not in the device table, expected one of ${Object.keys(devices).join(", ") || "(none given)"}`);
      continue;
    }
    const base = size.base ?? 0;
    // stm32prog leaves 35 sectors at the end of an MMC for the backup GPT (init_device's last_addr).
    const end = base + size.bytes - (d.kind === "mmc" ? 35 * 512 : 0);
    if (d.rawImage) fits(d.rawImage, size.bytes, `all of ${d.device}`);
    for (const p of d.partitions) {
      if (p.start < base || p.start >= end) {
        const tail = d.kind === "mmc" ? "; stm32prog keeps the last 35 sectors for the backup GPT" : "";
        problem(p.entry, p.entry.columns.offset, `offset ${hex(p.start)} is outside ${d.device} (${hex(base)}..${hex(end)}${tail}), expected an offset on the device`);
        continue;
      }
      const capacity = Math.min(p.size ?? end - p.start, end - p.start);
      fits(p.entry, capacity, `${hex(p.start)}..${hex(p.start + capacity)} on ${d.device}`);
    }
    for (const e of [d.boot1, d.boot2]) {
      if (!e || e.offset.kind === "bytes") continue;
      if (!size.hasBootPartitions) {
        // stm32prog sizes a boot partition from mmc->capacity_boot, 0 on an SD card, so its DFU alternate is
        // "raw 0x0 0x0 mmcpart N" and dfu_mmc.c's mmc_block_op stops the first write.
        problem(e, e.columns.offset, `${e.name} is written to ${e.offset.kind} but ${d.device} has no eMMC boot partitions, expected an eMMC (hasBootPartitions); U-Boot would size it 0 and fail the write with "Request would exceed designated area!"`);
      } else if (size.bootPartitionBytes !== undefined) {
        fits(e, size.bootPartitionBytes, `${e.offset.kind} of ${d.device}`);
      }
    }
  }
  throwIfProblems(layout.source, problems, "a flash layout whose binaries exist and fit the target's devices");
}

function throwIfProblems(source: string, problems: Problem[], expected: string): void {
  if (problems.length === 0) return;
  // One problem per line, FILE:LINE:COLUMN first, so editors and CI annotations jump to each.
  const lines = problems.sort((a, b) => a.line - b.line || a.col - b.col).map((p) => `${source}:${p.line}:${p.col}: ${p.text}`);
  throw new ScenarioError(`flash layout ${source}: ${lines.length} problem${lines.length === 1 ? "" : "s"}:\n${lines.join("\n")}`, { expected, seen: lines[0] });
}
