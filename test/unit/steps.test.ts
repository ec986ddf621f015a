// The step timeline says how each step ended: a failed step is failed in the records and marked in the
// one-line summary; a step a run's end cut short (the scenario's deadline) is failed, never left running.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProductFailure } from "../../harness/errors/failures.ts";
import { Steps } from "../../harness/scenario/steps.ts";

test("steps: a failed step is failed in the records and marked ✘ in the summary; its parent fails with it", async () => {
  const steps = new Steps(performance.now());
  await steps.run("power on", async () => {});
  await assert.rejects(steps.run("boot", () => steps.run("kernel boots to the shell", async () => {
    throw new ProductFailure("Kernel panic - not syncing");
  })));
  const by = new Map(steps.records.map((r) => [r.name, r]));
  assert.equal(by.get("power on")!.status, "passed");
  assert.equal(by.get("kernel boots to the shell")!.status, "failed");
  assert.deepEqual(by.get("kernel boots to the shell")!.failure, { kind: "product", message: "Kernel panic - not syncing" });
  assert.equal(by.get("boot")!.status, "failed");
  assert.match(steps.summary(), /^power on 0\.\d s · ✘ boot 0\.\d s$/);
});

test("steps: steps still running when the run ends are cut short as failed, with the run's failure", async () => {
  const steps = new Steps(performance.now());
  void steps.run("wait for the shell", () => new Promise(() => {}));
  await steps.run("side step", async () => {});
  assert.equal(steps.current(), "wait for the shell");
  steps.cutShort({ kind: "timeout", message: "the scenario did not finish within 1 s" });
  const wait = steps.records.find((r) => r.name === "wait for the shell")!;
  assert.equal(wait.status, "failed");
  assert.deepEqual(wait.failure, { kind: "timeout", message: "the scenario did not finish within 1 s" });
  assert.ok(wait.endMs !== undefined);
  assert.equal(steps.current(), undefined);
  assert.match(steps.summary(), /^✘ wait for the shell 0\.\d s · side step 0\.\d s$/);
});
