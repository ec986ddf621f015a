// The soak's arithmetic: per scenario × target × runtime, passes, failures by kind (a pair that left no
// timeline.json is a failure of its own kind), the spread of durations, and flakes — a pair that both
// passed and failed makes the soak exit 1; a pair red every time (and no flake) 3; all green 0.
import { test } from "node:test";
import assert from "node:assert/strict";
import { NO_RESULT, type SoakRun, median, soakExitCode, soakRows, soakTable, spread } from "../../harness/ci/soak.ts";
import type { TimelineSummary } from "../../harness/ci/shard.ts";

const tl = (scenario: string, target: string, durationMs: number, kind?: string): TimelineSummary => ({
  scenario, target, durationMs, file: `out/${scenario}/${target}/timeline.json`,
  status: kind ? "failed" : "passed", ...(kind ? { failure: { kind, message: `${kind} happened\nsecond line` } } : {}),
});
const expected = ["smoke/boot-to-shell malta-mipsel", "lan/cable malta-mipsel"];
const runOf = (iteration: number, runtime: string, timelines: TimelineSummary[], exitCode = 0): SoakRun =>
  ({ iteration, runtime, expected, timelines, exitCode, wallMs: 1000 });

test("soak: rows per scenario × target × runtime with passes, failures by kind and the duration spread", () => {
  const runs = [
    runOf(1, "node", [tl("smoke/boot-to-shell", "malta-mipsel", 6000), tl("lan/cable", "malta-mipsel", 20000)]),
    runOf(1, "deno", [tl("smoke/boot-to-shell", "malta-mipsel", 7000), tl("lan/cable", "malta-mipsel", 21000)]),
    runOf(2, "node", [tl("smoke/boot-to-shell", "malta-mipsel", 8000), tl("lan/cable", "malta-mipsel", 30000, "timeout")], 1),
    runOf(2, "deno", [tl("smoke/boot-to-shell", "malta-mipsel", 6500), tl("lan/cable", "malta-mipsel", 22000)]),
    runOf(3, "node", [tl("smoke/boot-to-shell", "malta-mipsel", 7000)], 3),
  ];
  const rows = soakRows(runs);
  assert.deepEqual(rows.map((r) => [r.scenario, r.target, r.runtime, r.runs, r.passes, r.flaky]), [
    ["smoke/boot-to-shell", "malta-mipsel", "node", 3, 3, false],
    ["lan/cable", "malta-mipsel", "node", 3, 1, true],
    ["smoke/boot-to-shell", "malta-mipsel", "deno", 2, 2, false],
    ["lan/cable", "malta-mipsel", "deno", 2, 2, false],
  ]);
  const cable = rows[1]!;
  assert.deepEqual(cable.failures, { timeout: 1, [NO_RESULT]: 1 });
  assert.deepEqual(cable.failureNotes, ["run 2: timeout: timeout happened", "run 3: no result: no timeline.json (the run exited 3)"]);
  assert.deepEqual(rows[0]!.durationsMs, [6000, 8000, 7000]);
  assert.equal(spread(rows[0]!.durationsMs), "6.0 / 7.0 / 8.0 s");
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(spread([]), "—");
  const table = soakTable(rows);
  assert.match(table, /⚠ lan\/cable +malta-mipsel +node +1\/3 +timeout 1, no result 1 +20\.0 \/ 25\.0 \/ 30\.0 s  FLAKY/);
  assert.match(table, /✔ smoke\/boot-to-shell +malta-mipsel +deno +2\/2 +— +6\.5 \/ 6\.8 \/ 7\.0 s\n/);
  assert.equal(soakExitCode(rows), 1, "a flake fails the soak");
});

test("soak: a pair red in every run is not a flake (exit 3); all green exits 0", () => {
  const red = soakRows([
    runOf(1, "node", [tl("smoke/boot-to-shell", "malta-mipsel", 6000), tl("lan/cable", "malta-mipsel", 9000, "product")], 1),
    runOf(2, "node", [tl("smoke/boot-to-shell", "malta-mipsel", 6000), tl("lan/cable", "malta-mipsel", 9000, "product")], 1),
  ]);
  assert.equal(red.some((r) => r.flaky), false);
  assert.equal(soakExitCode(red), 3);
  assert.match(soakTable(red), /✘ lan\/cable +malta-mipsel +node +0\/2 +product 2/);
  const green = soakRows([runOf(1, "node", [tl("smoke/boot-to-shell", "malta-mipsel", 6000), tl("lan/cable", "malta-mipsel", 9000)])]);
  assert.equal(soakExitCode(green), 0);
});
