// U-Boot's legacy image format ("uImage", include/image.h): a 64-byte big-endian header, then the data.
// Pure: bytes in, bytes out. The time stamp defaults to 0 so that the same input gives the same bytes,
// and the output is byte-identical to `mkimage` run with SOURCE_DATE_EPOCH set to the same time.

import { crc32 } from "./crc32.ts";

export const UIMAGE_MAGIC = 0x27051956;
export const UIMAGE_HEADER_SIZE = 64;
export const UIMAGE_NAME_SIZE = 32;

// The subset of include/image.h's numbers that the lab's targets use.
export const UIMAGE_OS = { linux: 5 } as const;
export const UIMAGE_ARCH = { arm: 2, mips: 5, arm64: 22 } as const;
export const UIMAGE_TYPE = { standalone: 1, kernel: 2, ramdisk: 3, multi: 4, firmware: 5, script: 6 } as const;
// U-Boot's include/image.h: IH_COMP_NONE, IH_COMP_GZIP, IH_COMP_LZMA.
export const UIMAGE_COMP = { none: 0, gzip: 1, lzma: 3 } as const;

export type UImageOs = keyof typeof UIMAGE_OS;
export type UImageArch = keyof typeof UIMAGE_ARCH;
export type UImageType = keyof typeof UIMAGE_TYPE;
export type UImageComp = keyof typeof UIMAGE_COMP;

/** A legacy U-Boot image's header fields and payload (`encodeUImage`), as mkimage takes them. */
export interface UImageOptions {
  /** "arm", "mips" or "arm64". */
  arch: UImageArch;
  /** "kernel", "ramdisk", "script", … */
  type: Exclude<UImageType, "multi">;
  /** Default "linux". */
  os?: UImageOs;
  /** Only sets ih_comp, as mkimage's -C does: `data` must already be compressed that way. */
  compression?: UImageComp;
  /** Where bootm copies the payload. */
  load: number;
  /** Where bootm jumps. */
  entry: number;
  /** UTF-8, cut to 32 bytes like mkimage's strncpy: a 32-byte name has no NUL, which U-Boot accepts. */
  name: string;
  /** The payload. */
  data: Uint8Array;
  /** ih_time, seconds since 1970; 0 unless given, for reproducible output. */
  time?: number;
}

export interface UImage {
  headerCrc: number;
  time: number;
  /** ih_size: the data size the header claims. */
  size: number;
  load: number;
  entry: number;
  dataCrc: number;
  os: number;
  arch: number;
  type: number;
  comp: number;
  osName: UImageOs | undefined;
  archName: UImageArch | undefined;
  typeName: UImageType | undefined;
  compName: UImageComp | undefined;
  /** Up to the first NUL. */
  name: string;
  /** A view into the input: `size` bytes, or fewer if truncated. Bytes after them are ignored. */
  data: Uint8Array;
  headerCrcOk: boolean;
  dataCrcOk: boolean;
  truncated: boolean;
}

function u32(what: string, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`uImage ${what} out of range: ${n}`);
  return n;
}

function code<K extends string>(what: string, map: Record<K, number>, key: K): number {
  // Callers from plain JS can pass anything; an unknown name must not become ih_xxx = undefined -> 0.
  if (!Object.hasOwn(map, key)) throw new RangeError(`uImage: unknown ${what} "${key}"`);
  return map[key];
}

function nameOf<K extends string>(map: Record<K, number>, value: number): K | undefined {
  for (const k of Object.keys(map) as K[]) if (map[k] === value) return k;
  return undefined;
}

/** A legacy uImage (64-byte header with both CRCs, then the payload), byte for byte what mkimage makes. */
export function encodeUImage(opts: UImageOptions): Uint8Array {
  const data = opts.data;
  const out = new Uint8Array(UIMAGE_HEADER_SIZE + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, UIMAGE_MAGIC);
  v.setUint32(8, u32("time", opts.time ?? 0));
  v.setUint32(12, u32("data size", data.length));
  v.setUint32(16, u32("load address", opts.load));
  v.setUint32(20, u32("entry point", opts.entry));
  v.setUint32(24, crc32(data));
  out[28] = code("os", UIMAGE_OS, opts.os ?? "linux");
  out[29] = code("arch", UIMAGE_ARCH, opts.arch);
  out[30] = code("type", UIMAGE_TYPE, opts.type);
  out[31] = code("compression", UIMAGE_COMP, opts.compression ?? "none");
  out.set(new TextEncoder().encode(opts.name).subarray(0, UIMAGE_NAME_SIZE), 32);
  // The header CRC is computed with ih_hcrc zero, which it still is here.
  v.setUint32(4, crc32(out.subarray(0, UIMAGE_HEADER_SIZE)));
  out.set(data, UIMAGE_HEADER_SIZE);
  return out;
}

/**
 * A script image for U-Boot's `source` command, byte-identical to
 * `mkimage -A arm -O linux -T script -C none [-n name] -d file`: script images use the multi-image
 * layout, a list of big-endian part sizes ended by a zero word, then the parts. With a single part
 * mkimage adds no padding after it. The default name is empty, as mkimage's without -n.
 */
export function scriptImage(text: string, name = ""): Uint8Array {
  const script = new TextEncoder().encode(text);
  const data = new Uint8Array(8 + script.length);
  new DataView(data.buffer).setUint32(0, script.length);
  data.set(script, 8);
  return encodeUImage({ arch: "arm", os: "linux", type: "script", compression: "none", load: 0, entry: 0, name, data });
}

/** Reads a legacy image. Never throws: anything that is not one gives the reason as a string. */
export function decodeUImage(bytes: Uint8Array): UImage | string {
  if (bytes.length < UIMAGE_HEADER_SIZE) {
    return `too short for a uImage header: ${bytes.length} bytes, need ${UIMAGE_HEADER_SIZE}`;
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = v.getUint32(0);
  if (magic !== UIMAGE_MAGIC) return `not a uImage: magic 0x${magic.toString(16).padStart(8, "0")}`;
  const headerCrc = v.getUint32(4);
  const header = bytes.slice(0, UIMAGE_HEADER_SIZE);
  header.fill(0, 4, 8);
  const size = v.getUint32(12);
  const available = bytes.length - UIMAGE_HEADER_SIZE;
  const truncated = available < size;
  const data = bytes.subarray(UIMAGE_HEADER_SIZE, UIMAGE_HEADER_SIZE + Math.min(size, available));
  const dataCrc = v.getUint32(24);
  const rawName = bytes.subarray(32, 64);
  const nul = rawName.indexOf(0);
  const os = bytes[28]!, arch = bytes[29]!, type = bytes[30]!, comp = bytes[31]!;
  return {
    headerCrc,
    time: v.getUint32(8),
    size,
    load: v.getUint32(16),
    entry: v.getUint32(20),
    dataCrc,
    os,
    arch,
    type,
    comp,
    osName: nameOf(UIMAGE_OS, os),
    archName: nameOf(UIMAGE_ARCH, arch),
    typeName: nameOf(UIMAGE_TYPE, type),
    compName: nameOf(UIMAGE_COMP, comp),
    name: new TextDecoder().decode(nul < 0 ? rawName : rawName.subarray(0, nul)),
    data,
    headerCrcOk: crc32(header) === headerCrc,
    dataCrcOk: !truncated && crc32(data) === dataCrc,
    truncated,
  };
}
