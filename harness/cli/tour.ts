// `bootlab tour` (what `npm start` runs after the set-up): one scenario per seed flow, each on the target
// most like the hardware of its write-up (malta for the router seeds, the 32-bit ARM board for the
// STM32MP1), side by side on both cores, ending with the HTML report of the lot. A first run worth seeing.

import { join, resolve } from "node:path";
import { parseArgs } from "./args.ts";
import { runExitCode, runScenarios, type ScenarioResult } from "../scenario/runner.ts";
import { projectRoot } from "../paths.ts";
import { writeHtmlReport } from "../report/html.ts";
import { LiveProgress } from "./progress.ts";

/** The tour: seed, scenario, target, and why that target. */
export const TOUR = [
  { seed: "000", scenario: "netboot/tftp-to-ram", target: "malta-mipsel", why: "U-Boot TFTP into RAM on a MIPS router board" },
  { seed: "001", scenario: "flash-recovery/recover-bricked", target: "malta-mipsel", why: "a bricked router's SPI flash cloned by a working one" },
  { seed: "002", scenario: "netboot/bootp-bootstrap", target: "malta-mipsel", why: "a BOOTP + TFTP bootstrap loader" },
  { seed: "003", scenario: "factory-flash/blank-to-shell", target: "virt-armhf", why: "STM32MP1-style factory flashing (a Cortex-A7 board: 32-bit ARM)" },
  { seed: "004", scenario: "usbboot/usb-ext4", target: "malta-mipsel", why: "preinit kexecs a kernel from a USB stick, as on the seed's router" },
] as const;

export const TOUR_USAGE = `  bootlab tour [--jobs N] [--out DIR]   one scenario per seed flow on its most faithful target, side by side (npm start)
`;

export async function cmdTour(argv: string[], printResult: (r: ScenarioResult) => void): Promise<number> {
  const a = parseArgs(argv, { jobs: "value", out: "value" });
  const jobs = a.flags.jobs === undefined ? 2 : Number(a.flags.jobs);
  const outDir = resolve((a.flags.out as string | undefined) ?? "out");
  process.stdout.write("bootlab tour: the five boot flows bootlab was built for, each on the board most like its write-up's\n");
  for (const t of TOUR) process.stdout.write(`  seed ${t.seed}  ${t.scenario.padEnd(32)} on ${t.target.padEnd(13)} ${t.why}\n`);
  process.stdout.write("\n");
  const wanted = new Set(TOUR.map((t) => `${t.scenario} ${t.target}`));
  const progress = new LiveProgress(process.stdout);
  const results = await runScenarios({
    paths: TOUR.map((t) => join(projectRoot, "scenarios", `${t.scenario}.ts`)), outDir, jobs,
    onStart: (s, t) => progress.start(s.id, t),
    onStep: (s, t, r) => r.status === "running" && progress.step(s.id, t, r.name),
    onResult: (r) => progress.result(r.id, r.target, () => printResult(r)),
    pick: (pairs) => pairs.filter((p) => wanted.has(`${p.scenario.id} ${p.target}`)),
  });
  const passed = results.filter((r) => r.status === "passed").length;
  const report = join(outDir, "index.html");
  writeHtmlReport(report, results.map((r) => join(r.artifacts, "timeline.json")), { title: "bootlab tour" });
  process.stdout.write(`${passed} passed, ${results.length - passed} failed\nthe report: ${report}\n`);
  return runExitCode(results);
}
