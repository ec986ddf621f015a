// bench/snapshot: per target, a cold boot to a ready shell vs a restore of the same machine from its
// snapshot, alternating, several runs, median ratio restore / cold (goal ≤ 0.1). Then the whole shipped
// scenario library's wall time without and with snapshots (after one warming run), at --jobs 1 and 2.
// Usage: npm run bench:snapshot [-- RUNS] [--no-library] [--library-only]   (BENCH_TARGETS=… to choose targets)
// The library is scenarios/smoke and scenarios/lan (the netboot library boots through U-Boot, which no
// snapshot point shortens yet, so it would add the same time to both sides).

import { join } from "node:path";
import { Fixtures } from "../harness/fixtures/fixtures.ts";
import { loadScenarios, runOne, runScenarios } from "../harness/scenario/runner.ts";
import { projectRoot } from "../harness/paths.ts";
import { median, seconds } from "./stats.ts";
import { tempDir } from "../test/helpers.ts";

const args = process.argv.slice(2);
const runs = Number(args.find((a) => /^\d+$/.test(a)) ?? 5);
const dir = tempDir("bootlab-bench-snapshot-");
// A cache of the bench's own, so the figures do not depend on what earlier runs left.
process.env.BOOTLAB_SNAPSHOT_CACHE = join(dir.path, "snapshots");
const [s] = await loadScenarios([join(projectRoot, "bench/scenarios/shell-snapshot.ts")]);
const fixtures = new Fixtures();
const only = process.env.BENCH_TARGETS?.split(",");
const targets = s!.targets.filter((t) => !only || only.includes(t.name));

/** Power-on to the shell answering a command, from the run's own timeline. */
async function once(target: string, snapshots: boolean): Promise<{ ms: number; restored: boolean }> {
  const r = await runOne(s!, target, fixtures, join(dir.path, "out"), { snapshots });
  if (r.status !== "passed") throw new Error(r.failure?.report());
  const on = r.steps.find((x) => x.name.startsWith("power on"))!;
  const ready = r.steps.find((x) => x.name === "shell answers a command")!;
  return { ms: ready.endMs! - on.startMs, restored: !r.steps.some((x) => x.name.startsWith("prepare snapshot point")) };
}

console.log(`bench/snapshot: power-on → shell answers a command; cold boot vs restore, ${runs} runs each, alternating`);
for (const t of args.includes("--library-only") ? [] : targets) {
  await once(t.name, true); // saves the snapshot (where the target allows it)
  const cold: number[] = [], warm: number[] = [];
  let restoredAll = true;
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? [false, true] : [true, false];
    for (const snap of order) {
      const r = await once(t.name, snap);
      (snap ? warm : cold).push(r.ms);
      if (snap && !r.restored) restoredAll = false;
    }
  }
  const c = median(cold), w = median(warm);
  console.log(`${t.name.padEnd(13)} cold ${seconds(c)}   restore ${seconds(w)}   ratio ${(w / c).toFixed(3)}` +
    (restoredAll ? "" : `   (not restored: ${t.machine.snapshots?.why ?? "see run.log"})`));
}

if (!args.includes("--no-library")) {
  const library = ["smoke", "lan"].map((d) => join(projectRoot, "scenarios", d));
  const wall = async (snapshots: boolean, jobs: number) => {
    const t0 = performance.now();
    const rs = await runScenarios({ paths: library, outDir: join(dir.path, "lib"), snapshots, jobs });
    const failed = rs.filter((r) => r.status !== "passed");
    if (failed.length) throw new Error(failed.map((r) => `${r.id}@${r.target}: ${r.failure?.report()}`).join("\n"));
    return { ms: performance.now() - t0, n: rs.length };
  };
  await wall(true, 1); // warms the snapshot cache
  for (const jobs of [1, 2]) {
    const off = await wall(false, jobs), on = await wall(true, jobs);
    console.log(`library (${off.n} runs) --jobs ${jobs}: without snapshots ${seconds(off.ms)}   with ${seconds(on.ms)}   ratio ${(on.ms / off.ms).toFixed(2)}`);
  }
}
dir.remove();
