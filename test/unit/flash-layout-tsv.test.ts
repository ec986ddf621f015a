// STM32CubeProgrammer flash layouts (flash.tsv) read as U-Boot's stm32prog reads them. The valid layouts in
// test/data/flash-layouts/ are the seed blog's (Bootlin, STM32MP1 factory flashing) and its comment thread's;
// the bad-*.tsv files are one kind of mistake each, and each must give exactly its FILE:LINE:COLUMN lines.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  checkFlashLayoutFits, parseFlashLayoutTsv, partitionsByDevice, readFlashLayoutTsv, type FlashDeviceSize, type FlashLayoutTsv,
} from "../../harness/images/flash-layout-tsv.ts";
import { ScenarioError } from "../../harness/errors/failures.ts";
import { tempDir } from "../helpers.ts";

const DIR = fileURLToPath(new URL("../data/flash-layouts/", import.meta.url));
const layout = (name: string) => join(DIR, name);
const skip = { skip: true, program: false, empty: false, delete: false };
const program = { skip: false, program: true, empty: false, delete: false };

/** The message lines after the summary: one problem each. */
function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ScenarioError, `expected a ScenarioError, got ${e}`);
    return e.message.split("\n").slice(1);
  }
  assert.fail("expected the layout to be refused");
}

test("flash.tsv: the blog's SD-card layout reads as two boot-chain lines and a RawImage on mmc0, double tab and all", () => {
  const l = readFlashLayoutTsv(layout("sdcard-dk2.tsv"));
  assert.deepEqual(l.entries.map((e) => [e.line, e.opt, e.id, e.name, e.type, e.device, e.offset, e.binary]), [
    [2, skip, 0x01, "fsbl1-boot", "Binary", { kind: "none", index: 0 }, { kind: "bytes", value: 0 }, join(DIR, "tf-a-stm32mp157c-dk2.stm32")],
    [3, skip, 0x03, "ssbl-boot", "Binary", { kind: "none", index: 0 }, { kind: "bytes", value: 0 }, join(DIR, "u-boot.stm32")],
    [4, program, 0x10, "sdcard", "RawImage", { kind: "mmc", index: 0 }, { kind: "bytes", value: 0 }, join(DIR, "sdcard.img")],
  ]);
  // The seed's third line has "mmc0\t\t0x0": stm32prog skips the empty column, so Offset starts at column 30.
  assert.deepEqual(l.entries[2]!.columns, { opt: 1, id: 3, name: 8, type: 15, ip: 24, offset: 30, binary: 34 });
  const [mmc0, ...others] = partitionsByDevice(l);
  assert.equal(others.length, 0, "the IP none lines belong to no device");
  assert.equal(mmc0!.device, "mmc0");
  assert.equal(mmc0!.rawImage?.name, "sdcard");
  assert.deepEqual(mmc0!.partitions, []);
});

test("flash.tsv: the comment thread's eMMC layout puts fsbl1/fsbl2 in boot1/boot2 beside a RawImage on mmc1", () => {
  const l = readFlashLayoutTsv(layout("emmc-ev1.tsv"));
  assert.deepEqual(l.entries.map((e) => [e.line, e.opt.program, e.id, e.name, e.type, `${e.device.kind}${e.device.index}`, e.offset.kind]), [
    [2, false, 0x01, "fsbl1-boot", "Binary", "none0", "bytes"],
    [3, false, 0x03, "ssbl-boot", "Binary", "none0", "bytes"],
    [4, true, 0x10, "emmc", "RawImage", "mmc1", "bytes"],
    [5, true, 0x04, "fsbl1", "Binary", "mmc1", "boot1"],
    [6, true, 0x05, "fsbl2", "Binary", "mmc1", "boot2"],
  ]);
  assert.equal(l.entries[4]!.binary, join(DIR, "tf-a-stm32mp157c-ev1-trusted.stm32"));
  const [mmc1] = partitionsByDevice(l);
  assert.deepEqual([mmc1!.device, mmc1!.rawImage?.name, mmc1!.boot1?.name, mmc1!.boot2?.name, mmc1!.partitions.length], ["mmc1", "emmc", "fsbl1", "fsbl2", 0]);
  // The reply's USB-boot layout: the boot chain alone, nothing written anywhere.
  const chain = readFlashLayoutTsv(layout("usb-boot-chain-only.tsv"));
  assert.deepEqual(chain.entries.map((e) => e.name), ["fsbl1-boot", "ssbl-boot"]);
  assert.deepEqual(partitionsByDevice(chain), []);
});

test("flash.tsv: CRLF line ends, leading tabs, trailing tabs and blank lines read as stm32prog reads them: the same layout", () => {
  const plain = parseFlashLayoutTsv("x.tsv", "#c\n-\t0x01\tfsbl1-boot\tBinary\tnone\t0x0\ttf-a.stm32\nP\t0x10\temmc\tRawImage\tmmc1\t0x0\tsdcard.img\n", "/f");
  const odd = parseFlashLayoutTsv("x.tsv", "#c\r\n\t\t\r\n\r\n\t-\t0x01\tfsbl1-boot\tBinary\tnone\t0x0\ttf-a.stm32\t\t\r\nP\t\t\t0x10\temmc\tRawImage\tmmc1\t0x0\tsdcard.img", "/f");
  const strip = (l: FlashLayoutTsv) => l.entries.map(({ columns: _c, line: _l, ...e }) => e);
  assert.deepEqual(strip(odd), strip(plain));
  assert.equal(plain.entries[1]!.binary, "/f/sdcard.img");
});

/** Each bad-*.tsv and the lines (after "FILE:") its error must list, in order. */
const MALFORMED: Record<string, string[]> = {
  "bad-emmc-as-rendered-by-the-blog.tsv": [69, 70, 41, 66, 66].map((col, i) =>
    `${i + 2}:${col}: 1 column, expected 7 tab-separated columns (Opt Id Name Type IP Offset Binary); the fields here are separated by spaces, which the tool reads as part of a field`),
  "bad-en-dash.tsv": [`2:1: option "–" has the letter "–", expected "-" or letters P (program), E (empty), D (delete)`],
  "bad-columns.tsv": [
    "3:33: 6 columns, expected 7 tab-separated columns (Opt Id Name Type IP Offset Binary)",
    "5:44: 8 columns, expected 7 tab-separated columns (Opt Id Name Type IP Offset Binary)",
  ],
  "bad-fields.tsv": [
    `2:1: option "PX" has the letter "X", expected "-" or letters P (program), E (empty), D (delete)`,
    `3:1: option "E" has no P, expected P in every option but "-" (stm32prog refuses E or D alone)`,
    `4:3: id "0x1G" is not a hex number, expected 0x01..0xF0`,
    `5:3: id 0xF1 is reserved by stm32prog (commands, OTP, PMIC, end, reset), expected 0x01..0xF0`,
    `6:3: id 0x00 is the phase of the flash layout itself, expected 0x01..0xF0`,
    `7:3: id "16" is not a hex number, expected 0x01..0xF0`,
    `8:8: name "a-name-of-17-char" has 17 characters, expected at most 16 (stm32prog's GPT name buffer)`,
    `9:10: type "Raw" is unknown, expected one of Binary, Binary(n) with n ≥ 1, FIP, System, FileSystem, RawImage`,
    `10:10: type "Binary(0)" is unknown, expected one of Binary, Binary(n) with n ≥ 1, FIP, System, FileSystem, RawImage`,
    `11:17: IP "emmc0" is not a device, expected none, ram, or mmcN, norN, nandN, spi-nandN with one digit N`,
    `12:17: IP "mmc10" is not a device, expected none, ram, or mmcN, norN, nandN, spi-nandN with one digit N`,
    `13:22: offset "0x" is not a number, expected 0x… hex, a decimal number, boot1 or boot2`,
    `14:22: offset "0100000" has a leading zero, which stm32prog reads as octal, expected 0x… hex or a decimal without leading zeros`,
    `15:22: offset "boot3" is not an eMMC boot partition, expected boot1 or boot2`,
    `16:22: offset "12k" is not a number, expected 0x… hex, a decimal number, boot1 or boot2`,
    `17:8: name "p,q" contains a space or one of , ; " =, expected none of them (stm32prog passes names to "gpt write" as name=…,start=…;)`,
  ],
  "bad-ids.tsv": [
    `2:1: option "P" on a line with IP none (the boot chain, loaded into RAM, never written), expected "-" (stm32prog: "selected none phase")`,
    "5:3: id 0x10 is already used by bootfs on line 4, expected every id once",
    "6:3: id 0x03 is already used by ssbl-boot on line 3, expected every id once",
  ],
  "bad-offsets.tsv": [
    "4:25: offset 0x44400 is not after fsbl2's 0x44400 (line 3) on mmc0, expected offsets that increase down the file on each device (a partition ends where the next begins)",
    "5:31: offset 0x40000 is not after ssbl's 0x44400 (line 4) on mmc0, expected offsets that increase down the file on each device (a partition ends where the next begins)",
    "6:29: offset 0x0 on mmc1 is inside the primary GPT, expected 0x4400 or more (stm32prog keeps the first 34 sectors)",
    `7:24: boot1 is an eMMC boot partition but this line is on nor0, expected boot1/boot2 only on an mmc device (stm32prog: "hw partition not expected")`,
  ],
  "bad-rawimage.tsv": [
    "3:26: fsbl1 lies inside the RawImage sdcard (line 2), which covers all of mmc0, expected no other partitions on that device but boot1/boot2",
    "4:27: a RawImage is written over the whole of mmc1 from byte 0 (stm32prog ignores this offset), expected 0x0",
    "5:19: a second RawImage on mmc1 (the first is emmc on line 4), expected one",
  ],
  "bad-empty.tsv": ["1:1: no partition lines, only comments and blank lines, expected at least one line of 7 tab-separated columns"],
  "bad-binaries.tsv": [
    "2:38: bootfs is programmed (P) but names no binary, expected a file name, or E in the option for an empty partition",
    "4:14: Binary(2) on fsbl1 (0x04, mmc0), expected several copies only for an fsbl* with id below 0x10 on nand or spi-nand",
    "5:13: Binary(2) on fsbl (0x20, nand0), expected several copies only for an fsbl* with id below 0x10 on nand or spi-nand",
  ],
  "bad-devices.tsv": ["7:17: spi-nand0 is a 6th device, expected at most 5 (stm32prog's STM32PROG_MAX_DEV)"],
  "bad-boot-twice.tsv": ["3:26: boot1 of mmc1 is already written by fsbl1 on line 2, expected one line per eMMC boot partition"],
};

test("flash.tsv: every malformed layout is refused with exactly its FILE:LINE:COLUMN lines, all problems at once", () => {
  const files = readdirSync(DIR).filter((f) => f.startsWith("bad-")).sort();
  assert.deepEqual(files, Object.keys(MALFORMED).sort(), "every bad-*.tsv has its expected messages here");
  for (const f of files) {
    const path = layout(f);
    assert.deepEqual(problemsOf(() => readFlashLayoutTsv(path)), MALFORMED[f]!.map((l) => `${path}:${l}`), f);
  }
  assert.throws(() => readFlashLayoutTsv(layout("missing.tsv")), (e: unknown) => e instanceof ScenarioError && /missing\.tsv: ENOENT/.test(e.message));
  assert.deepEqual(problemsOf(() => parseFlashLayoutTsv("bom.tsv", "\uFEFF#Opt\tId\n-\t0x01\ta\tBinary\tnone\t0x0\ta.bin\n")),
    ["bom.tsv:1:1: the file starts with a byte-order mark, which stm32prog reads as part of the first field, expected plain text without a BOM"]);
});

// The ST SD-card layout for a GPT card, partition by partition (fsbl1 at LBA 34, as in ST's layouts).
const GPT_LAYOUT = [
  "#Opt\tId\tName\tType\tIP\tOffset\tBinary",
  "-\t0x01\tfsbl1-boot\tBinary\tnone\t0x0\ttf-a.stm32",
  "P\t0x04\tfsbl1\tBinary\tmmc0\t0x00004400\ttf-a.stm32",
  "P\t0x05\tfsbl2\tBinary\tmmc0\t0x00044400\ttf-a.stm32",
  "P\t0x06\tssbl\tBinary\tmmc0\t0x00084400\tu-boot.stm32",
  "P\t0x10\trootfs\tFileSystem\tmmc0\t0x00284400\trootfs.ext4",
  "PE\t0x11\tuserfs\tFileSystem\tmmc0\t0x10284400\tnone",
].join("\n");

test("flash.tsv: a partition's size is the distance to the next one's offset; the last runs to the end of the device", () => {
  const [mmc0] = partitionsByDevice(parseFlashLayoutTsv("sd.tsv", GPT_LAYOUT, "/l"));
  assert.deepEqual(mmc0!.partitions.map((p) => [p.entry.name, p.start, p.size]), [
    ["fsbl1", 0x4400, 0x40000], ["fsbl2", 0x44400, 0x40000], ["ssbl", 0x84400, 0x200000], ["rootfs", 0x284400, 0x10000000], ["userfs", 0x10284400, undefined],
  ]);
});

// Binary sizes from the seed's STM32_Programmer_CLI output.
const SEED_SIZES: Record<string, number> = { "tf-a-stm32mp157c-dk2.stm32": 237161, "u-boot.stm32": 748042, "sdcard.img": 539002368, "tf-a-stm32mp157c-ev1-trusted.stm32": 237161, "u-boot-stm32mp157c-ev1-trusted.stm32": 748042 };
const seedSizeOf = (path: string) => SEED_SIZES[path.slice(DIR.length)];

test("flash.tsv: the seed's 514 MiB sdcard.img does not fit a 512 MiB card, and the message names the line and both sizes", () => {
  const l = readFlashLayoutTsv(layout("sdcard-dk2.tsv"));
  const at = layout("sdcard-dk2.tsv");
  checkFlashLayoutFits(l, { mmc0: { bytes: 4 * 2 ** 30, hasBootPartitions: false } }, seedSizeOf);
  assert.deepEqual(problemsOf(() => checkFlashLayoutFits(l, { mmc0: { bytes: 512 << 20 } }, seedSizeOf)),
    [`${at}:4:34: ${join(DIR, "sdcard.img")} is 539002368 bytes but sdcard has 536870912 bytes (all of mmc0), expected a binary that fits`]);
  assert.deepEqual(problemsOf(() => checkFlashLayoutFits(l, { mmc1: { bytes: 4 * 2 ** 30 } }, seedSizeOf)),
    [`${at}:4:24: mmc0 is not in the device table, expected one of mmc1`]);
});

test("flash.tsv: boot1/boot2 on a card without eMMC boot partitions is refused as U-Boot would; on an eMMC they must fit its boot size", () => {
  const l = readFlashLayoutTsv(layout("emmc-ev1.tsv"));
  const at = layout("emmc-ev1.tsv");
  const sd: FlashDeviceSize = { bytes: 4 * 2 ** 30, hasBootPartitions: false };
  assert.deepEqual(problemsOf(() => checkFlashLayoutFits(l, { mmc1: sd }, seedSizeOf)), ["boot1:5:fsbl1", "boot2:6:fsbl2"].map((s) => {
    const [area, line, name] = s.split(":");
    return `${at}:${line}:26: ${name} is written to ${area} but mmc1 has no eMMC boot partitions, expected an eMMC (hasBootPartitions); U-Boot would size it 0 and fail the write with "Request would exceed designated area!"`;
  }));
  checkFlashLayoutFits(l, { mmc1: { bytes: 4 * 2 ** 30, hasBootPartitions: true, bootPartitionBytes: 4 << 20 } }, seedSizeOf);
  const tiny = problemsOf(() => checkFlashLayoutFits(l, { mmc1: { bytes: 4 * 2 ** 30, hasBootPartitions: true, bootPartitionBytes: 128 << 10 } }, seedSizeOf));
  assert.deepEqual(tiny, [5, 6].map((line) => `${at}:${line}:32: ${join(DIR, "tf-a-stm32mp157c-ev1-trusted.stm32")} is 237161 bytes but fsbl${line - 4} has 131072 bytes (boot${line - 4} of mmc1), expected a binary that fits`));
});

test("flash.tsv: real files are checked: a missing binary and a binary bigger than its partition or the device's end name FILE:LINE", () => {
  const d = tempDir("bootlab-flashtsv-");
  try {
    const tsv = join(d.path, "flash.tsv");
    writeFileSync(tsv, GPT_LAYOUT);
    writeFileSync(join(d.path, "tf-a.stm32"), new Uint8Array(0x40000));
    writeFileSync(join(d.path, "u-boot.stm32"), new Uint8Array(0x200001));
    const l = readFlashLayoutTsv(tsv);
    const card: FlashDeviceSize = { bytes: 0x10284400 + 35 * 512 + 4096 };
    assert.deepEqual(problemsOf(() => checkFlashLayoutFits(l, { mmc0: card })), [
      `${tsv}:5:36: ${join(d.path, "u-boot.stm32")} is 2097153 bytes but ssbl has 2097152 bytes (0x84400..0x284400 on mmc0), expected a binary that fits`,
      `${tsv}:6:42: binary ${join(d.path, "rootfs.ext4")} does not exist, expected the file next to the layout`,
    ]);
    // The last partition ends 35 sectors before the card's end: stm32prog keeps them for the backup GPT.
    writeFileSync(join(d.path, "u-boot.stm32"), new Uint8Array(0x200000));
    writeFileSync(join(d.path, "rootfs.ext4"), new Uint8Array(0));
    checkFlashLayoutFits(l, { mmc0: card });
    assert.deepEqual(problemsOf(() => checkFlashLayoutFits(l, { mmc0: { bytes: 0x10284400 } })),
      [`${tsv}:7:32: offset 0x10284400 is outside mmc0 (0x0..0x1027fe00; stm32prog keeps the last 35 sectors for the backup GPT), expected an offset on the device`]);
  } finally {
    d.remove();
  }
});

/** A small seeded PRNG (mulberry32), so a failing mutation can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOKENS = ["\t", "\t\t", "\n", "\r", " ", "#", "-", "P", "E", "D", "X", "0", "x", "f", "9", "(", ")", "–", "\uFEFF", "mmc", "mmc1", "nor0",
  "spi-nand3", "ram", "none", "boot1", "boot2", "boot", "0x", "0x4400", "0xF0", "0xFFFFFFFFFFFFFFFFFFFF", "012", "RawImage", "Binary(2)", "FIP", "fsbl1", "a.bin", "none"];

function mutate(text: string, r: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const at = () => Math.floor(r() * (text.length + 1));
  for (let n = 1 + Math.floor(r() * 4); n > 0; n--) {
    const lines = text.split("\n");
    const i = Math.floor(r() * lines.length);
    switch (Math.floor(r() * 6)) {
      case 0: { const p = at(); text = text.slice(0, p) + pick(TOKENS) + text.slice(p); break; }
      case 1: { const p = at(); text = text.slice(0, p) + text.slice(p + 1 + Math.floor(r() * 8)); break; }
      case 2: lines.splice(i, 0, lines[Math.floor(r() * lines.length)]!); text = lines.join("\n"); break;
      case 3: { const j = Math.floor(r() * lines.length); [lines[i], lines[j]] = [lines[j]!, lines[i]!]; text = lines.join("\n"); break; }
      case 4: {
        const f = lines[i]!.split("\t");
        f[Math.floor(r() * f.length)] = pick(TOKENS);
        lines[i] = f.join("\t");
        text = lines.join("\n");
        break;
      }
      default: text = text.slice(0, at());
    }
  }
  return text;
}

test("flash.tsv: 2000 seeded mutations of the seed layouts give a layout or a ScenarioError whose every line points into the file", () => {
  const texts = [GPT_LAYOUT, ...["sdcard-dk2.tsv", "emmc-ev1.tsv", "usb-boot-chain-only.tsv"].map((f) => readFileSync(layout(f), "utf8"))];
  let parsed = 0;
  let refused = 0;
  for (let seed = 1; seed <= 2000; seed++) {
    const r = prng(seed);
    const base = texts[seed % texts.length]!;
    const text = mutate(base, r);
    const lines = text.replace(/^\uFEFF/, "").split("\n");
    try {
      const l = parseFlashLayoutTsv("m.tsv", text, "/l");
      parsed++;
      partitionsByDevice(l);
      const devices: Record<string, FlashDeviceSize> = { mmc0: { bytes: 1 << 30 }, mmc1: { bytes: r() * 2 ** 40, hasBootPartitions: r() < 0.5, bootPartitionBytes: 4 << 20 }, nor0: { bytes: 64 << 20 } };
      checkFlashLayoutFits(l, devices, () => (r() < 0.1 ? undefined : Math.floor(r() * 2 ** 31)));
    } catch (e) {
      refused++;
      assert.ok(e instanceof ScenarioError, `seed ${seed}: ${e instanceof Error ? e.stack : e}\n${JSON.stringify(text)}`);
      for (const line of e.message.split("\n").slice(1)) {
        const m = /^m\.tsv:(\d+):(\d+): .*expected /.exec(line);
        assert.ok(m, `seed ${seed}: ${line}`);
        const [ln, col] = [Number(m[1]), Number(m[2])];
        assert.ok(ln >= 1 && ln <= lines.length && col >= 1 && col <= (lines[ln - 1] ?? "").length + 1, `seed ${seed}: ${line} points outside the file`);
      }
    }
  }
  assert.ok(parsed > 100 && refused > 100, `both outcomes are exercised (parsed ${parsed}, refused ${refused})`);
});

