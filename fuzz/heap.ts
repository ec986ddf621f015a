// Judges heap samples taken after full collections: after a warm-up (JIT code, caches, interned strings),
// a heap that only ever climbs — each third of the run higher than the one before, and by more than the
// limit in all — keeps something per input. Noise goes up and down; a leak does not come back down.

export interface HeapSample {
  inputs: number;
  bytes: number;
}

export interface HeapVerdict {
  /** Heap after the warm-up and at the end, in MiB. */
  startMb: number;
  endMb: number;
  /** Rise of the floor from the first third of the run to the last, in MiB. */
  growthMb: number;
  samples: number;
  growing: boolean;
  /** Why no judgement could be made, if so. */
  note?: string;
}

const MIB = 1024 * 1024;
export const DEFAULT_GROWTH_LIMIT_MB = 32;

export function judgeHeap(samples: readonly HeapSample[], limitMb = DEFAULT_GROWTH_LIMIT_MB): HeapVerdict {
  const mb = (b: number) => Math.round((b / MIB) * 10) / 10;
  if (samples.length === 0) return { startMb: 0, endMb: 0, growthMb: 0, samples: 0, growing: false, note: "no samples" };
  const warm = samples.slice(Math.max(1, Math.floor(samples.length / 5)));
  const base = { startMb: mb(warm[0]?.bytes ?? samples[0]!.bytes), endMb: mb(samples.at(-1)!.bytes), samples: samples.length };
  if (warm.length < 3) return { ...base, growthMb: 0, growing: false, note: "too few samples to judge" };
  const third = Math.floor(warm.length / 3);
  const floor = (from: number, to: number) => Math.min(...warm.slice(from, to).map((s) => s.bytes));
  const f1 = floor(0, third), f2 = floor(third, 2 * third), f3 = floor(2 * third, warm.length);
  const growthMb = mb(f3 - f1);
  return { ...base, growthMb, growing: f1 < f2 && f2 < f3 && growthMb > limitMb };
}
