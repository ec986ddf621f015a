// Mutations of record sequences (see ../records.ts): change one record with the mutations that know what a
// record is (a frame, a datagram, a message), or change the sequence itself — drop, repeat, reorder, split,
// merge, or borrow a record from another input — which is how a state machine meets events in random orders.

import type { MutationContext, Mutator } from "../area.ts";
import { decodeRecords, encodeRecords } from "../records.ts";
import { BYTE_MUTATORS } from "./bytes.ts";

export interface RecordMutatorOptions {
  /** Mutations of one record (the structure-aware ones for this area, and usually the byte-level ones). */
  inner: Mutator[];
  /** Leading records that stay where they are (a control record that configures the run). */
  fixed?: number;
  /** Mutations of a fixed record; default byte-level. */
  control?: Mutator[];
  /** Cap on the number of records an input may grow to. Default 64. */
  maxRecords?: number;
}

function rebuild(records: Uint8Array[]): Uint8Array {
  return encodeRecords(records);
}

/** Records of another input (not its fixed ones), so inner mutations splice like with like. */
function recordCorpus(ctx: MutationContext, fixed: number, fallback: Uint8Array): Uint8Array[] {
  const other = decodeRecords(ctx.rng.pick(ctx.corpus)).slice(fixed);
  return other.length ? other : [fallback];
}

export function recordMutators(o: RecordMutatorOptions): Mutator[] {
  const fixed = o.fixed ?? 0;
  const control = o.control ?? BYTE_MUTATORS;
  const maxRecords = o.maxRecords ?? 64;
  const movable = (rs: Uint8Array[]) => rs.length - fixed;
  return [
    {
      name: "record: mutate one",
      mutate(input, ctx) {
        const rs = decodeRecords(input);
        if (rs.length === 0) return rebuild([ctx.rng.bytes(ctx.rng.small(32))]);
        // The control record is one among many: touch it less often than the payload.
        const i = fixed > 0 && movable(rs) > 0 && ctx.rng.chance(0.85) ? fixed + ctx.rng.int(movable(rs)) : ctx.rng.int(rs.length);
        const m = ctx.rng.pick(i < fixed ? control : o.inner);
        rs[i] = m.mutate(rs[i]!, { rng: ctx.rng, corpus: i < fixed ? ctx.corpus : recordCorpus(ctx, fixed, rs[i]!) });
        return rebuild(rs);
      },
    },
    {
      name: "record: mutate several",
      mutate(input, ctx) {
        const rs = decodeRecords(input);
        if (movable(rs) <= 0) return input;
        const n = 2 + ctx.rng.small(6);
        for (let k = 0; k < n; k++) {
          const i = fixed + ctx.rng.int(movable(rs));
          rs[i] = ctx.rng.pick(o.inner).mutate(rs[i]!, { rng: ctx.rng, corpus: recordCorpus(ctx, fixed, rs[i]!) });
        }
        return rebuild(rs);
      },
    },
    {
      name: "record: drop",
      mutate(input, { rng }) {
        const rs = decodeRecords(input);
        if (movable(rs) <= 0) return input;
        const at = fixed + rng.int(movable(rs));
        rs.splice(at, 1 + rng.small(Math.min(4, rs.length - at - 1)));
        return rebuild(rs);
      },
    },
    {
      name: "record: repeat",
      mutate(input, { rng }) {
        const rs = decodeRecords(input);
        if (movable(rs) <= 0 || rs.length >= maxRecords) return input;
        const i = fixed + rng.int(movable(rs));
        const times = 1 + rng.small(Math.min(7, maxRecords - rs.length));
        const to = rng.chance(0.6) ? i + 1 : fixed + rng.int(movable(rs) + 1);
        rs.splice(to, 0, ...Array.from({ length: times }, () => rs[i]!));
        return rebuild(rs);
      },
    },
    {
      name: "record: swap",
      mutate(input, { rng }) {
        const rs = decodeRecords(input);
        if (movable(rs) < 2) return input;
        const a = fixed + rng.int(movable(rs));
        const b = rng.chance(0.5) ? Math.min(rs.length - 1, a + 1) : fixed + rng.int(movable(rs));
        [rs[a], rs[b]] = [rs[b]!, rs[a]!];
        return rebuild(rs);
      },
    },
    {
      name: "record: move",
      mutate(input, { rng }) {
        const rs = decodeRecords(input);
        if (movable(rs) < 2) return input;
        const [r] = rs.splice(fixed + rng.int(movable(rs)), 1);
        rs.splice(fixed + rng.int(movable(rs) + 1), 0, r!);
        return rebuild(rs);
      },
    },
    {
      name: "record: borrow from another input",
      mutate(input, ctx) {
        const rs = decodeRecords(input);
        if (rs.length >= maxRecords) return input;
        const from = recordCorpus(ctx, fixed, ctx.rng.bytes(4));
        const n = 1 + ctx.rng.small(Math.min(from.length, maxRecords - rs.length) - 1);
        const start = ctx.rng.int(from.length);
        rs.splice(Math.max(fixed, ctx.rng.int(rs.length + 1)), 0, ...from.slice(start, start + n));
        return rebuild(rs);
      },
    },
    {
      name: "record: split",
      mutate(input, { rng }) {
        const rs = decodeRecords(input);
        if (movable(rs) <= 0 || rs.length >= maxRecords) return input;
        const i = fixed + rng.int(movable(rs));
        const r = rs[i]!;
        const cut = rng.int(r.length + 1);
        rs.splice(i, 1, r.subarray(0, cut), r.subarray(cut));
        return rebuild(rs);
      },
    },
    {
      name: "record: merge",
      mutate(input, { rng }) {
        const rs = decodeRecords(input);
        if (movable(rs) < 2) return input;
        const i = fixed + rng.int(movable(rs) - 1);
        const merged = new Uint8Array(rs[i]!.length + rs[i + 1]!.length);
        merged.set(rs[i]!);
        merged.set(rs[i + 1]!, rs[i]!.length);
        rs.splice(i, 2, merged);
        return rebuild(rs);
      },
    },
  ];
}

/** Mutations of what follows a record's first `n` bytes (a direction or port tag), the tag kept. */
export function afterPrefix(n: number, mutators: Mutator[]): Mutator[] {
  return mutators.map((m) => ({
    name: m.name,
    mutate(input: Uint8Array, ctx: MutationContext) {
      const body = m.mutate(input.subarray(n), { rng: ctx.rng, corpus: ctx.corpus.map((c) => c.subarray(n)) });
      const out = new Uint8Array(Math.min(n, input.length) + body.length);
      out.set(input.subarray(0, n));
      out.set(body, Math.min(n, input.length));
      return out;
    },
  }));
}
