// ELF to flat binary, like `objcopy -O binary`: what goes into a uImage when a kernel ships as an ELF
// (Debian's MIPS Malta vmlinuz). Pure: bytes in, bytes out; never throws on garbage.
//
// Works from the program headers, as a loader does: every PT_LOAD's file bytes (p_filesz > 0) are
// placed at its p_paddr, from the lowest p_paddr to the end of the highest segment's file data, gaps
// zero-filled; .bss (p_memsz beyond p_filesz) is not stored. objcopy works from the sections instead,
// which gives the same bytes for kernels and for linker-scripted images; it differs where a PT_LOAD
// also maps the ELF and program headers (ordinary user-space executables), which objcopy leaves out.

export interface ElfBinary {
  binary: Uint8Array;
  /** Where the first byte of `binary` belongs (the lowest PT_LOAD p_paddr). */
  loadAddress: number;
  /** e_entry as written, a virtual address. */
  entry: number;
  /** e_machine (8 = MIPS, 40 = ARM, 62 = x86-64, 183 = AArch64). */
  machine: number;
  /** e_flags: the ABI and ISA bits a loader checks (MIPS: EF_MIPS_ARCH, EF_MIPS_ABI_O32, …). */
  flags: number;
  /** EI_CLASS: 32 or 64. */
  bits: 32 | 64;
  bigEndian: boolean;
}

const PT_LOAD = 1;
const PN_XNUM = 0xffff;
/** A stray address in a damaged header would otherwise ask for gigabytes of zeroes. */
const DEFAULT_MAX_SIZE = 256 * 1024 * 1024;

interface Load {
  index: number;
  offset: bigint;
  vaddr: bigint;
  paddr: bigint;
  filesz: bigint;
  memsz: bigint;
}

export function elfToBinary(bytes: Uint8Array, opts: { maxSize?: number } = {}): ElfBinary | string {
  const maxSize = opts.maxSize ?? DEFAULT_MAX_SIZE;
  if (bytes.length < 16) return `too short for an ELF file: ${bytes.length} bytes`;
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    return "not an ELF file: bad magic";
  }
  const cls = bytes[4];
  if (cls !== 1 && cls !== 2) return `unknown ELF class ${cls}`;
  const is64 = cls === 2;
  const enc = bytes[5];
  if (enc !== 1 && enc !== 2) return `unknown ELF data encoding ${enc}`;
  const le = enc === 1;
  const ehsize = is64 ? 64 : 52;
  if (bytes.length < ehsize) return `too short for an ELF${is64 ? 64 : 32} header: ${bytes.length} bytes`;

  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number) => v.getUint16(o, le);
  const u32 = (o: number) => v.getUint32(o, le);
  // Addresses and offsets as bigint: ELF64 values need not fit a double.
  const word = (o: number) => (is64 ? v.getBigUint64(o, le) : BigInt(v.getUint32(o, le)));

  const machine = u16(18);
  const flags = u32(is64 ? 48 : 36);
  const entry = word(24);
  const phoff = word(is64 ? 32 : 28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  if (phnum === 0) return "no program headers";
  if (phnum === PN_XNUM) return "too many program headers (PN_XNUM) is not supported";
  if (phentsize < (is64 ? 56 : 32)) return `program header entries too small: ${phentsize} bytes`;
  if (phoff + BigInt(phnum * phentsize) > BigInt(bytes.length)) return "program headers run past the end of the file";

  const loads: Load[] = [];
  let allPaddrZero = true;
  let nonEmptyLoads = 0;
  for (let i = 0; i < phnum; i++) {
    const o = Number(phoff) + i * phentsize;
    const type = u32(o);
    const h: Load = is64
      ? { index: i, offset: word(o + 8), vaddr: word(o + 16), paddr: word(o + 24), filesz: word(o + 32), memsz: word(o + 40) }
      : { index: i, offset: word(o + 4), vaddr: word(o + 8), paddr: word(o + 12), filesz: word(o + 16), memsz: word(o + 20) };
    if (h.paddr !== 0n) allPaddrZero = false;
    if (type !== PT_LOAD) continue;
    if (h.memsz !== 0n) nonEmptyLoads++;
    if (h.filesz > 0n) loads.push(h);
  }
  if (loads.length === 0) return "no PT_LOAD segment with file data";
  // BFD's rule: some linkers leave every p_paddr zero; with several segments that would stack them all
  // at 0, so objcopy uses the virtual addresses instead.
  const useVaddr = allPaddrZero && nonEmptyLoads > 1;
  const at = (h: Load) => (useVaddr ? h.vaddr : h.paddr);

  let lo = at(loads[0]!);
  let hi = 0n;
  for (const h of loads) {
    if (h.offset + h.filesz > BigInt(bytes.length)) return `segment ${h.index}'s file data runs past the end of the file`;
    if (at(h) < lo) lo = at(h);
    if (at(h) + h.filesz > hi) hi = at(h) + h.filesz;
  }
  const span = hi - lo;
  if (span > BigInt(maxSize)) return `the segments span ${span} bytes, more than the ${maxSize} allowed`;
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  if (lo > max || entry > max) return "load address or entry point beyond 2^53, not representable as a number";

  const binary = new Uint8Array(Number(span));
  // In program header order, so a later segment wins where two overlap.
  for (const h of loads) {
    const off = Number(h.offset);
    binary.set(bytes.subarray(off, off + Number(h.filesz)), Number(at(h) - lo));
  }
  return { binary, loadAddress: Number(lo), entry: Number(entry), machine, flags, bits: is64 ? 64 : 32, bigEndian: !le };
}
