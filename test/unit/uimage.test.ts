import { seededRandom } from "../../harness/lan/faults.ts";
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import * as zlib from "node:zlib";
import { crc32, crc32Yielding } from "../../harness/images/crc32.ts";
import { decodeUImage, encodeUImage, scriptImage, type UImage, type UImageOptions } from "../../harness/images/uimage.ts";
import { elfToBinary, type ElfBinary } from "../../harness/images/elf.ts";
import { tempDir } from "../helpers.ts";

// ---- helpers ----

function runs(cmd: string, args: string[]): boolean {
  try {
    return spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
  } catch {
    return false;
  }
}

const skipMkimage = runs("mkimage", ["-V"]) && runs("dumpimage", ["-V"]) ? false : "mkimage/dumpimage (u-boot-tools) not installed";
const skipObjcopy = runs("objcopy", ["--version"]) && runs("readelf", ["--version"]) ? false : "objcopy/readelf (binutils) not installed";
const skipGcc = skipObjcopy || (runs("gcc", ["--version"]) ? false : "no host gcc to build a test ELF");

// Deterministic randomness, so a failing fuzz case can be replayed.
const prng = seededRandom;

function randomBytes(n: number, rnd: () => number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (rnd() * 256) | 0;
  return b;
}

const enc = new TextEncoder();
const hex8 = (n: number) => n.toString(16).padStart(8, "0");

function mkimage(dir: string, args: string[], data: Uint8Array, time = 0): Uint8Array {
  const input = join(dir, "mk-in.bin");
  const output = join(dir, "mk-out.img");
  writeFileSync(input, data);
  // mkimage takes its time stamp from SOURCE_DATE_EPOCH when set.
  execFileSync("mkimage", [...args, "-d", input, output], { env: { ...process.env, SOURCE_DATE_EPOCH: String(time) }, stdio: "pipe" });
  return new Uint8Array(readFileSync(output));
}

/** `mkimage -l` (or dumpimage -l) on bytes of ours. */
function listImage(dir: string, tool: "mkimage" | "dumpimage", img: Uint8Array): string {
  const path = join(dir, "ours.img");
  writeFileSync(path, img);
  return execFileSync(tool, ["-l", path], { encoding: "utf8" });
}

function assertDecoded(d: UImage | string): UImage {
  if (typeof d === "string") assert.fail(`decodeUImage refused a valid image: ${d}`);
  return d;
}

function assertElf(r: ElfBinary | string): ElfBinary {
  if (typeof r === "string") assert.fail(`elfToBinary refused a valid ELF: ${r}`);
  return r;
}

function readelfEntry(path: string): number {
  const out = execFileSync("readelf", ["-h", path], { encoding: "utf8" });
  const m = /Entry point address:\s+0x([0-9a-f]+)/.exec(out);
  assert.ok(m, `readelf -h gave no entry point:\n${out}`);
  return parseInt(m[1]!, 16);
}

/**
 * objcopy -O binary by the first tool that reads this ELF: the host objcopy, a MIPS cross objcopy,
 * GNU objcopy told the generic ELF target (it then reads any machine), llvm-objcopy last: it differs
 * from GNU where every p_paddr is zero (it stacks the segments at 0; GNU and we use p_vaddr).
 */
function objcopyBinary(dir: string, elfPath: string, bits: 32 | 64, bigEndian: boolean): { tool: string; bin: Uint8Array } | undefined {
  const generic = `elf${bits}-${bigEndian ? "big" : "little"}`;
  const candidates: [string, string[]][] = [
    ["objcopy", []],
    ["mipsel-linux-gnu-objcopy", []],
    ["objcopy", ["-I", generic]],
    ["llvm-objcopy", []],
  ];
  const out = join(dir, "objcopy.bin");
  for (const [cmd, extra] of candidates) {
    let ok = false;
    try {
      ok = spawnSync(cmd, [...extra, "-O", "binary", elfPath, out], { stdio: "ignore" }).status === 0;
    } catch {
      ok = false;
    }
    if (ok && existsSync(out)) return { tool: [cmd, ...extra].join(" "), bin: new Uint8Array(readFileSync(out)) };
  }
  return undefined;
}

interface Seg {
  type?: number;
  paddr: number;
  vaddr?: number;
  data: Uint8Array;
  memsz?: number;
}

/**
 * A minimal ELF (either class, either byte order) with one PROGBITS section per segment, so that
 * objcopy, which works from sections, has something to copy: the big-endian and odd layouts the host
 * toolchain cannot make. Sections of non-LOAD segments are not SHF_ALLOC, so objcopy skips them too.
 */
function buildElf(o: { is64: boolean; le: boolean; machine: number; entry: number; segs: Seg[] }): Uint8Array {
  const { is64, le, segs } = o;
  const eh = is64 ? 64 : 52, ph = is64 ? 56 : 32, sh = is64 ? 64 : 40;
  let off = eh + ph * segs.length;
  const offs = segs.map((s) => {
    off = (off + 15) & ~15;
    const at = off;
    off += s.data.length;
    return at;
  });
  const names = ["", ...segs.map((_, i) => `.s${i}`), ".shstrtab"];
  const strtab = enc.encode(names.join("\0") + "\0");
  const nameOff = names.map((_, i) => names.slice(0, i).reduce((a, n) => a + n.length + 1, 0));
  const strOff = off;
  const shoff = (strOff + strtab.length + 7) & ~7;
  const out = new Uint8Array(shoff + sh * names.length);
  const v = new DataView(out.buffer);
  const w = (p: number, n: number) => (is64 ? v.setBigUint64(p, BigInt(n), le) : v.setUint32(p, n, le));
  out.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1]);
  v.setUint16(16, 2, le); // ET_EXEC
  v.setUint16(18, o.machine, le);
  v.setUint32(20, 1, le);
  w(24, o.entry);
  const e = is64 ? { phoff: 32, shoff: 40, ehsize: 52 } : { phoff: 28, shoff: 32, ehsize: 40 };
  w(e.phoff, eh);
  w(e.shoff, shoff);
  // e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
  [eh, ph, segs.length, sh, names.length, names.length - 1].forEach((x, i) => v.setUint16(e.ehsize + 2 * i, x, le));
  segs.forEach((s, i) => {
    const p = eh + i * ph;
    // p_type p_offset p_vaddr p_paddr p_filesz p_memsz p_flags p_align (ELF32 order)
    const f = [s.type ?? 1, offs[i]!, s.vaddr ?? s.paddr, s.paddr, s.data.length, s.memsz ?? s.data.length, 7, 16];
    if (is64) {
      v.setUint32(p, f[0]!, le);
      v.setUint32(p + 4, f[6]!, le);
      [1, 2, 3, 4, 5, 7].forEach((k, j) => w(p + 8 + 8 * j, f[k]!));
    } else f.forEach((x, j) => v.setUint32(p + 4 * j, x, le));
    out.set(s.data, offs[i]!);
  });
  out.set(strtab, strOff);
  for (let i = 1; i < names.length; i++) {
    const p = shoff + i * sh;
    const s = segs[i - 1];
    // sh_name sh_type sh_flags sh_addr sh_offset sh_size sh_link sh_info sh_addralign sh_entsize
    const f = s
      ? [nameOff[i]!, 1, (s.type ?? 1) === 1 ? 7 : 0, s.vaddr ?? s.paddr, offs[i - 1]!, s.data.length, 0, 0, 1, 0]
      : [nameOff[i]!, 3, 0, 0, strOff, strtab.length, 0, 0, 1, 0];
    if (is64) {
      v.setUint32(p, f[0]!, le);
      v.setUint32(p + 4, f[1]!, le);
      [2, 3, 4, 5].forEach((k, j) => w(p + 8 + 8 * j, f[k]!));
      v.setUint32(p + 40, f[6]!, le);
      v.setUint32(p + 44, f[7]!, le);
      w(p + 48, f[8]!);
      w(p + 56, f[9]!);
    } else f.forEach((x, j) => v.setUint32(p + 4 * j, x, le));
  }
  return out;
}

// ---- crc32 ----

function zlibCrc(data: Uint8Array): number {
  const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
  if (typeof native === "function") return native(data) >>> 0;
  const out = execFileSync("python3", ["-c", "import sys, zlib; print(zlib.crc32(sys.stdin.buffer.read()))"], { input: data });
  return Number(new TextDecoder().decode(out).trim());
}

test("crc32: matches zlib on empty, short, the check string and 1 MB of random bytes; seeds chain", () => {
  const rnd = prng(1);
  const big = randomBytes(1 << 20, rnd);
  const inputs = [new Uint8Array(0), new Uint8Array([0]), new Uint8Array([0xff]), enc.encode("123456789"), randomBytes(4097, rnd), big];
  for (const d of inputs) assert.equal(crc32(d), zlibCrc(d), `length ${d.length}`);
  assert.equal(crc32(enc.encode("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  // Chaining and a view with a byte offset.
  assert.equal(crc32(big.subarray(1000), crc32(big.subarray(0, 1000))), crc32(big));
  assert.equal(crc32(big.subarray(3, 70000)), zlibCrc(big.slice(3, 70000)));
  // python's zlib too, when node:zlib has its own crc32 (checked above otherwise).
  if (runs("python3", ["-c", "import zlib"])) {
    const out = execFileSync("python3", ["-c", "import sys, zlib; print(zlib.crc32(sys.stdin.buffer.read()))"], { input: big });
    assert.equal(crc32(big), Number(new TextDecoder().decode(out).trim()));
  }
});

// ---- uImage ----

interface Case {
  opts: Omit<UImageOptions, "data">;
  args: string[];
  listType: string;
  dumpType: string;
}

const cases: Case[] = [
  {
    opts: { arch: "mips", type: "kernel", load: 0x810f0000, entry: 0x810f0000, name: "Debian 6.1 malta" },
    args: ["-A", "mips", "-O", "linux", "-T", "kernel", "-C", "none", "-a", "0x810f0000", "-e", "0x810f0000", "-n", "Debian 6.1 malta"],
    listType: "MIPS Linux Kernel Image (uncompressed)",
    dumpType: "kernel",
  },
  {
    opts: { arch: "arm", type: "kernel", load: 0x60008000, entry: 0x60008000, name: "armmp" },
    args: ["-A", "arm", "-O", "linux", "-T", "kernel", "-C", "none", "-a", "0x60008000", "-e", "0x60008000", "-n", "armmp"],
    listType: "ARM Linux Kernel Image (uncompressed)",
    dumpType: "kernel",
  },
  {
    opts: { arch: "arm", type: "ramdisk", load: 0, entry: 0, name: "initramfs" },
    args: ["-A", "arm", "-O", "linux", "-T", "ramdisk", "-C", "none", "-a", "0", "-e", "0", "-n", "initramfs"],
    listType: "ARM Linux RAMDisk Image (uncompressed)",
    dumpType: "ramdisk",
  },
  {
    opts: { arch: "arm64", type: "ramdisk", compression: "gzip", load: 0, entry: 0, name: "initrd.gz" },
    args: ["-A", "arm64", "-O", "linux", "-T", "ramdisk", "-C", "gzip", "-a", "0", "-e", "0", "-n", "initrd.gz"],
    listType: "AArch64 Linux RAMDisk Image (gzip compressed)",
    dumpType: "ramdisk",
  },
  {
    opts: { arch: "arm", type: "standalone", load: 0x80000, entry: 0x80004, name: "x".repeat(31) },
    args: ["-A", "arm", "-O", "linux", "-T", "standalone", "-C", "none", "-a", "0x80000", "-e", "0x80004", "-n", "x".repeat(31)],
    listType: "ARM Linux Standalone Program (uncompressed)",
    dumpType: "standalone",
  },
  {
    // 40 characters: mkimage keeps 32 bytes and no NUL.
    opts: { arch: "arm64", type: "firmware", load: 0x40000000, entry: 0x40000000, name: "f".repeat(40) },
    args: ["-A", "arm64", "-O", "linux", "-T", "firmware", "-C", "none", "-a", "0x40000000", "-e", "0x40000000", "-n", "f".repeat(40)],
    listType: "AArch64 Linux Firmware (uncompressed)",
    dumpType: "firmware",
  },
];

test("uimage: encodeUImage is byte-identical to mkimage (mips/arm kernel, ramdisk, gzip, standalone, firmware, long names)", { skip: skipMkimage }, () => {
  const t = tempDir("bootlab-uimage-");
  try {
    const rnd = prng(2);
    for (const c of cases) {
      for (const data of [randomBytes(4097, rnd), randomBytes(1, rnd)]) {
        const ours = encodeUImage({ ...c.opts, data });
        assert.deepEqual(ours, mkimage(t.path, c.args, data), `${c.args.join(" ")} (${data.length} bytes)`);
      }
    }
    // A real time stamp, the same in both.
    const data = randomBytes(100, rnd);
    const c = cases[0]!;
    assert.deepEqual(encodeUImage({ ...c.opts, data, time: 1700000000 }), mkimage(t.path, c.args, data, 1700000000));
  } finally {
    t.remove();
  }
});

test("uimage: mkimage -l and dumpimage -l list our name, type, load, entry and size; dumpimage extracts our data", { skip: skipMkimage }, () => {
  const t = tempDir("bootlab-uimage-");
  try {
    const rnd = prng(3);
    for (const c of cases) {
      const data = randomBytes(5000, rnd);
      const img = encodeUImage({ ...c.opts, data });
      for (const tool of ["mkimage", "dumpimage"] as const) {
        const listed = listImage(t.path, tool, img);
        assert.match(listed, new RegExp(`^Image Name:\\s+${c.opts.name.slice(0, 32)}$`, "m"), listed);
        assert.ok(listed.includes(`Image Type:   ${c.listType}\n`), listed);
        assert.match(listed, /^Data Size:\s+5000 Bytes/m, listed);
        assert.match(listed, new RegExp(`^Load Address: ${hex8(c.opts.load)}$`, "m"), listed);
        assert.match(listed, new RegExp(`^Entry Point:\\s+${hex8(c.opts.entry)}$`, "m"), listed);
        assert.doesNotMatch(listed, /bad|error|corrupt/i, listed);
      }
      const ours = join(t.path, "ours.img");
      const out = join(t.path, "extracted.bin");
      writeFileSync(ours, img);
      execFileSync("dumpimage", ["-T", c.dumpType, "-p", "0", "-o", out, ours], { stdio: "pipe" });
      assert.deepEqual(new Uint8Array(readFileSync(out)), data);
    }
  } finally {
    t.remove();
  }
});

test("uimage: scriptImage is byte-identical to mkimage -T script (no padding, UTF-8, default empty name)", { skip: skipMkimage }, () => {
  const t = tempDir("bootlab-uimage-");
  try {
    const scripts = [
      "setenv bootargs console=ttyS0\nbootm 0x81000000\n", // 48 bytes: a multiple of 4
      "echo hi\nsetenv a b\n", // 19 bytes: not
      "echo \u00e9t\u00e9 \u2713\n",
      "x",
    ];
    for (const text of scripts) {
      const file = enc.encode(text);
      const want = mkimage(t.path, ["-A", "arm", "-O", "linux", "-T", "script", "-C", "none", "-n", "boot script"], file);
      assert.deepEqual(scriptImage(text, "boot script"), want, JSON.stringify(text));
      assert.deepEqual(scriptImage(text), mkimage(t.path, ["-A", "arm", "-O", "linux", "-T", "script", "-C", "none"], file));
      const d = assertDecoded(decodeUImage(scriptImage(text, "boot script")));
      assert.equal(d.typeName, "script");
      const v = new DataView(d.data.buffer, d.data.byteOffset, d.data.byteLength);
      assert.equal(v.getUint32(0), file.length);
      assert.equal(v.getUint32(4), 0);
      assert.deepEqual(d.data.subarray(8), file);
      assert.ok(d.headerCrcOk && d.dataCrcOk);
    }
    const listed = listImage(t.path, "mkimage", scriptImage("echo hi\nsetenv a b\n", "boot script"));
    assert.match(listed, /Image Type:\s+ARM Linux Script \(uncompressed\)/);
    assert.match(listed, /Image 0: 19 Bytes/);
  } finally {
    t.remove();
  }
});

test("uimage: decodeUImage reads mkimage's output: fields, CRCs, truncation, flipped bytes, trailing bytes", { skip: skipMkimage }, () => {
  const t = tempDir("bootlab-uimage-");
  try {
    const data = randomBytes(3000, prng(4));
    const c = cases[0]!;
    const img = mkimage(t.path, c.args, data, 1234567890);
    const d = assertDecoded(decodeUImage(img));
    assert.equal(d.name, "Debian 6.1 malta");
    assert.equal(d.time, 1234567890);
    assert.equal(d.size, 3000);
    assert.equal(d.load, 0x810f0000);
    assert.equal(d.entry, 0x810f0000);
    assert.equal(d.dataCrc, crc32(data));
    assert.deepEqual([d.os, d.arch, d.type, d.comp], [5, 5, 2, 0]);
    assert.deepEqual([d.osName, d.archName, d.typeName, d.compName], ["linux", "mips", "kernel", "none"]);
    assert.deepEqual(d.data, data);
    assert.ok(d.headerCrcOk && d.dataCrcOk && !d.truncated);

    const cut = assertDecoded(decodeUImage(img.subarray(0, img.length - 1)));
    assert.ok(cut.truncated && !cut.dataCrcOk && cut.headerCrcOk);
    assert.equal(cut.data.length, 2999);
    const headerOnly = assertDecoded(decodeUImage(img.subarray(0, 64)));
    assert.ok(headerOnly.truncated && headerOnly.data.length === 0);

    const flipped = img.slice();
    flipped[64 + 1500]! ^= 0x01;
    const f = assertDecoded(decodeUImage(flipped));
    assert.ok(f.headerCrcOk && !f.dataCrcOk && !f.truncated);

    const badHeader = img.slice();
    badHeader[40]! ^= 0x20; // in the name
    const h = assertDecoded(decodeUImage(badHeader));
    assert.ok(!h.headerCrcOk && h.dataCrcOk);

    // Padding after the data (as in a flash partition) is ignored.
    const padded = new Uint8Array(img.length + 100).fill(0xff);
    padded.set(img);
    const p = assertDecoded(decodeUImage(padded));
    assert.ok(p.dataCrcOk && !p.truncated && p.data.length === 3000);
  } finally {
    t.remove();
  }
});

test("uimage: decodeUImage returns a reason for short or foreign input and never throws on random bytes", () => {
  assert.equal(typeof decodeUImage(new Uint8Array(0)), "string");
  assert.match(decodeUImage(new Uint8Array(63)) as string, /too short/);
  assert.match(decodeUImage(new Uint8Array(64)) as string, /magic/);
  assert.match(decodeUImage(enc.encode("#!/bin/sh\n".repeat(10))) as string, /magic/);

  const rnd = prng(5);
  const good = encodeUImage({ ...cases[0]!.opts, data: randomBytes(500, rnd) });
  for (let i = 0; i < 3000; i++) {
    let input: Uint8Array;
    const kind = i % 3;
    if (kind === 0) input = randomBytes((rnd() * 200) | 0, rnd);
    else if (kind === 1) input = good.subarray(0, (rnd() * (good.length + 1)) | 0);
    else {
      // A valid header with random damage, in a view at an odd offset.
      const buf = new Uint8Array(good.length + 3);
      buf.set(good, 3);
      for (let k = 0; k < 4; k++) buf[3 + ((rnd() * good.length) | 0)] = (rnd() * 256) | 0;
      input = buf.subarray(3, 3 + ((rnd() * (good.length + 1)) | 0));
    }
    const d = decodeUImage(input);
    if (typeof d === "string") continue;
    assert.ok(d.data.length <= d.size);
    assert.ok(!d.truncated || !d.dataCrcOk);
    assert.ok(d.name.length <= 32);
  }
});

test("uimage: encodeUImage refuses out-of-range numbers and unknown names", () => {
  const base: UImageOptions = { arch: "arm", type: "kernel", load: 0, entry: 0, name: "k", data: new Uint8Array(1) };
  assert.throws(() => encodeUImage({ ...base, load: -1 }), RangeError);
  assert.throws(() => encodeUImage({ ...base, entry: 2 ** 32 }), RangeError);
  assert.throws(() => encodeUImage({ ...base, time: 1.5 }), RangeError);
  assert.throws(() => encodeUImage({ ...base, arch: "x86" as "arm" }), RangeError);
  // Reproducible: no time stamp unless asked.
  assert.deepEqual(encodeUImage(base), encodeUImage(base));
});

// ---- ELF ----

const T_C = `int counter = 42;
const char msg[] = "hello bootlab";
char buf[256];
void _start(void) { buf[0] = msg[0]; counter++; for (;;); }
`;
// Text and data in separate segments with a gap between, .data loaded (AT) apart from where it runs,
// and a .bss; no segment maps the ELF headers (objcopy would leave them out, a loader would not).
const T_LD = `ENTRY(_start)
PHDRS { text PT_LOAD; data PT_LOAD; }
SECTIONS {
  . = 0x100000;
  .text : { *(.text*) } :text
  .rodata : { *(.rodata*) } :text
  . = ALIGN(0x1000) + 0x40;
  .data : AT(0x103000) { *(.data*) } :data
  .bss : { *(.bss*) *(COMMON) } :data
  /DISCARD/ : { *(.note*) *(.eh_frame*) *(.comment) }
}
`;

test("elf: a host-built ELF64 (and ELF32 with -m32) gives the same bytes as objcopy -O binary", { skip: skipGcc }, () => {
  const t = tempDir("bootlab-uimage-");
  try {
    writeFileSync(join(t.path, "t.c"), T_C);
    writeFileSync(join(t.path, "t.ld"), T_LD);
    let built = 0;
    for (const [bits, machine] of [[64, 62], [32, 3]] as const) {
      const out = join(t.path, `t${bits}`);
      const gcc = spawnSync("gcc", [
        `-m${bits}`, "-nostdlib", "-static", "-fno-pie", "-no-pie", "-O1", "-ffreestanding", "-fno-stack-protector",
        "-fno-asynchronous-unwind-tables", "-Wl,--build-id=none", `-Wl,-T,${join(t.path, "t.ld")}`, "-o", out, join(t.path, "t.c"),
      ], { encoding: "utf8" });
      if (gcc.status !== 0) {
        assert.ok(bits === 32, `gcc -m64 failed: ${gcc.stderr}`); // -m32 needs multilib; optional
        continue;
      }
      built++;
      const elf = new Uint8Array(readFileSync(out));
      const r = assertElf(elfToBinary(elf));
      const ref = objcopyBinary(t.path, out, bits, false);
      assert.ok(ref, `no objcopy reads the host's own ELF${bits}`);
      assert.deepEqual(r.binary, ref.bin, `ELF${bits} vs ${ref.tool}`);
      assert.equal(r.binary.length, 0x3000 + 4); // .data (4 bytes) placed at its load address 0x103000
      assert.equal(r.loadAddress, 0x100000);
      assert.equal(r.entry, readelfEntry(out));
      assert.equal(r.machine, machine);
      assert.equal(r.bigEndian, false);
    }
    assert.ok(built >= 1);
  } finally {
    t.remove();
  }
});

test("elf: synthetic ELF32/ELF64, little and big endian: same bytes as objcopy, gaps zero, bss and empty segments left out", { skip: skipObjcopy }, () => {
  const t = tempDir("bootlab-uimage-");
  try {
    const rnd = prng(6);
    const layouts: { what: string; segs: Seg[]; load: number; size: number }[] = [
      {
        what: "gap, paddr != vaddr, bss, a memsz-only LOAD, a non-LOAD",
        segs: [
          { paddr: 0x81000000, data: randomBytes(1000, rnd) },
          { paddr: 0x81000400, vaddr: 0x9000000, data: randomBytes(333, rnd), memsz: 5000 },
          { paddr: 0x82000000, data: new Uint8Array(0), memsz: 0x100 },
          { type: 4, paddr: 0x90000000, data: randomBytes(16, rnd) },
        ],
        load: 0x81000000,
        size: 0x400 + 333,
      },
      {
        what: "segments listed highest first",
        segs: [
          { paddr: 0x2000, data: randomBytes(17, rnd) },
          { paddr: 0x1000, data: randomBytes(64, rnd) },
        ],
        load: 0x1000,
        size: 0x1000 + 17,
      },
      {
        what: "every p_paddr zero: virtual addresses, as BFD does",
        segs: [
          { paddr: 0, vaddr: 0x4000, data: randomBytes(32, rnd) },
          { paddr: 0, vaddr: 0x4100, data: randomBytes(32, rnd) },
        ],
        load: 0x4000,
        size: 0x120,
      },
    ];
    for (const layout of layouts) {
      for (const is64 of [false, true]) {
        for (const le of [true, false]) {
          const label = `${layout.what}: ELF${is64 ? 64 : 32} ${le ? "LE" : "BE"}`;
          const elf = buildElf({ is64, le, machine: 8, entry: layout.load + 0x10, segs: layout.segs });
          const path = join(t.path, "s.elf");
          writeFileSync(path, elf);
          const r = assertElf(elfToBinary(elf));
          const ref = objcopyBinary(t.path, path, is64 ? 64 : 32, !le);
          assert.ok(ref, `no objcopy reads ${label}`);
          assert.deepEqual(r.binary, ref.bin, `${label} vs ${ref.tool}`);
          assert.equal(r.binary.length, layout.size, label);
          assert.equal(r.loadAddress, layout.load, label);
          assert.equal(r.entry, readelfEntry(path), label);
          assert.equal(r.bigEndian, !le);
          assert.equal(r.machine, 8);
        }
      }
    }
  } finally {
    t.remove();
  }
});

function debianMipsKernel(): string | undefined {
  const root = join(homedir(), ".cache/bootlab/debian/unpacked");
  if (!existsSync(root)) return undefined;
  for (const d of readdirSync(root).filter((n) => n.startsWith("mipsel-linux-image-")).sort()) {
    const boot = join(root, d, "boot");
    if (!existsSync(boot)) continue;
    const k = readdirSync(boot).filter((n) => n.startsWith("vmlinuz-")).sort()[0];
    if (k) return join(boot, k);
  }
  return undefined;
}

const mipsKernel = debianMipsKernel();
const skipMipsKernel = skipObjcopy || (mipsKernel ? false : "no Debian mipsel kernel under ~/.cache/bootlab/debian/unpacked (fetched by the fixtures)");

test("elf: Debian's MIPS Malta vmlinuz gives objcopy's binary, and a uImage identical to mkimage's of it", { skip: skipMipsKernel }, (ctx) => {
  const t = tempDir("bootlab-uimage-");
  try {
    const path = mipsKernel!;
    const r = assertElf(elfToBinary(new Uint8Array(readFileSync(path))));
    assert.equal(r.loadAddress, 0x810f0000);
    assert.equal(r.entry, 0x810f0000);
    assert.equal(r.entry, readelfEntry(path));
    assert.equal(r.machine, 8);
    assert.equal(r.bigEndian, false);
    const ref = objcopyBinary(t.path, path, 32, false);
    if (!ref) {
      ctx.skip("no objcopy here reads MIPS ELF (tried objcopy, mipsel-linux-gnu-objcopy, objcopy -I elf32-little, llvm-objcopy)");
      return;
    }
    assert.ok(Buffer.from(r.binary).equals(ref.bin), `vmlinuz vs ${ref.tool}`);
    if (!skipMkimage) {
      const args = ["-A", "mips", "-O", "linux", "-T", "kernel", "-C", "none", "-a", "0x810f0000", "-e", "0x810f0000", "-n", "Linux"];
      const ours = encodeUImage({ arch: "mips", type: "kernel", load: r.loadAddress, entry: r.entry, name: "Linux", data: r.binary });
      assert.ok(Buffer.from(ours).equals(mkimage(t.path, args, ref.bin)), "uImage vs mkimage of objcopy's binary");
    }
  } finally {
    t.remove();
  }
});

test("elf: garbage, truncations and damaged headers give a reason, never an exception", () => {
  assert.match(elfToBinary(new Uint8Array(0)) as string, /too short/);
  assert.match(elfToBinary(enc.encode("#!/bin/sh\necho not an elf\n")) as string, /magic/);
  assert.match(elfToBinary(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 3, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])) as string, /class/);
  const rnd = prng(7);
  const seg = (paddr: number, n: number): Seg => ({ paddr, data: randomBytes(n, rnd) });
  // A stray address must not become a multi-gigabyte allocation.
  const far = buildElf({ is64: false, le: true, machine: 8, entry: 0, segs: [seg(0, 16), seg(0xf0000000, 16)] });
  assert.match(elfToBinary(far) as string, /span/);
  const apart = buildElf({ is64: false, le: true, machine: 8, entry: 0, segs: [seg(0, 16), seg(0x200000, 16)] });
  assert.match(elfToBinary(apart, { maxSize: 0x100000 }) as string, /span/);
  assert.equal(assertElf(elfToBinary(apart)).binary.length, 0x200010);
  const high = buildElf({ is64: true, le: true, machine: 183, entry: 0, segs: [{ paddr: 2 ** 60, data: randomBytes(8, rnd) }] });
  assert.match(elfToBinary(high) as string, /2\^53/);
  const noLoad = buildElf({ is64: true, le: false, machine: 8, entry: 0, segs: [{ type: 4, paddr: 0, data: randomBytes(8, rnd) }] });
  assert.match(elfToBinary(noLoad) as string, /no PT_LOAD/);

  const seeds = [false, true].flatMap((is64) =>
    [true, false].map((le) => buildElf({ is64, le, machine: 8, entry: 0x1000, segs: [seg(0x1000, 200), seg(0x1400, 100)] })),
  );
  for (let i = 0; i < 4000; i++) {
    const good = seeds[i % seeds.length]!;
    let input: Uint8Array;
    const kind = (i >> 2) % 3;
    if (kind === 0) {
      input = randomBytes((rnd() * 300) | 0, rnd);
      if (input.length >= 6 && rnd() < 0.5) input.set([0x7f, 0x45, 0x4c, 0x46, 1 + ((rnd() * 2) | 0), 1 + ((rnd() * 2) | 0)]);
    } else if (kind === 1) input = good.subarray(0, (rnd() * (good.length + 1)) | 0);
    else {
      // Damage in the headers, where the numbers are, in a view at an odd offset.
      const buf = new Uint8Array(good.length + 1);
      buf.set(good, 1);
      for (let k = 0; k < 3; k++) buf[1 + ((rnd() * 200) | 0)] = (rnd() * 256) | 0;
      input = buf.subarray(1);
    }
    const r = elfToBinary(input, { maxSize: 1 << 20 });
    if (typeof r !== "string") assert.ok(r.binary.length <= 1 << 20);
  }
});

test("crc32: the yielding form gives crc32's answer for any piece size, empty input included", async () => {
  const data = new Uint8Array(10_001).map((_, i) => (i * 131 + 7) & 0xff);
  for (const piece of [1000, 7, 4096, 10_000, 10_001, 1 << 22]) assert.equal(await crc32Yielding(data, piece), crc32(data), `piece ${piece}`);
  assert.equal(await crc32Yielding(new Uint8Array(0)), 0);
  assert.equal(await crc32Yielding(new TextEncoder().encode("123456789")), 0xcbf43926);
});
