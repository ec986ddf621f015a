// Byte-level mutations, the ones every format gets: bit flips, byte sets, interesting values at any width and
// either byte order, small arithmetic, insert/delete/duplicate ranges, splicing two inputs, truncation.

import type { MutationContext, Mutator } from "../area.ts";
import type { Rng } from "../prng.ts";

export const INTERESTING_8 = [0, 1, 2, 0x0f, 0x10, 0x1f, 0x20, 0x3f, 0x40, 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff];
export const INTERESTING_16 = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x1ff, 0x200, 0x3ff, 0x400, 0x5b4, 0x5dc, 0x7fff, 0x8000, 0xfffe, 0xffff];
export const INTERESTING_32 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

function copy(b: Uint8Array): Uint8Array {
  return b.slice();
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), (at += p.length);
  return out;
}

/** Writes `value` as `width` bytes at `at`, big- or little-endian; bytes past the end are dropped. */
export function putUint(b: Uint8Array, at: number, width: number, value: number, bigEndian = true): void {
  for (let i = 0; i < width; i++) {
    const shift = 8 * (bigEndian ? width - 1 - i : i);
    if (at + i < b.length) b[at + i] = Math.floor(value / 2 ** shift) & 0xff;
  }
}

/** A value for a field of `width` bytes: interesting, near the input's length, or random. */
export function interestingValue(rng: Rng, width: 1 | 2 | 4, length: number): number {
  const r = rng.int(10);
  if (r < 2) return Math.max(0, length + rng.range(-4, 4)) % 2 ** (8 * width);
  if (r < 8) return rng.pick(width === 1 ? INTERESTING_8 : width === 2 ? INTERESTING_16 : INTERESTING_32);
  return rng.u32() % 2 ** (8 * width);
}

function position(rng: Rng, b: Uint8Array): number {
  return rng.int(b.length);
}

export const flipBit: Mutator = {
  name: "flip bit",
  mutate(input, { rng }) {
    if (input.length === 0) return rng.bytes(1);
    const b = copy(input);
    const n = 1 + rng.small(7);
    for (let i = 0; i < n; i++) {
      const at = position(rng, b);
      b[at] = b[at]! ^ (1 << rng.int(8));
    }
    return b;
  },
};

export const setByte: Mutator = {
  name: "set byte",
  mutate(input, { rng }) {
    if (input.length === 0) return rng.bytes(1);
    const b = copy(input);
    const n = 1 + rng.small(7);
    for (let i = 0; i < n; i++) b[position(rng, b)] = rng.chance(0.5) ? rng.pick(INTERESTING_8) : rng.int(256);
    return b;
  },
};

export const interesting: Mutator = {
  name: "interesting value",
  mutate(input, { rng }) {
    if (input.length === 0) return Uint8Array.of(rng.pick(INTERESTING_8));
    const b = copy(input);
    const width = rng.pick([1, 2, 2, 4] as const);
    putUint(b, position(rng, b), width, interestingValue(rng, width, b.length), rng.chance(0.7));
    return b;
  },
};

export const arithmetic: Mutator = {
  name: "add/subtract",
  mutate(input, { rng }) {
    if (input.length === 0) return rng.bytes(1);
    const b = copy(input);
    const width = rng.pick([1, 2, 4] as const);
    const at = position(rng, b);
    let v = 0;
    for (let i = 0; i < width; i++) v = v * 256 + (b[at + i] ?? 0);
    const delta = rng.range(1, 35) * (rng.chance(0.5) ? 1 : -1);
    putUint(b, at, width, (v + delta + 2 ** (8 * width)) % 2 ** (8 * width));
    return b;
  },
};

export const insertBytes: Mutator = {
  name: "insert bytes",
  mutate(input, { rng }) {
    const at = rng.int(input.length + 1);
    const n = 1 + rng.small(64);
    const fill = rng.chance(0.5) ? new Uint8Array(n).fill(rng.pick(INTERESTING_8)) : rng.bytes(n);
    return concat([input.subarray(0, at), fill, input.subarray(at)]);
  },
};

export const deleteRange: Mutator = {
  name: "delete range",
  mutate(input, { rng }) {
    if (input.length === 0) return input;
    const at = rng.int(input.length);
    const n = 1 + rng.small(input.length - at - 1);
    return concat([input.subarray(0, at), input.subarray(at + n)]);
  },
};

export const duplicateRange: Mutator = {
  name: "duplicate range",
  mutate(input, { rng }) {
    if (input.length === 0) return input;
    const from = rng.int(input.length);
    const n = 1 + rng.small(Math.min(256, input.length - from - 1));
    const times = 1 + rng.small(7);
    const at = rng.int(input.length + 1);
    const piece = input.subarray(from, from + n);
    return concat([input.subarray(0, at), ...Array.from({ length: times }, () => piece), input.subarray(at)]);
  },
};

export const overwriteRange: Mutator = {
  name: "copy range over another",
  mutate(input, { rng }) {
    if (input.length < 2) return input;
    const b = copy(input);
    const from = rng.int(b.length);
    const to = rng.int(b.length);
    const n = 1 + rng.small(b.length - Math.max(from, to) - 1);
    b.copyWithin(to, from, from + n);
    return b;
  },
};

export const truncate: Mutator = {
  name: "truncate",
  mutate(input, { rng }) {
    return input.subarray(0, rng.int(input.length + 1)).slice();
  },
};

export const splice: Mutator = {
  name: "splice with another input",
  mutate(input, { rng, corpus }) {
    const other = rng.pick(corpus);
    const a = rng.int(input.length + 1);
    const b = rng.int(other.length + 1);
    return concat([input.subarray(0, a), other.subarray(b)]);
  },
};

/** Inserts or overwrites with a word from the area's dictionary. */
export function dictionaryWord(words: readonly Uint8Array[]): Mutator {
  return {
    name: "dictionary word",
    mutate(input: Uint8Array, { rng }: MutationContext) {
      if (words.length === 0) return input;
      const w = rng.pick(words);
      const at = rng.int(input.length + 1);
      if (rng.chance(0.5)) return concat([input.subarray(0, at), w, input.subarray(at)]);
      const b = copy(input);
      b.set(w.subarray(0, Math.max(0, b.length - at)), at);
      return b;
    },
  };
}

export const BYTE_MUTATORS: Mutator[] = [
  flipBit, setByte, interesting, arithmetic, insertBytes, deleteRange, duplicateRange, overwriteRange, truncate, splice,
];
