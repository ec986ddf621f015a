// Seed 003's pure parts: the STM32 image header the boot ROM checks, a GPT read back as firmware reads it,
// the ROM's choice on each switch position, and the programmer's checks and GPT — all before any machine.
import { test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, ftruncateSync, openSync, readFileSync, readSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkStm32Image, stm32Checksum, wrapStm32Image } from "../../harness/images/stm32-image.ts";
import { buildGptImage, GPT_TYPE, readGpt } from "../../harness/images/gpt.ts";
import { romBootFromDisk, romBootFromDownload } from "../../harness/machine/boot-rom.ts";
import { parseFlashLayoutTsv } from "../../harness/images/flash-layout-tsv.ts";
import { checkLayoutForBoard, downloadReport, layoutGpt, linesToProgram, loadBuffer } from "../../harness/flows/programmer.ts";
import { SEED_LAYOUT } from "../../harness/flows/factory-flash.ts";
import { loadCatalogue } from "../../harness/targets/catalogue.ts";
import { ScenarioError } from "../../harness/errors/failures.ts";
import { tempDir } from "../helpers.ts";

const target = loadCatalogue().get("virt-armhf")!;
const rom = target.machine.bootRom!;
const payload = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7 + 3) & 0xff);
const image = wrapStm32Image(payload, { loadAddress: 0x2ffc2500, entryPoint: 0x2ffc2501 });

const fileReader = (path: string) => (offset: number, length: number) => {
  const fd = openSync(path, "r");
  try {
    const b = new Uint8Array(length);
    readSync(fd, b, 0, length, offset);
    return b;
  } finally {
    closeSync(fd);
  }
};

test("stm32 image: the header is U-Boot's stm32image.c v1 layout, and the ROM's checks catch magic, length and checksum", () => {
  assert.equal(image.length, 256 + payload.length);
  assert.deepEqual([...image.subarray(0, 4)], [0x53, 0x54, 0x4d, 0x32], "magic \"STM2\"");
  const v = new DataView(image.buffer);
  assert.equal(v.getUint32(68, true), stm32Checksum(payload), "image_checksum at 68");
  assert.deepEqual([...image.subarray(72, 76)], [0, 0, 1, 0], "header_version with the major at index 2");
  assert.equal(v.getUint32(76, true), payload.length, "image_length at 76");
  assert.equal(v.getUint32(80, true), 0x2ffc2501, "entry point at 80");
  assert.equal(v.getUint32(88, true), 0x2ffc2500, "load address at 88");
  const ok = checkStm32Image(image);
  assert.ok(typeof ok !== "string");
  assert.deepEqual(ok.payload, payload);
  // A partition read whole has zeros after the image: only the header's length counts.
  assert.ok(typeof checkStm32Image(Uint8Array.from([...image, 0, 0, 0])) !== "string");
  const flipped = Uint8Array.from(image);
  flipped[300]! ^= 1;
  assert.match(checkStm32Image(flipped) as string, /^checksum 0x[0-9a-f]+ of the 5000-byte payload, header says 0x/);
  assert.match(checkStm32Image(new Uint8Array(1024)) as string, /^no image \(zeros/);
  assert.match(checkStm32Image(Uint8Array.from([1, 2, 3, 4, ...image.subarray(4)])) as string, /^bad magic 01 02 03 04/);
  assert.match(checkStm32Image(image.subarray(0, 1000)) as string, /runs past/);
  assert.match(checkStm32Image(image.subarray(0, 100)) as string, /shorter than the 256-byte header/);
});

function card(dir: string, o: { fsbl1?: Uint8Array; fsbl2?: Uint8Array; names?: [string, string] } = {}) {
  const path = join(dir, "card.img");
  const [n1, n2] = o.names ?? ["fsbl1", "fsbl2"];
  buildGptImage(path, {
    sizeBytes: 8 << 20, seed: "t",
    partitions: [
      { name: n1, startLba: 34, sizeBytes: 256 << 10, typeGuid: GPT_TYPE.linuxReserved, ...(o.fsbl1 ? { content: o.fsbl1 } : {}) },
      { name: n2, sizeBytes: 256 << 10, typeGuid: GPT_TYPE.linuxReserved, ...(o.fsbl2 ? { content: o.fsbl2 } : {}) },
      { name: "rootfs", startLba: 4096, sizeBytes: 4 << 20, bootable: true },
    ],
  });
  return path;
}

test("gpt: readGpt gives back what buildGptImage wrote, and refuses a damaged header or entry array", () => {
  const d = tempDir();
  try {
    const path = card(d.path, { fsbl1: image });
    const gpt = readGpt(fileReader(path));
    assert.ok(Array.isArray(gpt));
    assert.deepEqual(gpt.map((p) => [p.number, p.name, p.startLba, p.bootable, p.typeGuid]), [
      [1, "fsbl1", 34, false, GPT_TYPE.linuxReserved], [2, "fsbl2", 546, false, GPT_TYPE.linuxReserved], [3, "rootfs", 4096, true, GPT_TYPE.linuxFilesystem],
    ]);
    const bytes = new Uint8Array(readFileSync(path));
    const header = Uint8Array.from(bytes);
    header[512 + 40]! ^= 1;
    assert.equal(readGpt((o, l) => header.slice(o, o + l)), "GPT header CRC does not match");
    const entries = Uint8Array.from(bytes);
    entries[1024 + 60]! ^= 1;
    assert.equal(readGpt((o, l) => entries.slice(o, o + l)), "GPT entry array CRC does not match");
    assert.match(readGpt((_, l) => new Uint8Array(l)) as string, /^no GPT/);
  } finally {
    d.remove();
  }
});

test("boot ROM: switch on SD runs fsbl1, falls back to fsbl2 when fsbl1 fails its check, and runs nothing otherwise", () => {
  const d = tempDir();
  try {
    const good = romBootFromDisk(rom, fileReader(card(d.path, { fsbl1: image, fsbl2: image })));
    assert.deepEqual(good.firstStage, payload);
    assert.match(good.log[0]!, /^fsbl1 \(partition 1, LBA 34\): 5000-byte first stage, checksum good/);
    const broken = Uint8Array.from(image);
    broken[4000]! ^= 0xff;
    const fallback = romBootFromDisk(rom, fileReader(card(d.path, { fsbl1: broken, fsbl2: image })));
    assert.deepEqual(fallback.firstStage, payload);
    assert.match(fallback.log[0]!, /^fsbl1 .*checksum/);
    assert.match(fallback.log[1]!, /^fsbl2 \(partition 2, LBA 546\): 5000-byte first stage/);
    const dead = romBootFromDisk(rom, fileReader(card(d.path)));
    assert.equal(dead.firstStage, undefined);
    assert.equal(dead.log.length, 2);
    // The ROM looks for the names, not the places: an FSBL in partitions named otherwise is not found.
    const renamed = romBootFromDisk(rom, fileReader(card(d.path, { fsbl1: image, fsbl2: image, names: ["fsbla", "fsblb"] })));
    assert.equal(renamed.firstStage, undefined);
    assert.deepEqual(renamed.log, ["fsbl1: no GPT partition of that name", "fsbl2: no GPT partition of that name"]);
    assert.deepEqual(romBootFromDisk(rom, () => new Uint8Array(512)), { log: ["storage: no GPT (no \"EFI PART\" signature at LBA 1)"] });
  } finally {
    d.remove();
  }
});

test("boot ROM: switch on USB runs the downloaded first stage only if it passes the same check", () => {
  assert.deepEqual(romBootFromDownload(image, "u-boot.stm32").firstStage, payload);
  const r = romBootFromDownload(payload, "u-boot.bin");
  assert.equal(r.firstStage, undefined);
  assert.match(r.log[0]!, /^USB download of u-boot\.bin: bad magic/);
});

function release(dir: string, tsv: string, o: { sdcardBytes?: number; stage?: Uint8Array } = {}) {
  writeFileSync(join(dir, "u-boot.stm32"), o.stage ?? image);
  writeFileSync(join(dir, "rootfs.ext4"), new Uint8Array(4096));
  const fd = openSync(join(dir, "sdcard.img"), "w");
  ftruncateSync(fd, o.sdcardBytes ?? 20 << 20);
  closeSync(fd);
  writeFileSync(join(dir, "flash.tsv"), tsv);
  return parseFlashLayoutTsv(join(dir, "flash.tsv"), tsv);
}

test("programmer: the seed's layout is checked against the board before anything starts — fits, too big, boot1 on an SD card, a boot chain the ROM would not run, RAM", () => {
  const d = tempDir();
  try {
    checkLayoutForBoard(release(d.path, SEED_LAYOUT), target, { storageBytes: 64 << 20 });
    assert.throws(() => checkLayoutForBoard(release(d.path, SEED_LAYOUT), target, { storageBytes: 16 << 20 }), (e: unknown) => {
      assert.ok(e instanceof ScenarioError);
      assert.match(e.message, /flash\.tsv:4:\d+: .*sdcard\.img is 20971520 bytes but sdcard has 16777216 bytes \(all of mmc0\)/);
      return true;
    });
    const emmc = SEED_LAYOUT + "P\t0x04\tfsbl1\tBinary\tmmc0\tboot1\tu-boot.stm32\n";
    assert.throws(() => checkLayoutForBoard(release(d.path, emmc), target, { storageBytes: 64 << 20 }), /flash\.tsv:5:\d+: fsbl1 is written to boot1 but mmc0 has no eMMC boot partitions/);
    assert.throws(() => checkLayoutForBoard(release(d.path, SEED_LAYOUT, { stage: payload }), target, { storageBytes: 64 << 20 }),
      /flash\.tsv:2:\d+: u-boot\.stm32 is not a first stage the ROM would run: bad magic/);
    const { maxBytes } = loadBuffer(target);
    assert.throws(() => checkLayoutForBoard(release(d.path, SEED_LAYOUT, { sdcardBytes: (Math.floor(maxBytes / 512) + 1) * 512 }), target, { storageBytes: 1 << 30 }),
      /flash\.tsv:4:\d+: sdcard\.img is \d+ bytes; the flashing session holds at most \d+ bytes in virt-armhf's 256 MiB of RAM/);
  } finally {
    d.remove();
  }
});

test("programmer: without a RawImage the GPT comes from the layout (System bootable, Binary reserved), and lines are written in Id order", () => {
  const d = tempDir();
  try {
    const tsv = [
      "#Opt\tId\tName\tType\tIP\tOffset\tBinary",
      "-\t0x01\tfsbl1-boot\tBinary\tnone\t0x0\tu-boot.stm32",
      "P\t0x21\trootfs\tSystem\tmmc0\t0x00800000\trootfs.ext4",
      "P\t0x04\tfsbl1\tBinary\tmmc0\t0x00004400\tu-boot.stm32",
      "PE\t0x22\tdata\tFileSystem\tmmc0\t0x02000000\tnone",
      "",
    ].join("\n");
    // Offsets must increase down the file; put the lines in offset order and check the Id order separately.
    const ordered = tsv.split("\n");
    const layout = release(d.path, [ordered[0], ordered[1], ordered[3], ordered[2], ordered[4], ""].join("\n"));
    assert.deepEqual(linesToProgram(layout).map((e) => e.id), [0x04, 0x21, 0x22]);
    const disk = new Uint8Array(64 << 20);
    for (const s of layoutGpt(layout, "mmc0", disk.length)!) disk.set(s.bytes, s.offset);
    const gpt = readGpt((o, l) => disk.slice(o, o + l));
    assert.ok(Array.isArray(gpt));
    assert.deepEqual(gpt.map((p) => [p.name, p.startLba, p.endLba, p.bootable, p.typeGuid]), [
      ["fsbl1", 34, 0x800000 / 512 - 1, false, GPT_TYPE.linuxReserved],
      ["rootfs", 0x800000 / 512, 0x2000000 / 512 - 1, true, GPT_TYPE.linuxFilesystem],
      ["data", 0x2000000 / 512, (64 << 20) / 512 - 34, false, GPT_TYPE.linuxFilesystem],
    ]);
    assert.equal(layoutGpt(release(d.path, SEED_LAYOUT), "mmc0", disk.length), undefined, "a RawImage brings its own GPT");
  } finally {
    d.remove();
  }
});

test("programmer: progress reads like the seed's STM32CubeProgrammer log", () => {
  const layout = parseFlashLayoutTsv("/r/flash.tsv", SEED_LAYOUT);
  const lines = downloadReport(layout.entries[2]!, 539002368, 271583);
  assert.deepEqual(lines.filter(Boolean), [
    "Memory Programming ...", "Opening and parsing file: sdcard.img", "  File          : sdcard.img", "  Size          : 539002368 Bytes",
    "  Partition ID  : 0x10 ", "Download in Progress:", "[==================================================] 100% ", "File download complete",
    "Time elapsed during download operation: 00:04:31.583",
  ]);
});
