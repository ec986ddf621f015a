// The soak runner end to end, on a planted flake that boots nothing: two runs of a scenario that passes
// once and fails once are one flaky pair, read from the runs' timeline.json files — the table says FLAKY,
// soak.json has the row, the exit status is 1. The bootlab runs use the runtime of this test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../../harness/paths.ts";
import { tempDir } from "../helpers.ts";

test("soak: a pair that passed and failed is a flake: FLAKY in the table and soak.json, exit 1", () => {
  const d = tempDir();
  try {
    const runtime = "Deno" in globalThis ? "deno" : "node";
    const node = "Deno" in globalThis ? "node" : process.execPath;
    const r = spawnSync(node, ["--import", "tsx", join(projectRoot, "scripts/soak.ts"), "2", "--runtime", runtime, "--out", join(d.path, "soak"), "--",
      "test/scenarios/soak/flaky.ts"], {
      cwd: projectRoot, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", BOOTLAB_SOAK_COUNTER: join(d.path, "counter") },
    });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /run 1\/2 \w+ *: 1 passed, 0 failed, exit 0/);
    assert.match(r.stdout, /run 2\/2 \w+ *: 0 passed, 1 failed, exit 1/);
    assert.match(r.stdout, new RegExp(`⚠ test/scenarios/soak/flaky +malta-mipsel +${runtime} +1/2 +product 1 .*FLAKY`));
    assert.match(r.stdout, /run 2: product: run 2: the planted flake fails/);
    const soak = JSON.parse(readFileSync(join(d.path, "soak", "soak.json"), "utf8")) as { rows: { flaky: boolean; passes: number; runs: number }[] };
    assert.deepEqual(soak.rows.map((x) => [x.flaky, x.passes, x.runs]), [[true, 1, 2]]);
  } finally {
    d.remove();
  }
});
