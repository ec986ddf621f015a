import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadScenarios, runScenarios } from "../../harness/scenario/runner.ts";
import { ScenarioError } from "../../harness/errors/failures.ts";
import { tempDir } from "../helpers.ts";

const here = new URL(".", import.meta.url).pathname;
const malformed = join(here, "../scenarios/malformed");
const good = join(here, "../scenarios/good");

test("scenarios: every malformed file is reported at once, each with its file and field", async () => {
  await assert.rejects(loadScenarios([malformed]), (e: unknown) => {
    assert.ok(e instanceof ScenarioError);
    const m = e.message;
    assert.match(m, /no-default-export\.ts: the default export is not a scenario/);
    assert.match(m, /body-not-function\.ts: the scenario body is not a function/);
    assert.match(m, /throws-on-import\.ts: cannot be loaded: this module is broken/);
    assert.match(m, /bad-header\.ts: invalid scenario header/);
    assert.match(m, /field header\.name: expected a non-empty string, got ""/);
    assert.match(m, /field header\.targets: unknown target "pdp-11"; expected one of: malta-mipsel, virt-arm64, virt-armhf/);
    assert.match(m, /field header\.timeouts\.bootSeconds: expected a number ≥ 1 and ≤ 3600 \(seconds\), got -5/);
    assert.match(m, /field header\.timeouts\.stepseconds: unknown field/);
    assert.match(m, /field header\.timeout: unknown field/);
    assert.match(m, /bad-expect-failure\.ts: .*field header\.expectFailure\.kind: expected one of "product", "scenario", "infrastructure", "timeout", got "crash"/s);
    assert.match(m, /field header\.expectFailure\.message: expected a non-empty string/);
    return true;
  });
});

test("scenarios: a malformed file stops the whole run before any machine starts", async () => {
  const out = tempDir();
  try {
    await assert.rejects(runScenarios({ paths: [good, join(malformed, "bad-header.ts")], outDir: out.path }), ScenarioError);
    assert.equal(existsSync(join(out.path, "never-boots")), false);
  } finally {
    out.remove();
  }
});

test("scenarios: a missing path and an unknown --target are scenario errors that name them", async () => {
  await assert.rejects(loadScenarios(["scenarios/nope"]), /scenarios\/nope: no such file or folder/);
  await assert.rejects(runScenarios({ paths: [good], targets: ["vax"] }), /--target vax: no scenario in this run has that target/);
});
