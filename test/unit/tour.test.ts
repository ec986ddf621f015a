// npm start's tour names real scenarios on targets they declare, one per seed flow.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { TOUR } from "../../harness/cli/tour.ts";
import { loadScenarios, selectTargets } from "../../harness/scenario/runner.ts";
import { projectRoot } from "../../harness/paths.ts";

test("tour: one scenario per seed (000–004), each a shipped scenario that runs on the tour's target", async () => {
  assert.deepEqual(TOUR.map((t) => t.seed), ["000", "001", "002", "003", "004"]);
  const scenarios = await loadScenarios(TOUR.map((t) => join(projectRoot, "scenarios", `${t.scenario}.ts`)));
  for (const [i, t] of TOUR.entries()) {
    assert.equal(scenarios[i]!.id, t.scenario);
    assert.deepEqual(selectTargets(scenarios[i]!, [t.target]), [t.target], `${t.scenario} runs on ${t.target}`);
  }
});
