// bench/flash-recovery: seed 001's whole recovery on malta or virt-arm64 (dead board proved, programmer booted, backup
// to the lab, clone, erase + write + verify, the recovered board up with its own MAC) against a cold boot
// of the same router firmware from its flash, alternating, several runs; medians and the ratio. The
// recovery's stage timings are printed from its timeline, with the 10 s silence that proves the board
// dead shown apart (it is a deadline, not work).
// Usage: npm run bench:flash-recovery [-- RUNS] [--target malta-mipsel|virt-arm64]

import { join } from "node:path";
import { Fixtures } from "../harness/fixtures/fixtures.ts";
import { loadScenarios, runOne, type ScenarioResult } from "../harness/scenario/runner.ts";
import { projectRoot } from "../harness/paths.ts";
import { median, seconds } from "./stats.ts";
import { tempDir } from "../test/helpers.ts";

const argv = process.argv.slice(2);
const runs = Number(argv.find((a) => /^\d+$/.test(a)) ?? 3);
const target = argv.includes("--target") ? argv[argv.indexOf("--target") + 1]! : "malta-mipsel";
const dir = tempDir("bootlab-bench-recovery-");
const fixtures = new Fixtures();
const [recovery] = await loadScenarios([join(projectRoot, "scenarios/flash-recovery/recover-bricked.ts")]);
const [cold] = await loadScenarios([join(projectRoot, "bench/scenarios/router-cold-boot.ts")]);

async function once(s: NonNullable<typeof recovery>): Promise<ScenarioResult> {
  const r = await runOne(s, target, fixtures, join(dir.path, "out"), { snapshots: false });
  if (r.status !== "passed") throw new Error(r.failure?.report());
  return r;
}

const ms = (r: ScenarioResult) => r.steps.filter((s) => s.depth === 0).reduce((n, s) => n + (s.endMs! - s.startMs), 0);
const silence = (r: ScenarioResult) => r.steps.filter((s) => s.depth === 0 && /stays silent/.test(s.name)).reduce((n, s) => n + (s.endMs! - s.startMs), 0);

try {
  await once(cold!); // warms the caches (kernel, initramfs, images)
  await once(recovery!);
  const a: number[] = [], b: number[] = [], quiet: number[] = [];
  let last: ScenarioResult | undefined;
  for (let i = 0; i < runs; i++) {
    for (const which of i % 2 === 0 ? ["recovery", "cold"] : ["cold", "recovery"]) {
      const r = await once(which === "recovery" ? recovery! : cold!);
      if (which === "recovery") {
        a.push(ms(r));
        quiet.push(silence(r));
        last = r;
      } else b.push(ms(r));
    }
  }
  console.log(`bench/flash-recovery on ${target}, ${runs} runs each, alternating (medians of the scenarios' top-level steps)`);
  console.log(`  cold boot of the router firmware from flash   ${seconds(median(b))}`);
  console.log(`  whole recovery                                ${seconds(median(a))}   (of which the dead-board silence ${seconds(median(quiet))})`);
  console.log(`  ratio recovery / cold boot                    ${(median(a) / median(b)).toFixed(2)}   without the silence ${((median(a) - median(quiet)) / median(b)).toFixed(2)}`);
  console.log(`  stages of the last recovery: ${last!.summary}`);
} finally {
  dir.remove();
}
