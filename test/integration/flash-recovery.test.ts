// Seed 001 end to end on malta: the recovery, and the three ways it goes wrong, each with its expected
// result (scenarios/flash-recovery/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runScenarios } from "../../harness/scenario/runner.ts";
import { projectRoot } from "../../harness/paths.ts";
import { qemuProcesses, tempDir } from "../helpers.ts";

test("flash recovery (seed 001): recovered with its own MAC; a too-large image refused; a power cut survived by the backup; a clone without the factory patch reported as a duplicate MAC", async () => {
  const out = tempDir("bootlab-recovery-");
  try {
    const dir = join(projectRoot, "scenarios/flash-recovery");
    const results = await runScenarios({
      paths: ["recover-bricked.ts", "image-too-large.ts", "power-cut-mid-write.ts", "clone-without-factory.ts"].map((f) => join(dir, f)),
      targets: ["malta-mipsel"], outDir: out.path,
    });
    const by = new Map(results.map((r) => [r.id, r]));
    for (const r of results) assert.equal(r.status, "passed", r.failure?.report());
    const stepPassed = (id: string, name: string) => assert.ok(by.get(id)!.steps.some((s) => s.name === name && s.status === "passed"), `${id}: ${name}`);
    stepPassed("flash-recovery/recover-bricked", "bricked: stays silent for 10 s (nothing boots)");
    stepPassed("flash-recovery/recover-bricked", "the lab's DHCP log shows the recovered board's own MAC");
    stepPassed("flash-recovery/image-too-large", "flashcp refuses the 16 MiB image for the 4 MiB chip");
    stepPassed("flash-recovery/power-cut-mid-write", "bricked: stays silent for 10 s (nothing boots)");
    stepPassed("flash-recovery/power-cut-mid-write", "the recovered board comes up with its own MAC");
    stepPassed("flash-recovery/clone-without-factory", "the lab's switch reports the donor's MAC on two live ports");
    // The recovered board's own console: U-Boot from its flash, then the firmware reading its factory block.
    const art = by.get("flash-recovery/recover-bricked")!.artifacts;
    const log = readFileSync(join(art, "bricked.boot2", "console-ttyS0.log"), "utf8");
    assert.match(log, /U-Boot 2023\.01/);
    assert.match(log, /router: factory MAC 52:54:00:bb:00:02 serial BRICKED-0002/);
    const lanLog = JSON.parse(readFileSync(join(by.get("flash-recovery/clone-without-factory")!.artifacts, "lan-log.json"), "utf8"));
    assert.deepEqual(lanLog.duplicateMacs.map((d: { mac: string; ports: string[] }) => [d.mac, d.ports]), [["52:54:00:aa:00:01", ["bricked", "working"]]]);
    assert.deepEqual(qemuProcesses(out.path), []);
  } finally {
    out.remove();
  }
});
