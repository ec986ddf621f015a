// The pure half of unpacking a self-decompressing kernel (Debian's malta vmlinuz, an ARM zImage) into
// the same kernel already in place, for QEMU's -kernel: where the compressed payload starts, where the
// decompressor jumps when it is done, and the ELF wrapper QEMU's MIPS loader takes. Bytes in, bytes or
// a reason out; never throws on garbage. Decompressing the payload is the fixtures' job (xz).

import { type ElfBinary, elfToBinary } from "./elf.ts";

/** The .xz stream header magic (xz file format 1.0.4, section 2.1.1.1). */
const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

/**
 * Every offset where an .xz stream could start. A decompressor carries the magic in its own code too (the
 * check it makes before unpacking), so the payload is the candidate that decompresses, not the first one.
 */
export function xzStreamOffsets(bytes: Uint8Array): number[] {
  const found: number[] = [];
  for (let i = bytes.indexOf(XZ_MAGIC[0]!); i >= 0 && i + XZ_MAGIC.length <= bytes.length; i = bytes.indexOf(XZ_MAGIC[0]!, i + 1)) {
    let k = 1;
    while (k < XZ_MAGIC.length && bytes[i + k] === XZ_MAGIC[k]) k++;
    if (k === XZ_MAGIC.length) found.push(i);
  }
  return found;
}

/** A 32-bit ELF as elfToBinary reads it, or why not: the wrapper writes only ELF32. */
function readElf32(bytes: Uint8Array): ElfBinary | string {
  const elf = elfToBinary(bytes);
  if (typeof elf === "string") return elf;
  return elf.bits === 32 ? elf : "not a 32-bit ELF file (only 32-bit MIPS kernels are unpacked)";
}

const EM_MIPS = 8;

/**
 * Where a MIPS zboot decompressor (arch/mips/boot/compressed/head.S) jumps once the kernel is unpacked:
 * its `PTR_LI t9, KERNEL_ENTRY; jalr t9`, which a 32-bit build assembles as `lui t9, hi; ori t9, t9, lo;
 * jalr t9`. (The jump to decompress_kernel before it is `lui` + `addiu`, so it does not match.) The
 * address is a build constant found nowhere else in the file.
 */
export function mipsZbootEntry(zboot: Uint8Array): number | string {
  const elf = readElf32(zboot);
  if (typeof elf === "string") return elf;
  if (elf.machine !== EM_MIPS) return `not a MIPS ELF file (e_machine ${elf.machine})`;
  // The code as loaded: instructions sit at word-aligned addresses, and the load address is aligned.
  const code = elf.binary;
  const v = new DataView(code.buffer, code.byteOffset, code.byteLength);
  const le = !elf.bigEndian;
  const found = new Set<number>();
  for (let o = 0; o + 12 <= code.length; o += 4) {
    const [a, b, c] = [v.getUint32(o, le), v.getUint32(o + 4, le), v.getUint32(o + 8, le)];
    // lui $25, imm = 0x3c19imm; ori $25, $25, imm = 0x3739imm; jalr $25 = 0x0320f809.
    if (a >>> 16 === 0x3c19 && b >>> 16 === 0x3739 && c === 0x0320f809) found.add((((a & 0xffff) << 16) | (b & 0xffff)) >>> 0);
  }
  if (found.size !== 1) return found.size === 0 ? "no `li t9, KERNEL_ENTRY; jalr t9` in the decompressor" : `${found.size} different kernel entry jumps in the decompressor`;
  return [...found][0]!;
}

export interface UnpackedElfOptions {
  /** The self-decompressing ELF it came from: e_machine, e_flags and byte order are copied from it. */
  from: Uint8Array;
  /** The unpacked kernel (vmlinux.bin). */
  data: Uint8Array;
  /** Where its first byte belongs (the kernel's VMLINUX_LOAD_ADDRESS). */
  loadAddress: number;
  entry: number;
}

/**
 * An ELF32 executable with one PT_LOAD holding `data` at `loadAddress` and the given entry: what QEMU's
 * MIPS loaders (load_elf) take. Its memory size is its file size: the kernel clears its own .bss, whose size
 * vmlinux.bin does not record.
 */
export function unpackedKernelElf(o: UnpackedElfOptions): Uint8Array | string {
  const src = readElf32(o.from);
  if (typeof src === "string") return src;
  if (o.entry < o.loadAddress || o.entry >= o.loadAddress + o.data.length) {
    return `the entry point 0x${o.entry.toString(16)} is not inside the unpacked kernel (0x${o.loadAddress.toString(16)} + ${o.data.length} bytes)`;
  }
  const dataOffset = 0x1000;
  const out = new Uint8Array(dataOffset + o.data.length);
  const v = new DataView(out.buffer);
  const le = !src.bigEndian;
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, le ? 1 : 2, 1], 0);
  v.setUint16(16, 2, le); // ET_EXEC
  v.setUint16(18, src.machine, le);
  v.setUint32(20, 1, le); // EV_CURRENT
  v.setUint32(24, o.entry, le);
  v.setUint32(28, 52, le); // e_phoff: right after this header
  v.setUint32(32, 0, le); // no section headers
  v.setUint32(36, src.flags, le);
  v.setUint16(40, 52, le); // e_ehsize
  v.setUint16(42, 32, le); // e_phentsize
  v.setUint16(44, 1, le); // e_phnum
  v.setUint16(46, 40, le); // e_shentsize
  const ph = 52;
  v.setUint32(ph, 1, le); // PT_LOAD
  v.setUint32(ph + 4, dataOffset, le);
  v.setUint32(ph + 8, o.loadAddress, le); // p_vaddr
  v.setUint32(ph + 12, o.loadAddress, le); // p_paddr: QEMU's malta loader maps kseg0 itself
  v.setUint32(ph + 16, o.data.length, le);
  v.setUint32(ph + 20, o.data.length, le);
  v.setUint32(ph + 24, 7, le); // RWX
  v.setUint32(ph + 28, 0x1000, le);
  out.set(o.data, dataOffset);
  return out;
}
