// bench/factory-flash: seed 003's whole flow on one target — blank storage, the flashing session through the
// boot ROM's USB download (the seed's flash.tsv: sdcard.img as a RawImage), then the board booted from its
// storage to a shell — against a direct boot of the same Debian kernel to a shell (-kernel/-initrd),
// alternating, several runs; medians, the ratio, and the download and write time of each partition.
// Usage: npm run bench:factory-flash [-- RUNS] [--target virt-armhf|virt-arm64]

import { join } from "node:path";
import { Fixtures } from "../harness/fixtures/fixtures.ts";
import { loadScenarios, runOne, type ScenarioResult } from "../harness/scenario/runner.ts";
import { projectRoot } from "../harness/paths.ts";
import { median, seconds } from "./stats.ts";
import { tempDir } from "../test/helpers.ts";

const argv = process.argv.slice(2);
const runs = Number(argv.find((a) => /^\d+$/.test(a)) ?? 3);
const target = argv.includes("--target") ? argv[argv.indexOf("--target") + 1]! : "virt-armhf";
const dir = tempDir("bootlab-bench-factory-");
const fixtures = new Fixtures();
const [flow] = await loadScenarios([join(projectRoot, "scenarios/factory-flash/blank-to-shell.ts")]);
const [direct] = await loadScenarios([join(projectRoot, "bench/scenarios/direct-boot.ts")]);

async function once(s: NonNullable<typeof flow>): Promise<ScenarioResult> {
  const r = await runOne(s, target, fixtures, join(dir.path, "out"), { snapshots: false });
  if (r.status !== "passed") throw new Error(r.failure?.report());
  return r;
}

const top = (r: ScenarioResult) => r.steps.filter((s) => s.depth === 0);
const ms = (r: ScenarioResult) => top(r).reduce((n, s) => n + (s.endMs! - s.startMs), 0);
const topMs = (r: ScenarioResult, re: RegExp) => top(r).filter((s) => re.test(s.name)).reduce((n, s) => n + (s.endMs! - s.startMs), 0);
const stepMs = (r: ScenarioResult, re: RegExp) => r.steps.filter((s) => re.test(s.name)).reduce((n, s) => n + (s.endMs! - s.startMs), 0);

try {
  await once(direct!); // warms the caches (kernel, initramfs)
  await once(flow!);
  const a: number[] = [], b: number[] = [], flashing: number[] = [], download: number[] = [], write: number[] = [], storageBoot: number[] = [];
  for (let i = 0; i < runs; i++) {
    for (const which of i % 2 === 0 ? ["flow", "direct"] : ["direct", "flow"]) {
      const r = await once(which === "flow" ? flow! : direct!);
      if (which === "direct") {
        b.push(ms(r));
        continue;
      }
      a.push(ms(r));
      flashing.push(topMs(r, /^(power on flashing|flashing: )/));
      download.push(stepMs(r, /^flashing: U-Boot: download /));
      write.push(stepMs(r, /^flashing: U-Boot: (write|read|CRC-32) /));
      storageBoot.push(ms(r) - flashing.at(-1)! - topMs(r, /^build the release/));
    }
  }
  console.log(`bench/factory-flash on ${target}, ${runs} runs each, alternating (medians of the scenarios' top-level steps)`);
  console.log(`  direct boot of the same kernel to a shell       ${seconds(median(b))}`);
  console.log(`  blank storage → flashed → shell from storage    ${seconds(median(a))}`);
  console.log(`    flashing session (ROM download → last CRC)    ${seconds(median(flashing))}   of which TFTP download ${seconds(median(download))}, write + read back + CRC ${seconds(median(write))}`);
  console.log(`    boot from storage (ROM → distro boot → shell) ${seconds(median(storageBoot))}`);
  console.log(`  ratio whole flow / direct boot                  ${(median(a) / median(b)).toFixed(2)}   storage boot alone / direct boot ${(median(storageBoot) / median(b)).toFixed(2)}`);
} finally {
  dir.remove();
}
