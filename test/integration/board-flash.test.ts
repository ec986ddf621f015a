// Boards that power on from their own flash (seed 001's machine model), on every target: U-Boot from a
// working flash with nothing given by the lab, a dead board from an interrupted bootloader write, kept
// media that come back byte for byte, and one chip in one running board.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { runScenarios } from "../../harness/scenario/runner.ts";
import { ProductFailure } from "../../harness/errors/failures.ts";
import { projectRoot } from "../../harness/paths.ts";
import { qemuProcesses, tempDir } from "../helpers.ts";

test("board flash: every target starts U-Boot from its own flash, stays dead on a half-written one, and keeps the flash across boots", async () => {
  const out = tempDir("bootlab-flash-it-");
  try {
    // One pair at a time: this file shares the machine with another test file (test/schedule.mjs).
    const results = await runScenarios({ paths: [join(projectRoot, "scenarios/flash-recovery/board-flash.ts")], targets: "all", outDir: out.path, jobs: 1 });
    assert.equal(results.length, 3);
    for (const r of results) {
      assert.equal(r.status, "passed", r.failure?.report());
      assert.ok(r.steps.some((s) => s.name === "bricked: stays silent for 3 s (nothing boots)" && s.status === "passed"), r.target);
      assert.ok(r.steps.some((s) => s.name === "a second board cannot hold the same flash chip" && s.status === "passed"), r.target);
    }
    assert.deepEqual(qemuProcesses(out.path), []);
  } finally {
    out.remove();
  }
});

test("board flash: waiting for U-Boot on a bricked board is a product failure that says nothing boots, in its own step", async () => {
  const out = tempDir("bootlab-flash-dead-");
  try {
    const [r] = await runScenarios({ paths: [join(projectRoot, "test/scenarios/failing/bricked-flash.ts")], outDir: out.path });
    assert.equal(r!.status, "failed");
    assert.ok(r!.failure instanceof ProductFailure, r!.failure?.report());
    assert.equal(r!.failure!.message, "no output from virt-arm64 within 3 s of power-on: nothing boots from its flash");
    assert.equal(r!.failure!.context.step, "first console output after power-on");
  } finally {
    out.remove();
  }
});
