// The event-loop watch: which ticks are stalls, and a run whose step holds the loop says so in its log.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LoopStalls } from "../../harness/lifecycle/loop-watch.ts";
import { runScenarios } from "../../harness/scenario/runner.ts";
import { projectRoot } from "../../harness/paths.ts";
import { tempDir } from "../helpers.ts";

test("loop watch: a tick later than its interval by the threshold or more is a stall of that lateness; on-time ticks are not", () => {
  const w = new LoopStalls({ intervalMs: 20, thresholdMs: 250 });
  assert.equal(w.tick(1000), undefined, "the first tick has nothing to compare with");
  assert.equal(w.tick(1020), undefined);
  assert.equal(w.tick(1290), 250, "20 ms due + 250 ms late");
  assert.equal(w.tick(1290 + 20 + 249), undefined, "249 ms late is under the threshold");
  assert.equal(w.tick(1559 + 20 + 900), 900);
});

test("loop watch: a step that computes 400 ms without yielding is named in the run log with how long it held the loop", async () => {
  const out = tempDir("bootlab-loop-watch-");
  try {
    const [r] = await runScenarios({ paths: [join(projectRoot, "test/scenarios/good/holds-event-loop.ts")], outDir: out.path });
    assert.equal(r!.status, "passed", r!.failure?.report());
    const log = readFileSync(join(r!.artifacts, "run.log"), "utf8");
    const m = /bootlab's event loop was held (\d+) ms during "compute without yielding"/.exec(log);
    assert.ok(m, log);
    assert.ok(Number(m[1]) >= 250 && Number(m[1]) < 2000, m[0]);
  } finally {
    out.remove();
  }
});
