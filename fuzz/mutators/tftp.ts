// Structure-aware mutations of TFTP datagrams: the opcode, block numbers around the 16-bit wrap, DATA sizes
// around blksize, and the NUL-terminated fields of requests and OACKs — file names that climb out of the root,
// modes, RFC 2347/2348/2349/7440 option names with values just inside and outside their ranges, a missing
// final NUL, invalid UTF-8.

import type { Mutator } from "../area.ts";
import type { Rng } from "../prng.ts";
import { concat } from "./bytes.ts";

const enc = new TextEncoder();

const FIELD_WORDS = [
  "octet", "netascii", "mail", "OCTET", "binary", "blksize", "tsize", "timeout", "windowsize", "BlkSize", "multicast", "utimeout",
  "small.bin", "kernel", "../etc/passwd", "/small.bin", "a/../../b", "", ".", "//", "dir/", "boot.scr", "missing.bin",
  "0", "1", "7", "8", "255", "256", "512", "1428", "1468", "1469", "65464", "65465", "65535", "65536", "4294967296", "99999999999",
  "-1", "1e3", "0x10", "enable", " 512", "512 ",
];
const WEIRD = [Uint8Array.of(0xff), Uint8Array.of(0xc3), Uint8Array.of(0xe2, 0x82), new Uint8Array(0)];

function fields(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 2;
  for (let i = 2; i < b.length; i++) if (b[i] === 0) out.push(b.subarray(start, i)), (start = i + 1);
  if (start < b.length) out.push(b.subarray(start));
  return out;
}

function joinFields(op: Uint8Array, fs: Uint8Array[], finalNul: boolean): Uint8Array {
  const parts: Uint8Array[] = [op];
  fs.forEach((f, i) => {
    parts.push(f);
    if (i < fs.length - 1 || finalNul) parts.push(new Uint8Array(1));
  });
  return concat(parts);
}

function word(rng: Rng): Uint8Array {
  return rng.chance(0.9) ? enc.encode(rng.pick(FIELD_WORDS)) : rng.pick(WEIRD);
}

export const TFTP_MUTATORS: Mutator[] = [
  {
    name: "tftp: opcode",
    mutate(input, { rng }) {
      const b = input.length >= 2 ? input.slice() : new Uint8Array(2);
      const op = rng.pick([1, 2, 3, 4, 5, 6, 0, 7, 0x0100, 0xffff]);
      b[0] = op >> 8;
      b[1] = op & 0xff;
      return b;
    },
  },
  {
    name: "tftp: block number",
    mutate(input, { rng }) {
      const b = input.length >= 4 ? input.slice() : concat([input, new Uint8Array(4 - input.length)]);
      const cur = (b[2]! << 8) | b[3]!;
      const n = rng.pick([0, 1, 2, 0xfffe, 0xffff, 0x8000, cur + 1, cur - 1, cur + 2, cur + 64, rng.int(0x10000)]) & 0xffff;
      b[2] = n >> 8;
      b[3] = n & 0xff;
      return b;
    },
  },
  {
    name: "tftp: data size",
    mutate(input, { rng }) {
      const n = rng.pick([0, 1, 7, 8, 511, 512, 513, 1427, 1428, 1467, 1468, 1469, 4096]);
      const head = input.subarray(0, 4);
      return concat([head, new Uint8Array(n).fill(rng.int(256))]);
    },
  },
  {
    name: "tftp: request field",
    mutate(input, { rng }) {
      if (input.length < 2) return input;
      const fs = fields(input);
      const finalNul = input[input.length - 1] === 0;
      switch (rng.int(5)) {
        case 0:
          if (fs.length) fs[rng.int(fs.length)] = word(rng);
          else fs.push(word(rng));
          break;
        case 1:
          fs.splice(rng.int(fs.length + 1), 0, word(rng), word(rng));
          break;
        case 2:
          if (fs.length) fs.splice(rng.int(fs.length), 1);
          break;
        case 3: {
          // Options repeated, in another case: RFC 2347 names are case-insensitive, the first one counts.
          const name = enc.encode(rng.pick(["blksize", "BLKSIZE", "tsize", "timeout", "windowsize"]));
          fs.push(name, word(rng), name, word(rng));
          break;
        }
        default:
          return joinFields(input.subarray(0, 2), fs, !finalNul);
      }
      return joinFields(input.subarray(0, 2), fs, rng.chance(0.9) ? true : !finalNul);
    },
  },
  {
    name: "tftp: trailing NUL padding",
    mutate(input, { rng }) {
      return concat([input, new Uint8Array(1 + rng.small(16))]);
    },
  },
];
