// The runner's table: per area the inputs, their rate, crashes, hangs, the heap from after the warm-up to the
// end with its verdict, and the slowest input; then each distinct failure with where its input was saved.

import type { AreaResult } from "./runner.ts";

const num = (n: number) => Math.round(n).toLocaleString("en-US");

export function rate(r: AreaResult): number {
  return r.fuzzingMs > 0 ? (r.inputs * 1000) / r.fuzzingMs : 0;
}

export function heapText(r: AreaResult): string {
  const h = r.heap;
  const verdict = h.growing ? "GROWING" : h.note ? "n/a" : "flat";
  return `${h.startMb.toFixed(1)} → ${h.endMb.toFixed(1)} MB (floor ${h.growthMb >= 0 ? "+" : ""}${h.growthMb.toFixed(1)}) ${verdict}`;
}

export function failed(r: AreaResult): boolean {
  return r.crashes > 0 || r.hangs > 0 || r.heap.growing;
}

/** One area as it finishes. */
export function line(r: AreaResult): string {
  return `${r.area}: ${num(r.inputs)} inputs, ${num(rate(r))}/s, ${r.crashes} crashes, ${r.hangs} hangs, heap ${heapText(r)}, ` +
    `slowest ${r.slowestMs.toFixed(1)} ms (input ${r.slowestIndex})`;
}

export function table(results: AreaResult[]): string {
  const head = ["area", "inputs", "inputs/s", "crashes", "hangs", "heap after warm-up → end", "slowest"];
  const rows = results.map((r) => [
    r.area, num(r.inputs), num(rate(r)), String(r.crashes), String(r.hangs), heapText(r), `${r.slowestMs.toFixed(1)} ms`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const right = new Set([1, 2, 3, 4, 6]);
  const line = (cells: string[]) => cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(head), ...rows.map(line)].join("\n");
}

export function findings(results: AreaResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    for (const f of r.findings) {
      out.push(`${f.kind.toUpperCase()} ${r.area} (${f.count} input${f.count === 1 ? "" : "s"}, first #${f.index}): ${f.error}`);
      if (f.saved) out.push(`  saved: ${f.saved}`);
      const frame = f.stack.split("\n").find((l) => /^\s+at /.test(l));
      if (frame) out.push(`  ${frame.trim()}`);
    }
    if (r.heap.growing) out.push(`LEAK ${r.area}: the heap floor rose ${r.heap.growthMb} MB over the run, in every third`);
  }
  return out.join("\n");
}

export function outcomes(r: AreaResult): string {
  const byKind = new Map<string, number>();
  for (const [k, v] of Object.entries(r.outcomes)) {
    const kind = k.split(":")[0]!;
    byKind.set(kind, (byKind.get(kind) ?? 0) + v);
  }
  const kinds = [...byKind].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${num(v)}`).join(", ");
  return `${r.area}: ${Object.keys(r.outcomes).length} distinct outcomes (${kinds}); corpus ${r.corpus}`;
}
