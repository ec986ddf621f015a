// Every input the fuzzer ever saved (test/data/fuzz/<area>/*.bin: a crash or a hang, since fixed) goes through
// its area again, in a worker under the same watchdog: it must neither crash nor hang now.

import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { AREA_NAMES } from "../../fuzz/areas/index.ts";
import { CASES_DIR, loadCases } from "../../fuzz/cases.ts";
import { fuzzArea } from "../../fuzz/runner.ts";

const cases = loadCases(fileURLToPath(CASES_DIR));

test("fuzz cases: every saved case belongs to an area and says what it found", () => {
  assert.ok(cases.length > 0, "no saved cases: the fixed crashes have lost their regression tests");
  for (const c of cases) {
    assert.ok(AREA_NAMES.includes(c.area), `${c.path}: no fuzz area "${c.area}"`);
    assert.match(c.note, /^(crash|hang) in fuzz area /, `${c.path}: its .txt does not say what happened`);
  }
});

for (const area of [...new Set(cases.map((c) => c.area))]) {
  const mine = cases.filter((c) => c.area === area);
  test(`fuzz cases: ${area}: ${mine.length} saved input${mine.length === 1 ? "" : "s"} run without a crash or a hang`, async () => {
    const r = await fuzzArea(area, { inputs: mine.length, seed: 0, hangMs: 5000, replay: mine.map((c) => c.input) });
    assert.equal(r.inputs, mine.length);
    const failures = r.findings.map((f) => `${mine[f.index]?.path ?? f.index}: ${f.kind}: ${f.error}`);
    assert.deepEqual(failures, []);
  });
}
