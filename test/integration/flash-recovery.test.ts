// Seed 001 end to end on malta (the clipped chip through block2mtd) and virt-arm64 (the board's second CFI
// chip, the router kernel built from Debian's source): the recovery, and the three ways it goes wrong,
// each with its expected result (scenarios/flash-recovery/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runScenarios, type ScenarioResult } from "../../harness/scenario/runner.ts";
import { projectRoot } from "../../harness/paths.ts";
import { libraryRun, qemuProcesses, SECOND_RUNTIME_PAIRS, secondRuntime, tempDir } from "../helpers.ts";

const CONSOLE = { "malta-mipsel": "ttyS0", "virt-arm64": "ttyAMA0" } as const;

test("flash recovery (seed 001): recovered with its own MAC; a too-large image refused; a power cut survived by the backup; a clone without the factory patch reported as a duplicate MAC", async () => {
  const out = tempDir("bootlab-recovery-");
  try {
    const dir = join(projectRoot, "scenarios/flash-recovery");
    const results = await runScenarios({
      paths: ["recover-bricked.ts", "image-too-large.ts", "power-cut-mid-write.ts", "clone-without-factory.ts"].map((f) => join(dir, f)),
      targets: Object.keys(CONSOLE), outDir: out.path, ...libraryRun("flash-recovery"),
    });
    assert.equal(results.length, secondRuntime ? SECOND_RUNTIME_PAIRS["flash-recovery"]!.length : 8);
    assert.equal(new Set(results.map((r) => r.target)).size, 2, "both targets ran");
    for (const r of results) assert.equal(r.status, "passed", `${r.id} on ${r.target}:\n${r.failure?.report()}`);
    const stepPassed = (r: ScenarioResult, name: string) => assert.ok(r.steps.some((s) => s.name === name && s.status === "passed"), `${r.id} on ${r.target}: ${name}`);
    for (const r of results) {
      const tty = CONSOLE[r.target as keyof typeof CONSOLE];
      if (r.id === "flash-recovery/recover-bricked") {
        stepPassed(r, "bricked: stays silent for 3 s (nothing boots)");
        stepPassed(r, "the lab's DHCP log shows the recovered board's own MAC");
        stepPassed(r, r.target === "malta-mipsel"
          ? `the kernel truncates the 16 MiB "attached" partition to the 4 MiB chip, as in the seed`
          : `the kernel truncates the 256 MiB "attached" partition to the 64 MiB chip, as in the seed`);
        // The recovered board's own console: U-Boot from its flash, then the firmware reading its factory block.
        const log = readFileSync(join(r.artifacts, "bricked.boot2", `console-${tty}.log`), "utf8");
        assert.match(log, /U-Boot 2023\.01/);
        assert.match(log, /router: factory MAC 52:54:00:bb:00:02 serial BRICKED-0002/);
      }
      if (r.id === "flash-recovery/image-too-large") {
        stepPassed(r, r.target === "malta-mipsel" ? "flashcp refuses the 16 MiB image for the 4 MiB chip" : "flashcp refuses the 80 MiB image for the 64 MiB chip");
      }
      if (r.id === "flash-recovery/power-cut-mid-write") {
        stepPassed(r, "bricked: stays silent for 3 s (nothing boots)");
        stepPassed(r, "the recovered board comes up with its own MAC");
      }
      if (r.id === "flash-recovery/clone-without-factory") {
        stepPassed(r, "the lab's switch reports the donor's MAC on two live ports");
        const lanLog = JSON.parse(readFileSync(join(r.artifacts, "lan-log.json"), "utf8"));
        assert.deepEqual(lanLog.duplicateMacs.map((d: { mac: string; ports: string[] }) => [d.mac, d.ports]), [["52:54:00:aa:00:01", ["bricked", "working"]]]);
      }
    }
    assert.deepEqual(qemuProcesses(out.path), []);
  } finally {
    out.remove();
  }
});
