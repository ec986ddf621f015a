// Seed 003's programmer: what STM32CubeProgrammer does with a flash layout, played by the lab over the lab
// LAN instead of USB DFU. The boot chain of the flashing session (the layout's IP `none` lines) is what the
// board's ROM runs from its USB download; then, for each line to program, in Id order, the binary goes to
// the board's RAM by TFTP, U-Boot writes it to the named device at its offset, reads it back and the lab
// compares U-Boot's CRC-32 of what it read with its own. Progress is printed the way the seed's tool prints
// it (partition id, file, size, 100 %, time), so a log of this reads like a log of the real thing.
//
// Everything that can be refused is refused before a machine starts: the layout's own problems
// (images/flash-layout-tsv.ts), binaries that do not fit their partition or device, boot1/boot2 on a device
// without boot partitions, a binary bigger than the flashing session's RAM.

import { readFileSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import type { Target } from "../targets/catalogue.ts";
import type { UBootConsole } from "../console/uboot.ts";
import type { LabLan } from "../lab/lan.ts";
import { checkFlashLayoutFits, deviceName, type FlashLayoutEntry, type FlashLayoutTsv, partitionsByDevice } from "../images/flash-layout-tsv.ts";
import { checkStm32Image } from "../images/stm32-image.ts";
import { crc32Yielding } from "../images/crc32.ts";
import { GPT_TYPE, gptStructures, planGptImage, SECTOR } from "../images/gpt.ts";
import { ProductFailure, ScenarioError } from "../errors/failures.ts";
import { hex } from "../console/uboot.ts";

/** What one programmed line cost, for the report and the bench. */
export interface PartitionProgrammed {
  id: number;
  name: string;
  device: string;
  offset: number;
  bytes: number;
  crc32: number;
  downloadMs: number;
  writeMs: number;
}

/** U-Boot keeps itself and its heap at the top of RAM: the load buffer stays this far below the end. */
const UBOOT_RESERVE_BYTES = 48 << 20;
/** And this far above its start (the DTB U-Boot was given, its early allocations). */
const LOAD_OFFSET = 32 << 20;

/** The flashing session's board: its storage (mmc0) and how much its RAM can take at once. */
export interface ProgrammerDevices {
  /** The storage's size in bytes (the blank disk's). */
  storageBytes: number;
}

/** Where binaries land in the board's RAM, and the most one can be. */
export function loadBuffer(target: Target): { address: number; maxBytes: number } {
  const u = target.firmware.uboot;
  if (!u) throw new ScenarioError(`target ${target.name} has no U-Boot to flash with`, { expected: `a "firmware.uboot" object in targets/${target.name}.json` });
  return { address: u.addresses.ramStart + LOAD_OFFSET, maxBytes: target.machine.qemu.memoryMiB * 1048576 - LOAD_OFFSET - UBOOT_RESERVE_BYTES };
}

/** The layout's boot chain: what the ROM's USB download runs (Id 0x01, the first stage) and what follows it. */
export function bootChain(layout: FlashLayoutTsv): { firstStage: FlashLayoutEntry; secondStage?: FlashLayoutEntry } {
  const chain = layout.entries.filter((e) => e.device.kind === "none").sort((a, b) => a.id - b.id);
  const firstStage = chain.find((e) => e.id === 0x01) ?? chain[0];
  if (!firstStage?.binary) {
    throw new ScenarioError(`flash layout ${layout.source}: no boot chain for the flashing session`, {
      expected: "a line like \"-\t0x01\tfsbl1-boot\tBinary\tnone\t0x0\tu-boot.stm32\" (IP none: what the ROM runs from its USB download)",
    });
  }
  const secondStage = chain.find((e) => e !== firstStage);
  return { firstStage, ...(secondStage ? { secondStage } : {}) };
}

/** The lines the programmer writes, in the order it writes them (by Id, as stm32prog's phases go). */
export function linesToProgram(layout: FlashLayoutTsv): FlashLayoutEntry[] {
  return layout.entries.filter((e) => e.device.kind !== "none" && e.opt.program && !e.opt.skip).sort((a, b) => a.id - b.id);
}

/**
 * Everything checked before any machine starts: the layout against the board's devices (sizes, boot
 * partitions), the boot chain present and in the ROM's format, each binary within the session's RAM, and
 * only devices this board has (its storage).
 */
export function checkLayoutForBoard(layout: FlashLayoutTsv, target: Target, devices: ProgrammerDevices): void {
  const rom = target.machine.bootRom;
  if (!rom) throw new ScenarioError(`target ${target.name} has no boot ROM model to flash through`, { expected: `a "machine.bootRom" object in targets/${target.name}.json (virt-armhf, virt-arm64)` });
  checkFlashLayoutFits(layout, {
    [rom.storage.device]: { bytes: devices.storageBytes, hasBootPartitions: rom.storage.bootPartitions },
  });
  const { firstStage, secondStage } = bootChain(layout);
  for (const e of [firstStage, secondStage]) {
    if (!e?.binary) continue;
    const image = checkStm32Image(new Uint8Array(readFileSync(e.binary)));
    if (typeof image === "string") {
      throw new ScenarioError(`${layout.source}:${e.line}:${e.columns.binary}: ${basename(e.binary)} is not a first stage the ROM would run: ${image}`, {
        expected: "an STM32 image (a 256-byte header with magic \"STM2\" and the payload's checksum)",
      });
    }
  }
  const { maxBytes } = loadBuffer(target);
  for (const e of linesToProgram(layout)) {
    if (e.opt.empty || !e.binary) continue;
    const size = statSync(e.binary).size;
    if (size > maxBytes) {
      throw new ScenarioError(`${layout.source}:${e.line}:${e.columns.binary}: ${basename(e.binary)} is ${size} bytes; the flashing session holds at most ${maxBytes} bytes in ${target.name}'s ${target.machine.qemu.memoryMiB} MiB of RAM`, {
        expected: "binaries that fit the board's RAM (split a big image into partitions)",
      });
    }
  }
}

const clock = (ms: number) => {
  const t = Math.round(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${p(Math.floor(t / 3600000))}:${p(Math.floor(t / 60000) % 60)}:${p(Math.floor(t / 1000) % 60)}.${p(t % 1000, 3)}`;
};

/** The seed's tool's lines for one download. */
export function downloadReport(e: FlashLayoutEntry, bytes: number, ms: number): string[] {
  return [
    "Memory Programming ...",
    `Opening and parsing file: ${basename(e.binary ?? e.name)}`,
    `  File          : ${basename(e.binary ?? e.name)}`,
    `  Size          : ${bytes} Bytes`,
    `  Partition ID  : 0x${e.id.toString(16).padStart(2, "0")} `,
    "",
    "Download in Progress:",
    "[==================================================] 100% ",
    "",
    "File download complete",
    `Time elapsed during download operation: ${clock(ms)}`,
  ];
}

export interface ProgramOptions {
  layout: FlashLayoutTsv;
  target: Target;
  ub: UBootConsole;
  lan: LabLan;
  /** Where each line of progress goes (the scenario's transcript, the command's stdout). */
  print: (line: string) => void;
}

/**
 * Programs every selected line of the layout through the flashing session's U-Boot, which must be at its
 * prompt with the board's network up (`dhcp` done). Without a RawImage on the storage, the GPT the layout
 * describes is written first, as stm32prog creates it.
 */
export async function programLayout(o: ProgramOptions): Promise<PartitionProgrammed[]> {
  const { ub, lan, print } = o;
  const buffer = loadBuffer(o.target);
  const storage = o.target.machine.bootRom!.storage.device;
  const done: PartitionProgrammed[] = [];
  await ub.expectOk("virtio scan", { step: "U-Boot: find the storage (virtio scan)" });
  // Downloads go 16 blocks to an acknowledgement (RFC 7440), as a factory line's tool streams its USB
  // download; lock-step, the partitions of one board took ~19 s on the lab LAN. (The boot-ROM targets'
  // U-Boot handles windowsize on virtio; malta's does not, and malta has no boot ROM.)
  await ub.setenv("tftpwindowsize", "16");
  const gpt = layoutGpt(o.layout, storage, await storageBytes(ub));
  if (gpt) {
    for (const [i, piece] of gpt.entries()) {
      await writeBytes(o, buffer.address, `gpt-${i}.bin`, piece.bytes, piece.offset, "the GPT the layout describes");
    }
    print(`GPT written to ${storage}: ${partitionsByDevice(o.layout).find((d) => d.device === storage)!.partitions.map((p) => p.entry.name).join(", ")}`);
  }
  for (const e of linesToProgram(o.layout)) {
    const dev = deviceName(e.device);
    if (dev !== storage) throw new ScenarioError(`${o.layout.source}:${e.line}:${e.columns.ip}: ${dev} is not on ${o.target.name}`, { expected: storage });
    if (e.offset.kind !== "bytes") throw new ScenarioError(`${o.layout.source}:${e.line}:${e.columns.offset}: ${e.offset.kind} on ${dev}`, { expected: "a byte offset (this storage has no boot partitions)" });
    if (e.opt.empty || !e.binary) {
      print(`Partition 0x${e.id.toString(16).padStart(2, "0")} ${e.name}: left empty`);
      continue;
    }
    const bytes = new Uint8Array(await readFile(e.binary));
    const offset = e.type === "RawImage" ? 0 : e.offset.value;
    const t = await writeBytes(o, buffer.address, `${e.id.toString(16)}-${basename(e.binary)}`, bytes, offset, `partition 0x${e.id.toString(16)} ${e.name}`, e);
    done.push({ id: e.id, name: e.name, device: dev, offset, bytes: bytes.length, crc32: t.crc, downloadMs: t.downloadMs, writeMs: t.writeMs });
    print("RUNNING Program ... ");
    print(`  PartID:      :0x${e.id.toString(16).padStart(2, "0")} `);
    print(`  ${dev} @ ${hex(offset)}: ${bytes.length} bytes written in ${(t.writeMs / 1000).toFixed(2)} s, read back, CRC-32 0x${t.crc.toString(16).padStart(8, "0")} matches`);
    print(`Start operation done successfully at partition 0x${e.id.toString(16).padStart(2, "0")}`);
  }
  print("Flashing service completed successfully");
  return done;
}

/** The storage's size in bytes, as U-Boot sees it. */
async function storageBytes(ub: UBootConsole): Promise<number> {
  const out = await ub.expectOk("virtio info", { step: "U-Boot: the storage's size (virtio info)" });
  // "Capacity: 128.0 MB = 0.1 GB (262144 x 512)"
  const m = /\((\d+) x (\d+)\)/.exec(out);
  if (!m) throw new ProductFailure("U-Boot's `virtio info` shows no capacity", { expected: "Capacity: … (BLOCKS x 512)", seen: out.trim().split("\n").slice(-3).join(" | ") });
  return Number(m[1]) * Number(m[2]);
}

/**
 * The GPT stm32prog creates from the layout for a storage without a RawImage: one partition per line at its
 * offset, running to the next (the last to the end), Binary lines as "Linux reserved", System lines
 * bootable (U-Boot's distro boot looks for that flag), FileSystem lines as Linux file systems.
 */
export function layoutGpt(layout: FlashLayoutTsv, storage: string, deviceBytes: number): { offset: number; bytes: Uint8Array }[] | undefined {
  const d = partitionsByDevice(layout).find((x) => x.device === storage);
  if (!d || d.rawImage || d.partitions.length === 0) return undefined;
  // The backup entries and header take the last 33 sectors; the last usable LBA is the one before them.
  const lastUsableEnd = deviceBytes - 33 * SECTOR;
  const img = planGptImage(`${layout.source} (${storage})`, {
    sizeBytes: deviceBytes,
    seed: layout.source,
    partitions: d.partitions.map((p) => ({
      name: p.entry.name,
      startLba: p.start / SECTOR,
      sizeBytes: Math.floor(((p.size ?? lastUsableEnd - p.start)) / SECTOR) * SECTOR,
      typeGuid: p.entry.type === "Binary" || p.entry.type === "FIP" ? GPT_TYPE.linuxReserved : GPT_TYPE.linuxFilesystem,
      bootable: p.entry.type === "System",
    })),
  });
  return gptStructures(img);
}

/** Sends `bytes` to the board's RAM by TFTP, writes them to the storage at `offset`, reads them back and checks the CRC. */
async function writeBytes(o: ProgramOptions, address: number, file: string, bytes: Uint8Array, offset: number, what: string, entry?: FlashLayoutEntry) {
  const { ub, lan } = o;
  if (offset % SECTOR !== 0) throw new ScenarioError(`${what}: offset ${hex(offset)} is not on a ${SECTOR}-byte block`, { expected: "a block-aligned offset" });
  const name = `programmer/${file}`;
  lan.tftpFiles.set(name, bytes);
  const t0 = performance.now();
  try {
    const out = await ub.expectOk(`tftpboot ${hex(address)} ${name}`, { step: `U-Boot: download ${what} (${bytes.length} bytes)`, timeoutMs: 60_000 + bytes.length / 100 });
    const m = /Bytes transferred = (\d+)/.exec(out);
    if (!m || Number(m[1]) !== bytes.length) throw new ProductFailure(`U-Boot received ${m?.[1] ?? "no"} bytes of ${file}`, { expected: `${bytes.length} bytes`, seen: m?.[0] ?? out.trim().slice(-200) });
  } finally {
    lan.tftpFiles.delete(name);
  }
  const downloadMs = performance.now() - t0;
  if (entry) for (const line of downloadReport(entry, bytes.length, downloadMs)) o.print(line);
  const blk = offset / SECTOR;
  const count = Math.ceil(bytes.length / SECTOR);
  const t1 = performance.now();
  await ub.expectOk(`virtio write ${hex(address)} ${hex(blk)} ${hex(count)}`, { step: `U-Boot: write ${what} to the storage at ${hex(offset)}`, timeoutMs: 60_000 + bytes.length / 100 });
  const writeMs = performance.now() - t1;
  // Read back over what was sent: the CRC then covers the storage's bytes, not the buffer's.
  await ub.expectOk(`virtio read ${hex(address)} ${hex(blk)} ${hex(count)}`, { step: `U-Boot: read ${what} back`, timeoutMs: 60_000 + bytes.length / 100 });
  const out = await ub.expectOk(`crc32 ${hex(address)} ${hex(bytes.length)}`, { step: `U-Boot: CRC-32 of ${what} as read back` });
  const seen = /==>\s*([0-9a-fA-F]{8})/.exec(out)?.[1];
  const crc = await crc32Yielding(bytes);
  if (seen === undefined || parseInt(seen, 16) !== crc) {
    throw new ProductFailure(`${what}: what the storage holds at ${hex(offset)} is not what was sent`, {
      expected: `CRC-32 ${crc.toString(16).padStart(8, "0")} (${bytes.length} bytes)`, seen: seen ? `CRC-32 ${seen}` : out.trim(),
    });
  }
  return { crc, downloadMs, writeMs };
}
