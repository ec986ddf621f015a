// ELF to flat binary (harness/images/elf.ts), as for a MIPS kernel shipped as an ELF: ELF32 and ELF64, both
// byte orders, several PT_LOAD segments with gaps, .bss and empty ones. elfToBinary must never throw, and
// what it returns must be the segments' file bytes at their addresses, as a loader would place them.

import type { Area, Mutator } from "../area.ts";
import type { Rng } from "../prng.ts";
import { BYTE_MUTATORS, interestingValue } from "../mutators/bytes.ts";
import { elfToBinary } from "../../harness/images/elf.ts";

interface Segment {
  type: number;
  paddr: number;
  vaddr: number;
  data: Uint8Array;
  memsz: number;
}

/** A minimal ELF: header, program headers right after it, then each segment's bytes. */
function buildElf(is64: boolean, le: boolean, machine: number, entry: number, segs: Segment[]): Uint8Array {
  const eh = is64 ? 64 : 52, ph = is64 ? 56 : 32;
  let off = eh + ph * segs.length;
  const offsets = segs.map((s) => ((off += s.data.length), off - s.data.length));
  const b = new Uint8Array(off);
  const v = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1]);
  const word = (at: number, n: number) => (is64 ? v.setBigUint64(at, BigInt(n), le) : v.setUint32(at, n, le));
  v.setUint16(16, 2, le);
  v.setUint16(18, machine, le);
  v.setUint32(20, 1, le);
  word(24, entry);
  word(is64 ? 32 : 28, eh);
  v.setUint16(is64 ? 52 : 40, eh, le);
  v.setUint16(is64 ? 54 : 42, ph, le);
  v.setUint16(is64 ? 56 : 44, segs.length, le);
  segs.forEach((s, i) => {
    const o = eh + i * ph;
    v.setUint32(o, s.type, le);
    if (is64) {
      v.setUint32(o + 4, 7, le);
      word(o + 8, offsets[i]!), word(o + 16, s.vaddr), word(o + 24, s.paddr), word(o + 32, s.data.length), word(o + 40, s.memsz);
    } else {
      word(o + 4, offsets[i]!), word(o + 8, s.vaddr), word(o + 12, s.paddr), word(o + 16, s.data.length), word(o + 20, s.memsz), v.setUint32(o + 24, 7, le);
    }
    b.set(s.data, offsets[i]!);
  });
  return b;
}

interface Layout {
  is64: boolean;
  le: boolean;
  phoff: number;
  phentsize: number;
  phnum: number;
}

function layout(b: Uint8Array): Layout | undefined {
  if (b.length < 52 || (b[4] !== 1 && b[4] !== 2) || (b[5] !== 1 && b[5] !== 2)) return undefined;
  const is64 = b[4] === 2, le = b[5] === 1;
  if (b.length < (is64 ? 64 : 52)) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const phoff = is64 ? Number(v.getBigUint64(32, le)) : v.getUint32(28, le);
  return { is64, le, phoff, phentsize: v.getUint16(is64 ? 54 : 42, le), phnum: v.getUint16(is64 ? 56 : 44, le) };
}

function setField(b: Uint8Array, at: number, width: 2 | 4 | 8, value: bigint, le: boolean): void {
  if (at + width > b.length) return;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (width === 2) v.setUint16(at, Number(value & 0xffffn), le);
  else if (width === 4) v.setUint32(at, Number(value & 0xffffffffn), le);
  else v.setBigUint64(at, value & 0xffffffffffffffffn, le);
}

function wide(rng: Rng, fileLength: number): bigint {
  return rng.pick([0n, 1n, BigInt(fileLength), BigInt(fileLength) - 1n, BigInt(fileLength) + 1n, 0x80000000n, 0xffffffffn, 0x100000000n, 2n ** 53n, 2n ** 53n + 1n,
    2n ** 63n, 2n ** 64n - 1n, 0x80100000n, 256n * 1024n * 1024n, 256n * 1024n * 1024n + 1n, BigInt(interestingValue(rng, 4, fileLength))]);
}

const mutators: Mutator[] = [
  {
    name: "elf: header field",
    mutate(input, { rng }) {
      const l = layout(input);
      if (!l) return input;
      const b = input.slice();
      const w = l.is64 ? 8 : 4;
      const f = rng.pick([
        { at: 4, width: 1 }, { at: 5, width: 1 }, { at: 18, width: 2 }, { at: 24, width: w }, { at: l.is64 ? 32 : 28, width: w },
        { at: l.is64 ? 54 : 42, width: 2 }, { at: l.is64 ? 56 : 44, width: 2 },
      ] as const);
      if (f.width === 1) b[f.at] = rng.pick([0, 1, 2, 3, 255]);
      else setField(b, f.at, f.width, f.width === 2 ? BigInt(rng.pick([0, 1, 31, 32, 55, 56, 57, 0xffff, 0xfffe, l.phnum + 1])) : wide(rng, b.length), l.le);
      return b;
    },
  },
  {
    name: "elf: program header field",
    mutate(input, { rng }) {
      const l = layout(input);
      if (!l || l.phnum === 0) return input;
      const b = input.slice();
      const o = l.phoff + rng.int(Math.min(l.phnum, 64)) * l.phentsize;
      const w = l.is64 ? 8 : 4;
      // type, offset, vaddr, paddr, filesz, memsz
      const fields = l.is64 ? [0, 8, 16, 24, 32, 40] : [0, 4, 8, 12, 16, 20];
      const k = rng.int(fields.length);
      setField(b, o + fields[k]!, k === 0 ? 4 : w, k === 0 ? BigInt(rng.pick([0, 1, 1, 2, 6, 0x6474e551, 0x70000000])) : wide(rng, b.length), l.le);
      return b;
    },
  },
];

export function elfArea(): Area {
  const pat = (n: number, k: number) => Uint8Array.from({ length: n }, (_, i) => (i * k + 1) & 0xff);
  const seg = (paddr: number, n: number, memsz = n, type = 1, vaddr = paddr | 0x80000000): Segment => ({ type, paddr, vaddr, data: pat(n, paddr % 251 || 3), memsz });
  const seeds: Uint8Array[] = [];
  for (const is64 of [false, true]) {
    for (const le of [true, false]) {
      seeds.push(buildElf(is64, le, 8, 0x80100400, [seg(0x100000, 600, 900), seg(0x101000, 300), seg(0x102000, 0, 4096), seg(0, 20, 20, 4)]));
      seeds.push(buildElf(is64, le, 40, 0x8000, [seg(0x8000, 100, 100, 1, 0xc0008000), seg(0x8100, 50, 50, 1, 0xc0008100)]));
    }
  }
  seeds.push(buildElf(false, true, 8, 0x400000, [seg(0, 64, 64, 1, 0x400000), seg(0, 32, 32, 1, 0x401000)]));
  seeds.push(buildElf(true, true, 183, 0x40080000, [seg(0x40080000, 512, 512), seg(0x40000000, 16)]));
  return {
    name: "elf",
    corpus: () => seeds,
    mutators: [...mutators, ...mutators, ...mutators, ...BYTE_MUTATORS],
    maxBytes: 8192,
    expects: ["ok", "refused"],
    run(input) {
      const r = elfToBinary(input, { maxSize: 1 << 20 });
      if (typeof r === "string") return `refused:${r.replace(/\d+/g, "#").split(":")[0]}`;
      if (r.binary.length > 1 << 20) throw new Error(`ELF: a ${r.binary.length}-byte binary past the 1 MiB limit`);
      if (!Number.isSafeInteger(r.loadAddress) || !Number.isSafeInteger(r.entry)) throw new Error("ELF: addresses that are not exact numbers");
      return `ok:${r.bigEndian ? "big" : "little"}-endian`;
    },
  };
}
