// GPT disk images written without root, read back with util-linux's sfdisk (Debian's fdisk package): the
// partition table, the LegacyBIOSBootable attribute U-Boot's distro boot needs, the backup GPT at the image's
// real end, and the content bytes where the partitions say.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildGptImage, GPT_TYPE, SECTOR, type GptImageSpec } from "../../harness/images/gpt.ts";
import { ScenarioError } from "../../harness/errors/failures.ts";
import { tempDir } from "../helpers.ts";

function sfdisk(args: string[]): { out: string; err: string; status: number | null } {
  const r = spawnSync("sfdisk", args, { encoding: "utf8" });
  return { out: r.stdout ?? "", err: r.stderr ?? "", status: r.error ? null : r.status };
}
const skipSfdisk = sfdisk(["--version"]).status === 0 ? false : "sfdisk (Debian package fdisk) not installed";

interface SfdiskTable {
  partitiontable: {
    label: string; id: string; firstlba: number; lastlba: number; sectorsize: number;
    partitions: { start: number; size: number; type: string; uuid: string; name: string; attrs?: string }[];
  };
}
const table = (img: string) => (JSON.parse(sfdisk(["--json", img]).out) as SfdiskTable).partitiontable;

const KiB = 1024;
const MiB = 1024 * KiB;
/** ST's fixed PARTUUID for the rootfs on mmc0 (U-Boot's stm32prog ROOTFS_MMC0_UUID), so root=PARTUUID= can be fixed. */
const ST_ROOTFS_MMC0 = "E91C4E10-16E6-4C0E-BD0E-77BECF4A3582";
const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + (i >> 9)) & 0xff);

/** The STM32MP1 SD-card layout of the research note (§2b), at a size that keeps the test quick. */
function stm32Spec(dir: string): GptImageSpec {
  writeFileSync(join(dir, "u-boot.stm32"), bytes(700 * KiB + 3, 1));
  writeFileSync(join(dir, "rootfs.ext4"), bytes(1536 * KiB + 123, 2));
  return {
    sizeBytes: 16 * MiB,
    seed: "stm32mp157c-dk2",
    partitions: [
      { name: "fsbl1", sizeBytes: 256 * KiB, typeGuid: GPT_TYPE.linuxReserved, content: new TextEncoder().encode("FSBL1-PLACEHOLDER") },
      { name: "fsbl2", sizeBytes: 256 * KiB, typeGuid: GPT_TYPE.linuxReserved, content: new TextEncoder().encode("FSBL2-PLACEHOLDER") },
      { name: "ssbl", sizeBytes: 2 * MiB, typeGuid: GPT_TYPE.linuxReserved, content: join(dir, "u-boot.stm32") },
      { name: "rootfs", startLba: 8192, sizeBytes: 8 * MiB, bootable: true, guid: ST_ROOTFS_MMC0, content: join(dir, "rootfs.ext4") },
    ],
  };
}

test("gpt: an STM32MP1-like image reads back with sfdisk: names, start LBAs, sizes, types, LegacyBIOSBootable, no problems", { skip: skipSfdisk }, () => {
  const d = tempDir("bootlab-gpt-");
  try {
    const path = join(d.path, "sdcard.img");
    const img = buildGptImage(path, stm32Spec(d.path));
    assert.deepEqual(img.partitions.map((p) => [p.name, p.startLba, p.endLba]), [["fsbl1", 34, 545], ["fsbl2", 546, 1057], ["ssbl", 1058, 5153], ["rootfs", 8192, 24575]]);
    const t = table(path);
    assert.deepEqual([t.label, t.id, t.sectorsize, t.firstlba, t.lastlba], ["gpt", img.diskGuid, 512, 34, 32768 - 34]);
    assert.deepEqual(t.partitions.map((p) => [p.name, p.start, p.size, p.type, p.uuid, p.attrs]), [
      ["fsbl1", 34, 512, GPT_TYPE.linuxReserved, img.partitions[0]!.guid, undefined],
      ["fsbl2", 546, 512, GPT_TYPE.linuxReserved, img.partitions[1]!.guid, undefined],
      ["ssbl", 1058, 4096, GPT_TYPE.linuxReserved, img.partitions[2]!.guid, undefined],
      ["rootfs", 8192, 16384, GPT_TYPE.linuxFilesystem, ST_ROOTFS_MMC0, "LegacyBIOSBootable"],
    ]);
    const verify = sfdisk(["--verify", path]);
    assert.equal(verify.status, 0);
    assert.match(verify.out, /No errors detected\.\nHeader version: 1\.0\nUsing 4 out of 128 partitions\./);
    assert.equal(verify.err, "", "no warnings either (a backup GPT short of the end is only a warning)");
    // The content bytes sit where the table says.
    const disk = new Uint8Array(readFileSync(path));
    const at = (lba: number, n: number) => new TextDecoder().decode(disk.subarray(lba * SECTOR, lba * SECTOR + n));
    assert.equal(at(34, 17), "FSBL1-PLACEHOLDER");
    assert.equal(at(546, 17), "FSBL2-PLACEHOLDER");
    assert.deepEqual(disk.subarray(1058 * SECTOR, 1058 * SECTOR + 700 * KiB + 3), bytes(700 * KiB + 3, 1));
    assert.deepEqual(disk.subarray(8192 * SECTOR, 8192 * SECTOR + 1536 * KiB + 123), bytes(1536 * KiB + 123, 2));
    assert.ok(disk.subarray(8192 * SECTOR + 1536 * KiB + 123, 24576 * SECTOR).every((b) => b === 0), "the rest of rootfs reads as zeros");
    assert.deepEqual([disk[510], disk[511], disk[450]], [0x55, 0xaa, 0xee], "a protective MBR");
  } finally {
    d.remove();
  }
});

test("gpt: the backup GPT sits at the image's real end: sfdisk reads the whole table from it when the primary is wiped", { skip: skipSfdisk }, () => {
  const d = tempDir("bootlab-gpt-");
  try {
    const path = join(d.path, "sdcard.img");
    buildGptImage(path, stm32Spec(d.path));
    const want = table(path).partitions;
    const wiped = join(d.path, "wiped.img");
    copyFileSync(path, wiped);
    const raw = readFileSync(wiped);
    raw.fill(0, SECTOR, 2 * SECTOR);
    writeFileSync(wiped, raw);
    const r = sfdisk(["--json", wiped]);
    assert.match(r.err, /The primary GPT table is corrupt, but the backup appears OK/);
    const unnamed = (ps: object[]) => ps.map((p) => ({ ...p, node: undefined }));
    assert.deepEqual(unnamed((JSON.parse(r.out) as SfdiskTable).partitiontable.partitions), unnamed(want));
    // The research note's pitfall, for contrast: the same image on a bigger device has its backup short of the end.
    const bigger = join(d.path, "bigger.img");
    copyFileSync(path, bigger);
    truncateSync(bigger, 32 * MiB);
    assert.match(sfdisk(["--verify", bigger]).err, /The backup GPT table is not on the end of the device/);
  } finally {
    d.remove();
  }
});

test("gpt: the same spec and seed give the same bytes; another seed gives other GUIDs", () => {
  const d = tempDir("bootlab-gpt-");
  try {
    const spec = stm32Spec(d.path);
    const a = buildGptImage(join(d.path, "a.img"), spec);
    const b = buildGptImage(join(d.path, "b.img"), spec);
    assert.deepEqual(readFileSync(join(d.path, "a.img")), readFileSync(join(d.path, "b.img")));
    const c = buildGptImage(join(d.path, "c.img"), { ...spec, seed: "another board" });
    assert.equal(a.diskGuid, b.diskGuid);
    assert.notEqual(c.diskGuid, a.diskGuid);
    assert.notEqual(c.partitions[0]!.guid, a.partitions[0]!.guid);
    assert.equal(c.partitions[3]!.guid, ST_ROOTFS_MMC0, "a fixed GUID stays fixed");
    assert.match(a.partitions[0]!.guid, /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/, "shaped as a version-4 GUID");
  } finally {
    d.remove();
  }
});

test("gpt: each mistake is refused with the partition's name and what was expected, all at once", () => {
  const d = tempDir("bootlab-gpt-");
  try {
    const path = join(d.path, "bad.img");
    const spec: GptImageSpec = {
      sizeBytes: 4 * MiB,
      partitions: [
        { name: "fsbl1", startLba: 20, sizeBytes: 256 * KiB },
        { name: "fsbl2", sizeBytes: 256 * KiB, content: new Uint8Array(256 * KiB + 1) },
        { name: "ssbl", startLba: 600, sizeBytes: 100 * KiB },
        { name: "a-name-of-thirty-seven-utf16-units-xx", sizeBytes: 1000 },
        { name: "rootfs", sizeBytes: 4 * MiB, typeGuid: "not-a-guid", content: join(d.path, "missing.ext4") },
      ],
    };
    assert.throws(() => buildGptImage(path, spec), (e: unknown) => {
      assert.ok(e instanceof ScenarioError);
      assert.deepEqual(e.message.split("\n"), [
        `GPT image ${path}: 8 problems:`,
        `  - partition "fsbl1": starts at LBA 20, inside the protective MBR or primary GPT, expected LBA 34 or later`,
        `  - partition "fsbl2": content is 262145 bytes, expected at most the partition's 262144 bytes`,
        `  - partition "a-name-of-thirty-seven-utf16-units-xx": name is 37 UTF-16 units, expected at most 36 (the entry's name field)`,
        `  - partition "a-name-of-thirty-seven-utf16-units-xx": size 1000 bytes, expected a positive multiple of 512`,
        `  - partition "rootfs": typeGuid "not-a-guid" is not a GUID, expected XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX`,
        `  - partition "rootfs": ends at LBA 9237, beyond the last usable LBA 8158 (the backup GPT takes the last 33 of 8192 sectors), expected a smaller partition or a bigger image`,
        `  - partition "rootfs": content file ${join(d.path, "missing.ext4")} does not exist, expected a file to copy in`,
        `  - partition "ssbl" (LBA 600..799) overlaps "fsbl2" (LBA 532..1043), expected it to start at LBA 1044 or later`,
      ]);
      assert.equal(e.context.seen, `partition "fsbl1": starts at LBA 20, inside the protective MBR or primary GPT, expected LBA 34 or later`);
      return true;
    });
    assert.throws(() => buildGptImage(path, { sizeBytes: 60 * SECTOR + 1, firstLba: 30, partitions: [] }), (e: unknown) => e instanceof ScenarioError && e.message === [
      `GPT image ${path}: 3 problems:`,
      `  - image size 30721: expected a whole number of 512-byte sectors`,
      `  - firstLba 30 is inside the partition entries (LBA 2..33): expected 34 or more`,
      `  - image of 60 sectors has no room between the two GPTs: expected at least 64 sectors`,
    ].join("\n"));
    // Two small partitions inside one big one: both are caught, not only the first.
    assert.throws(() => buildGptImage(path, { sizeBytes: 4 * MiB, partitions: [
      { name: "big", sizeBytes: MiB }, { name: "small", startLba: 100, sizeBytes: SECTOR }, { name: "later", startLba: 1000, sizeBytes: SECTOR },
    ] }), (e: unknown) => e instanceof ScenarioError && e.message === [
      `GPT image ${path}: 2 problems:`,
      `  - partition "small" (LBA 100..100) overlaps "big" (LBA 34..2081), expected it to start at LBA 2082 or later`,
      `  - partition "later" (LBA 1000..1000) overlaps "big" (LBA 34..2081), expected it to start at LBA 2082 or later`,
    ].join("\n"));
  } finally {
    d.remove();
  }
});

test("gpt: a content file is copied in byte-exact, across 1 MiB pieces, without touching the next partition", () => {
  const d = tempDir("bootlab-gpt-");
  try {
    const file = join(d.path, "blob.bin");
    const blob = bytes(2 * MiB + 777, 9);
    writeFileSync(file, blob);
    const path = join(d.path, "disk.img");
    const img = buildGptImage(path, {
      sizeBytes: 8 * MiB, alignment: MiB,
      partitions: [{ name: "blob", sizeBytes: 3 * MiB, content: file }, { name: "next", sizeBytes: MiB, content: new Uint8Array(SECTOR).fill(0xa5) }],
    });
    assert.deepEqual(img.partitions.map((p) => [p.startLba, p.endLba]), [[2048, 8191], [8192, 10239]], "aligned to 1 MiB");
    const disk = new Uint8Array(readFileSync(path));
    assert.equal(disk.length, 8 * MiB);
    assert.deepEqual(disk.subarray(2048 * SECTOR, 2048 * SECTOR + blob.length), blob);
    assert.ok(disk.subarray(2048 * SECTOR + blob.length, 8192 * SECTOR).every((b) => b === 0));
    assert.ok(disk.subarray(8192 * SECTOR, 8193 * SECTOR).every((b) => b === 0xa5));
  } finally {
    d.remove();
  }
});
