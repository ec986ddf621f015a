// Makes input number i of an area: a corpus entry changed by a short stack of mutations, the area's own
// structure-aware ones most of the time; now and then a seed unchanged (the happy path must keep working) or
// plain random bytes (what no structure would ever make).

import type { Area, Mutator } from "./area.ts";
import { BYTE_MUTATORS, dictionaryWord } from "./mutators/bytes.ts";
import type { Rng } from "./prng.ts";

export const DEFAULT_MAX_BYTES = 16 * 1024;

export class InputMaker {
  readonly #area: Area;
  readonly #bytes: Mutator[];
  readonly maxBytes: number;

  constructor(area: Area) {
    this.#area = area;
    this.#bytes = area.dictionary?.length ? [...BYTE_MUTATORS, dictionaryWord(area.dictionary)] : BYTE_MUTATORS;
    this.maxBytes = area.maxBytes ?? DEFAULT_MAX_BYTES;
  }

  make(rng: Rng, corpus: readonly Uint8Array[]): Uint8Array {
    const r = rng.int(100);
    if (r < 3) return rng.pick(corpus).slice();
    if (r < 5) return rng.bytes(rng.small(Math.min(this.maxBytes, 4096)));
    let b = rng.pick(corpus);
    const rounds = 1 + rng.small(7);
    const own = this.#area.mutators;
    for (let i = 0; i < rounds; i++) {
      const m = own.length && rng.chance(0.8) ? rng.pick(own) : rng.pick(this.#bytes);
      b = m.mutate(b, { rng, corpus });
      // A copy, not a view: a view would keep a mutation's whole oversized result alive.
      if (b.length > this.maxBytes) b = b.slice(0, this.maxBytes);
    }
    // A mutation may hand back its input: never let the code under test hold a corpus entry itself.
    return b.slice();
  }
}
