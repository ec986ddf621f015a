// Unpacking Debian's self-decompressing kernels for QEMU's -kernel (targets' guest.kernel.directBoot): the
// real malta zboot and armhf zImage from the fixtures, and the refusals on made-up bytes. That the unpacked
// kernels boot is the integration tests' part (every direct boot of malta and virt-armhf uses them).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Fixtures } from "../../harness/fixtures/fixtures.ts";
import { loadCatalogue } from "../../harness/targets/catalogue.ts";
import { elfToBinary } from "../../harness/images/elf.ts";
import { decodeUImage } from "../../harness/images/uimage.ts";
import { mipsZbootEntry, unpackedKernelElf, xzStreamOffsets } from "../../harness/images/kernel-unpack.ts";

const fixtures = new Fixtures();
const catalogue = loadCatalogue();
const banner = (release: string) => Buffer.from(`Linux version ${release} `);

test("kernel-unpack: malta's zboot becomes an ELF of the unpacked kernel at 0x80100000, entered where the decompressor jumps", async () => {
  const target = catalogue.get("malta-mipsel")!;
  const kernel = await fixtures.kernel(target);
  const shipped = new Uint8Array(readFileSync(kernel.image));
  const elf = elfToBinary(new Uint8Array(readFileSync(await fixtures.directBootKernel(target))));
  if (typeof elf === "string") assert.fail(elf);
  assert.equal(elf.loadAddress, 0x80100000);
  assert.equal(elf.entry, mipsZbootEntry(shipped));
  assert.ok(elf.entry > elf.loadAddress && elf.entry < elf.loadAddress + elf.binary.length, `entry 0x${elf.entry.toString(16)}`);
  assert.equal(elf.machine, 8);
  // The banner is only in the compressed payload: finding it proves the payload, not the decompressor, came out.
  assert.equal(Buffer.from(shipped).indexOf(banner(kernel.release)), -1);
  assert.ok(Buffer.from(elf.binary).indexOf(banner(kernel.release)) > 0, "the unpacked kernel has its banner");
  assert.ok(elf.binary.length > 3 * shipped.length, `${elf.binary.length} bytes unpacked from ${shipped.length}`);
});

test("kernel-unpack: armhf's zImage becomes an uncompressed uImage where its own decompressor puts it; the payload is the xz stream that decompresses, not the decompressor's magic", async () => {
  const target = catalogue.get("virt-armhf")!;
  const kernel = await fixtures.kernel(target);
  const shipped = new Uint8Array(readFileSync(kernel.image));
  // The decompressor's code holds the magic before the payload does: taking the first match would fail.
  assert.ok(xzStreamOffsets(shipped).length >= 2, `${xzStreamOffsets(shipped)}`);
  const u = decodeUImage(new Uint8Array(readFileSync(await fixtures.directBootKernel(target))));
  if (typeof u === "string") assert.fail(u);
  assert.deepEqual([u.load, u.entry, u.compName, u.archName, u.osName, u.typeName], [0x40208000, 0x40208000, "none", "arm", "linux", "kernel"]);
  assert.ok(u.headerCrcOk && u.dataCrcOk && !u.truncated);
  assert.ok(Buffer.from(u.data).indexOf(banner(kernel.release)) > 0, "the unpacked Image has its banner");
});

test("kernel-unpack: virt-arm64's Image is booted as shipped", async () => {
  const target = catalogue.get("virt-arm64")!;
  assert.equal(target.guest.kernel.directBoot, undefined);
  assert.equal(await fixtures.directBootKernel(target), (await fixtures.kernel(target)).image);
});

/** The same as mipsElf, as ELF64: a well-formed file the unpacker must still refuse. */
function mips64Elf(code: number[]): Uint8Array {
  const out = new Uint8Array(0x100 + code.length * 4);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(16, 2, true);
  v.setUint16(18, 8, true);
  v.setBigUint64(24, 0x80001000n, true);
  v.setBigUint64(32, 64n, true); // e_phoff
  v.setUint16(54, 56, true); // e_phentsize
  v.setUint16(56, 1, true); // e_phnum
  v.setUint32(64, 1, true); // PT_LOAD
  v.setBigUint64(72, 0x100n, true); // p_offset
  v.setBigUint64(80, 0x80001000n, true); // p_vaddr
  v.setBigUint64(88, 0x80001000n, true); // p_paddr
  v.setBigUint64(96, BigInt(code.length * 4), true); // p_filesz
  v.setBigUint64(104, BigInt(code.length * 4), true); // p_memsz
  code.forEach((w, i) => v.setUint32(0x100 + i * 4, w, true));
  return out;
}

/** A little-endian MIPS ELF32 with one PT_LOAD of `code` words at 0x80001000. */
function mipsElf(code: number[]): Uint8Array {
  const out = new Uint8Array(0x100 + code.length * 4);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  v.setUint16(16, 2, true);
  v.setUint16(18, 8, true);
  v.setUint32(24, 0x80001000, true);
  v.setUint32(28, 52, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, 1, true);
  v.setUint32(52, 1, true);
  v.setUint32(56, 0x100, true);
  v.setUint32(60, 0x80001000, true);
  v.setUint32(64, 0x80001000, true);
  v.setUint32(68, code.length * 4, true);
  v.setUint32(72, code.length * 4, true);
  code.forEach((w, i) => v.setUint32(0x100 + i * 4, w, true));
  return out;
}

test("kernel-unpack: the entry is found only as `lui t9; ori t9; jalr t9`, once; anything else is a reason, not an exception", () => {
  const jump = (hi: number, lo: number) => [0x3c190000 | hi, 0x37390000 | lo, 0x0320f809];
  assert.equal(mipsZbootEntry(mipsElf([0, ...jump(0x80b1, 0x74bc), 0])), 0x80b174bc);
  // lui + addiu (PTR_LA of decompress_kernel) is not the kernel's entry.
  assert.match(mipsZbootEntry(mipsElf([0x3c19810f, 0x27391184, 0x0320f809])) as string, /no `li t9/);
  assert.match(mipsZbootEntry(mipsElf([...jump(0x80b1, 0x74bc), ...jump(0x80c0, 0)])) as string, /2 different/);
  assert.match(mipsZbootEntry(new Uint8Array(10)) as string, /too short for an ELF/);
  assert.match(mipsZbootEntry(new Uint8Array(100)) as string, /not an ELF file/);
  assert.match(mipsZbootEntry(mips64Elf(jump(0x80b1, 0x74bc))) as string, /not a 32-bit ELF/);
  const arm = mipsElf(jump(0x80b1, 0x74bc));
  arm[18] = 40;
  assert.match(mipsZbootEntry(arm) as string, /not a MIPS/);
  const cut = mipsElf(jump(0x80b1, 0x74bc));
  new DataView(cut.buffer).setUint16(44, 200, true);
  assert.match(mipsZbootEntry(cut) as string, /past the end/);

  const from = mipsElf([0]);
  const data = new Uint8Array(0x2000).fill(7);
  assert.match(unpackedKernelElf({ from, data, loadAddress: 0x80100000, entry: 0x80102000 }) as string, /not inside/);
  const ok = elfToBinary(unpackedKernelElf({ from, data, loadAddress: 0x80100000, entry: 0x80101ffc }) as Uint8Array);
  if (typeof ok === "string") assert.fail(ok);
  assert.deepEqual([ok.loadAddress, ok.entry, ok.machine, ok.bigEndian, ok.binary.length], [0x80100000, 0x80101ffc, 8, false, 0x2000]);
});

test("kernel-unpack: xz magic is found at every offset, including overlapping tails and the very end", () => {
  const m = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
  assert.deepEqual(xzStreamOffsets(new Uint8Array([1, ...m, 0xfd, ...m])), [1, 8]);
  assert.deepEqual(xzStreamOffsets(new Uint8Array([...m.slice(0, 5)])), []);
  assert.deepEqual(xzStreamOffsets(new Uint8Array(0)), []);
});
