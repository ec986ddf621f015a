// A GPT disk image written byte by byte: protective MBR, primary header and entries at LBA 1 and 2, backup
// entries and header in the last 33 sectors of the image. No root, no loop device, no sfdisk at build time,
// and the same spec and seed give the same bytes (partition GUIDs are derived, not random), so an image is
// reproducible and snapshot keys stay stable. Build the image at the target device's exact size: a backup
// GPT short of the device's end is what Linux reports as "Alt. header is not at the end of the disk".

import { createHash } from "node:crypto";
import { basename } from "node:path";
import { closeSync, ftruncateSync, openSync, readSync, statSync, writeSync } from "node:fs";
import { ScenarioError } from "../errors/failures.ts";
import { crc32 } from "./crc32.ts";

export const SECTOR = 512;
const ENTRY_COUNT = 128;
const ENTRY_SIZE = 128;
/** 128 entries of 128 bytes: 32 sectors, after the header at LBA 1. */
const ENTRY_SECTORS = (ENTRY_COUNT * ENTRY_SIZE) / SECTOR;
const MIN_FIRST_LBA = 2 + ENTRY_SECTORS;
const NAME_UNITS = 36;
/** Attribute bit 2: what U-Boot's distro boot (`part list … -bootable`) looks for. */
const LEGACY_BIOS_BOOTABLE = 1n << 2n;

export const GPT_TYPE = {
  linuxFilesystem: "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
  /** "Linux reserved": what U-Boot's stm32prog gives Binary partitions (fsbl1, fsbl2, ssbl). */
  linuxReserved: "8DA63339-0007-60C0-C436-083AC8230908",
  /** TF-A's firmware image package (fip-a, fip-b). */
  fip: "19D5DF83-11B0-457B-BE2C-7559C13142A5",
  efiSystem: "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
} as const;

export interface GptPartitionSpec {
  name: string;
  /** Default: after every partition before it in the list, rounded up to the image's alignment. */
  startLba?: number;
  sizeBytes: number;
  /** Default: Linux filesystem. */
  typeGuid?: string;
  /** A fixed unique GUID (e.g. a PARTUUID the kernel command line names); default: derived from the seed. */
  guid?: string;
  /** Sets LegacyBIOSBootable (attribute bit 2). */
  bootable?: boolean;
  /** A file to copy in, or the bytes; the rest of the partition reads as zeros. */
  content?: string | Uint8Array;
}

export interface GptImageSpec {
  sizeBytes: number;
  partitions: GptPartitionSpec[];
  /** First usable LBA (default 34: right after the 128 entries, where ST's layouts put fsbl1). */
  firstLba?: number;
  /** Bytes; partitions without startLba start at a multiple of it (default 512: packed, as ST's layouts). */
  alignment?: number;
  /** The GUIDs derive from it (default: the image's file name). */
  seed?: string;
}

export interface GptPartition {
  /** 1-based entry number, in spec order (what Linux calls vda1, vda2…). */
  number: number;
  name: string;
  startLba: number;
  /** Inclusive, as GPT stores it. */
  endLba: number;
  sizeBytes: number;
  typeGuid: string;
  guid: string;
  bootable: boolean;
}

export interface GptImage {
  path: string;
  sizeBytes: number;
  diskGuid: string;
  firstUsableLba: number;
  lastUsableLba: number;
  partitions: GptPartition[];
}

const GUID = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/i;

/** A version-4-shaped GUID from a hash of the seed, so rebuilding gives the same disk. */
export function seededGuid(seed: string, what: string): string {
  const b = createHash("sha256").update(`${seed}\0${what}`).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString("hex").toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Validates a spec and places its partitions; pure but for reading the size of content files. */
export function planGptImage(path: string, spec: GptImageSpec): GptImage {
  const problems: string[] = [];
  const firstLba = spec.firstLba ?? MIN_FIRST_LBA;
  const align = spec.alignment ?? SECTOR;
  const sectors = Math.floor(spec.sizeBytes / SECTOR);
  const lastUsable = sectors - 1 - 1 - ENTRY_SECTORS;
  if (!Number.isSafeInteger(spec.sizeBytes) || spec.sizeBytes % SECTOR !== 0) problems.push(`image size ${spec.sizeBytes}: expected a whole number of ${SECTOR}-byte sectors`);
  if (!Number.isInteger(firstLba) || firstLba < MIN_FIRST_LBA) problems.push(`firstLba ${firstLba} is inside the partition entries (LBA 2..${MIN_FIRST_LBA - 1}): expected ${MIN_FIRST_LBA} or more`);
  if (lastUsable < firstLba) problems.push(`image of ${sectors} sectors has no room between the two GPTs: expected at least ${firstLba + 1 + 1 + ENTRY_SECTORS} sectors`);
  if (!Number.isInteger(align) || align <= 0 || align % SECTOR !== 0) problems.push(`alignment ${align}: expected a positive multiple of ${SECTOR} bytes`);
  if (spec.partitions.length > ENTRY_COUNT) problems.push(`${spec.partitions.length} partitions: expected at most ${ENTRY_COUNT} (the size of the entry array)`);
  const alignLbas = align > 0 && align % SECTOR === 0 ? align / SECTOR : 1;
  const seed = spec.seed ?? basename(path);
  let cursor = firstLba;
  const parts = spec.partitions.map((p, i): GptPartition => {
    const bad = (text: string) => problems.push(`partition "${p.name}": ${text}`);
    if (p.name.length > NAME_UNITS) bad(`name is ${p.name.length} UTF-16 units, expected at most ${NAME_UNITS} (the entry's name field)`);
    if (!Number.isSafeInteger(p.sizeBytes) || p.sizeBytes <= 0 || p.sizeBytes % SECTOR !== 0) bad(`size ${p.sizeBytes} bytes, expected a positive multiple of ${SECTOR}`);
    for (const [field, g] of [["typeGuid", p.typeGuid], ["guid", p.guid]] as const) {
      if (g !== undefined && !GUID.test(g)) bad(`${field} "${g}" is not a GUID, expected XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX`);
    }
    const startLba = p.startLba ?? Math.ceil(cursor / alignLbas) * alignLbas;
    const lbas = Math.max(1, Math.ceil(p.sizeBytes / SECTOR));
    const endLba = startLba + lbas - 1;
    cursor = Math.max(cursor, endLba + 1);
    if (!Number.isSafeInteger(startLba)) bad(`startLba ${startLba}, expected a whole number`);
    else if (startLba < firstLba) bad(`starts at LBA ${startLba}, inside the protective MBR or primary GPT, expected LBA ${firstLba} or later`);
    else if (endLba > lastUsable) bad(`ends at LBA ${endLba}, beyond the last usable LBA ${lastUsable} (the backup GPT takes the last ${1 + ENTRY_SECTORS} of ${sectors} sectors), expected a smaller partition or a bigger image`);
    const contentBytes = contentSize(p.content, bad);
    if (contentBytes !== undefined && contentBytes > p.sizeBytes) bad(`content is ${contentBytes} bytes, expected at most the partition's ${p.sizeBytes} bytes`);
    return {
      number: i + 1, name: p.name, startLba, endLba, sizeBytes: p.sizeBytes,
      typeGuid: (p.typeGuid ?? GPT_TYPE.linuxFilesystem).toUpperCase(),
      guid: (p.guid ?? seededGuid(seed, `partition ${i + 1}`)).toUpperCase(),
      bootable: p.bootable ?? false,
    };
  });
  // In start order, each partition is compared with the one reaching furthest so far, which also catches a
  // small partition placed inside a big one further back.
  let reach: GptPartition | undefined;
  for (const p of [...parts].sort((a, b) => a.startLba - b.startLba)) {
    if (reach && p.startLba <= reach.endLba) {
      problems.push(`partition "${p.name}" (LBA ${p.startLba}..${p.endLba}) overlaps "${reach.name}" (LBA ${reach.startLba}..${reach.endLba}), expected it to start at LBA ${reach.endLba + 1} or later`);
    }
    if (!reach || p.endLba > reach.endLba) reach = p;
  }
  if (problems.length > 0) {
    throw new ScenarioError(`GPT image ${path}: ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n  - ${problems.join("\n  - ")}`,
      { expected: "partitions that fit between the two GPTs without overlapping", seen: problems[0] });
  }
  return { path, sizeBytes: spec.sizeBytes, diskGuid: seededGuid(seed, "disk"), firstUsableLba: firstLba, lastUsableLba: lastUsable, partitions: parts };
}

function contentSize(c: string | Uint8Array | undefined, bad: (text: string) => void): number | undefined {
  if (c === undefined || c instanceof Uint8Array) return c?.length;
  try {
    return statSync(c).size;
  } catch {
    bad(`content file ${c} does not exist, expected a file to copy in`);
    return undefined;
  }
}

/** The on-disk GUID: the first three fields little-endian, the last two as written. */
function guidBytes(g: string): Uint8Array {
  const b = Uint8Array.from(g.replace(/-/g, "").match(/../g)!.map((x) => parseInt(x, 16)));
  return Uint8Array.from([...b.slice(0, 4).reverse(), ...b.slice(4, 6).reverse(), ...b.slice(6, 8).reverse(), ...b.slice(8)]);
}

function entryArray(img: GptImage): Uint8Array {
  const a = new Uint8Array(ENTRY_COUNT * ENTRY_SIZE);
  const v = new DataView(a.buffer);
  for (const p of img.partitions) {
    const o = (p.number - 1) * ENTRY_SIZE;
    a.set(guidBytes(p.typeGuid), o);
    a.set(guidBytes(p.guid), o + 16);
    v.setBigUint64(o + 32, BigInt(p.startLba), true);
    v.setBigUint64(o + 40, BigInt(p.endLba), true);
    v.setBigUint64(o + 48, p.bootable ? LEGACY_BIOS_BOOTABLE : 0n, true);
    for (let i = 0; i < p.name.length; i++) v.setUint16(o + 56 + 2 * i, p.name.charCodeAt(i), true);
  }
  return a;
}

function header(img: GptImage, myLba: number, altLba: number, entriesLba: number, entriesCrc: number): Uint8Array {
  const h = new Uint8Array(SECTOR);
  const v = new DataView(h.buffer);
  h.set(new TextEncoder().encode("EFI PART"), 0);
  v.setUint32(8, 0x00010000, true); // revision 1.0
  v.setUint32(12, 92, true); // header size
  v.setBigUint64(24, BigInt(myLba), true);
  v.setBigUint64(32, BigInt(altLba), true);
  v.setBigUint64(40, BigInt(img.firstUsableLba), true);
  v.setBigUint64(48, BigInt(img.lastUsableLba), true);
  h.set(guidBytes(img.diskGuid), 56);
  v.setBigUint64(72, BigInt(entriesLba), true);
  v.setUint32(80, ENTRY_COUNT, true);
  v.setUint32(84, ENTRY_SIZE, true);
  v.setUint32(88, entriesCrc, true);
  v.setUint32(16, crc32(h.subarray(0, 92)), true); // computed with its own field still zero
  return h;
}

/** A protective MBR: one partition of type 0xEE over the whole disk, so MBR-only tools leave it alone. */
function protectiveMbr(sectors: number): Uint8Array {
  const m = new Uint8Array(SECTOR);
  const v = new DataView(m.buffer);
  m.set([0x00, 0x00, 0x02, 0x00, 0xee, 0xff, 0xff, 0xff], 446);
  v.setUint32(454, 1, true);
  v.setUint32(458, Math.min(sectors - 1, 0xffffffff), true);
  m[510] = 0x55;
  m[511] = 0xaa;
  return m;
}

/** The three pieces of GPT metadata and where each goes (byte offsets), for an image already planned. */
export function gptStructures(img: GptImage): { offset: number; bytes: Uint8Array }[] {
  const sectors = img.sizeBytes / SECTOR;
  const entries = entryArray(img);
  const crc = crc32(entries);
  const backupEntriesLba = sectors - 1 - ENTRY_SECTORS;
  return [
    { offset: 0, bytes: protectiveMbr(sectors) },
    { offset: SECTOR, bytes: header(img, 1, sectors - 1, 2, crc) },
    { offset: 2 * SECTOR, bytes: entries },
    { offset: backupEntriesLba * SECTOR, bytes: entries },
    { offset: (sectors - 1) * SECTOR, bytes: header(img, sectors - 1, 1, backupEntriesLba, crc) },
  ];
}

/** Writes the image at `path` (sparse: unwritten sectors read as zeros) and returns where each partition is. */
export function buildGptImage(path: string, spec: GptImageSpec): GptImage {
  const img = planGptImage(path, spec);
  const fd = openSync(path, "w");
  try {
    ftruncateSync(fd, img.sizeBytes);
    for (const s of gptStructures(img)) writeSync(fd, s.bytes, 0, s.bytes.length, s.offset);
    spec.partitions.forEach((p, i) => {
      const at = img.partitions[i]!.startLba * SECTOR;
      if (p.content instanceof Uint8Array) writeSync(fd, p.content, 0, p.content.length, at);
      else if (p.content !== undefined) copyInto(fd, p.content, at, p);
    });
  } finally {
    closeSync(fd);
  }
  return img;
}

/** Copies a file in 1 MiB pieces (a rootfs can be far bigger than we want in memory), never past its partition. */
function copyInto(fd: number, file: string, at: number, p: GptPartitionSpec): void {
  const src = openSync(file, "r");
  try {
    const buf = new Uint8Array(1 << 20);
    for (let done = 0; ;) {
      const n = readSync(src, buf, 0, buf.length, done);
      if (n <= 0) break;
      // The file was measured when the image was planned; one that grew since must not spill into the next partition.
      if (done + n > p.sizeBytes) throw new ScenarioError(`partition "${p.name}": content file ${file} grew past the partition's ${p.sizeBytes} bytes while it was copied`, { expected: "content files that do not change during the build" });
      writeSync(fd, buf, 0, n, at + done);
      done += n;
    }
  } finally {
    closeSync(src);
  }
}

/** A partition as read back from a disk's GPT. */
export interface GptEntryRead {
  number: number;
  name: string;
  startLba: number;
  endLba: number;
  typeGuid: string;
  bootable: boolean;
}

const GUID_FROM = (b: Uint8Array): string => {
  const h = (x: Uint8Array) => [...x].map((n) => n.toString(16).padStart(2, "0")).join("");
  const r = (x: Uint8Array) => h(Uint8Array.from(x).reverse());
  return `${r(b.subarray(0, 4))}-${r(b.subarray(4, 6))}-${r(b.subarray(6, 8))}-${h(b.subarray(8, 10))}-${h(b.subarray(10, 16))}`.toUpperCase();
};

/**
 * The primary GPT of a disk, checked as firmware checks it (signature, header and entry-array CRCs), or
 * why it is not there. `read(offset, length)` gives the disk's bytes (zeros past its end).
 */
export function readGpt(read: (offset: number, length: number) => Uint8Array): GptEntryRead[] | string {
  const h = read(SECTOR, SECTOR);
  if (new TextDecoder().decode(h.subarray(0, 8)) !== "EFI PART") return "no GPT (no \"EFI PART\" signature at LBA 1)";
  const v = new DataView(h.buffer, h.byteOffset, h.byteLength);
  const size = v.getUint32(12, true);
  if (size < 92 || size > SECTOR) return `GPT header size ${size}, expected 92..${SECTOR}`;
  const copy = Uint8Array.from(h.subarray(0, size));
  new DataView(copy.buffer).setUint32(16, 0, true);
  if (crc32(copy) !== v.getUint32(16, true)) return "GPT header CRC does not match";
  const entriesLba = Number(v.getBigUint64(72, true));
  const count = v.getUint32(80, true);
  const entrySize = v.getUint32(84, true);
  if (entrySize < 128 || count > 1024) return `GPT entry array of ${count} × ${entrySize} bytes, expected at most 1024 entries of 128 bytes or more`;
  const entries = read(entriesLba * SECTOR, count * entrySize);
  if (crc32(entries) !== v.getUint32(88, true)) return "GPT entry array CRC does not match";
  const out: GptEntryRead[] = [];
  for (let i = 0; i < count; i++) {
    const e = entries.subarray(i * entrySize, (i + 1) * entrySize);
    if (e.subarray(0, 16).every((b) => b === 0)) continue;
    const ev = new DataView(e.buffer, e.byteOffset, e.byteLength);
    let name = "";
    for (let c = 0; c < NAME_UNITS; c++) {
      const u = ev.getUint16(56 + 2 * c, true);
      if (u === 0) break;
      name += String.fromCharCode(u);
    }
    out.push({
      number: i + 1, name, typeGuid: GUID_FROM(e.subarray(0, 16)),
      startLba: Number(ev.getBigUint64(32, true)), endLba: Number(ev.getBigUint64(40, true)),
      bootable: (ev.getBigUint64(48, true) & LEGACY_BIOS_BOOTABLE) !== 0n,
    });
  }
  return out;
}
