// A short fuzz pass of every area (a fixed seed and a fixed number of inputs, so both runtimes see the same
// inputs): no crash, no hang, inputs ran, and each area reached the outcomes it names — the ones that show the
// mutations get past the first checks (decoded and refused, replies of each kind, transfers that finish).
// Then the runner itself, on areas with bugs planted on purpose: it must catch each kind.

import { test } from "node:test";
import assert from "node:assert/strict";
import { AREA_NAMES, AREAS } from "../../fuzz/areas/index.ts";
import { parseFuzzArgs } from "../../fuzz/cli.ts";
import { failed, findings, table } from "../../fuzz/report.ts";
import { fuzzArea } from "../../fuzz/runner.ts";

const SEED = 20240601;
const INPUTS = 3000;
const PLANTED = new URL("../../fuzz/self-check-areas.ts", import.meta.url).href;

test("fuzz: a short pass of every area finds no crash or hang and reaches the outcomes it names", async () => {
  assert.ok(AREA_NAMES.length >= 18, `only ${AREA_NAMES.length} areas`);
  const problems: string[] = [];
  for (const name of AREA_NAMES) {
    const r = await fuzzArea(name, { inputs: INPUTS, seconds: 20, seed: SEED });
    const area = await AREAS[name]!();
    await area.close?.();
    const reached = Object.keys(r.outcomes);
    const missing = area.expects.filter((e) => !reached.some((k) => k.startsWith(e)));
    if (r.crashes || r.hangs) problems.push(`${name}: ${r.crashes} crashes, ${r.hangs} hangs: ${r.findings.map((f) => f.error).join("; ")}`);
    if (r.inputs < INPUTS) problems.push(`${name}: ran ${r.inputs} of ${INPUTS} inputs`);
    if (missing.length) problems.push(`${name}: never reached ${missing.join(", ")} (reached: ${reached.slice(0, 12).join(", ")})`);
    if (r.heap.growing) problems.push(`${name}: heap grew ${r.heap.growthMb} MB`);
  }
  assert.deepEqual(problems, []);
});

test("fuzz: the runner reports a crash, and an error that escaped through a promise nobody awaited", async () => {
  const crash = await fuzzArea("planted-crash", { inputs: 2000, seed: 7, registry: PLANTED });
  assert.ok(crash.crashes > 0);
  assert.equal(crash.findings.length, 1, "one distinct crash, however many inputs hit it");
  assert.match(crash.findings[0]!.error, /^TypeError: /);
  assert.equal(crash.findings[0]!.input[0], 0x42, "the finding keeps the input that crashed");
  assert.equal(crash.inputs, 2000, "the run goes on after a crash");
  assert.ok(failed(crash), "a crash fails the run (exit status 1)");
  const row = table([crash]).split("\n")[1]!;
  assert.match(row, new RegExp(`^planted-crash +2,000 +[\\d,]+ +${crash.crashes} +0 `));
  assert.match(findings([crash]), /^CRASH planted-crash \(\d+ inputs, first #\d+\): TypeError/);

  const escaped = await fuzzArea("planted-escape", { inputs: 400, seed: 7, registry: PLANTED });
  assert.ok(escaped.crashes > 0);
  assert.match(escaped.findings[0]!.error, /nobody awaited this/);
  assert.equal(escaped.findings[0]!.input[0], 0x42, "the escaped error is blamed on the input that caused it");
});

test("fuzz: the runner kills a worker stuck in a synchronous loop, keeps the input, and carries on with the next", async () => {
  const r = await fuzzArea("planted-hang", { inputs: 1000, seed: 7, hangMs: 300, registry: PLANTED });
  assert.ok(r.hangs > 0);
  assert.equal(r.findings[0]!.kind, "hang");
  assert.equal(r.findings[0]!.input[0], 0x13, "the hang keeps the input that looped");
  assert.ok(r.workers > 1, "a new worker took over");
  assert.equal(r.inputs, 1000, "every input was run, the hung ones counted once");
});

test("fuzz: the runner sees a heap that grows with every input", async () => {
  const r = await fuzzArea("planted-leak", { inputs: 15_000, seed: 7, sampleMs: 25, growthLimitMb: 8, registry: PLANTED });
  assert.ok(r.heap.growing, `heap ${JSON.stringify(r.heap)}`);
  const flat = await fuzzArea("planted-crash", { inputs: 15_000, seed: 7, sampleMs: 25, growthLimitMb: 8, registry: PLANTED });
  assert.ok(!flat.heap.growing, `a flat heap judged growing: ${JSON.stringify(flat.heap)}`);
});

test("fuzz: the command line: a count, a seed, areas and seconds; unknown areas, options and counts are refused", () => {
  assert.deepEqual(parseFuzzArgs(["200", "--seed", "9", "--area", "tcp,dhcp", "--seconds", "2", "--no-save"]), {
    areas: ["tcp", "dhcp"], inputs: 200, seconds: 2, seed: 9, hangMs: undefined, list: false, outcomes: false, save: false,
  });
  assert.equal(parseFuzzArgs(["--seconds", "3"]).inputs, Infinity, "a time alone runs until the time is up");
  assert.equal(parseFuzzArgs([]).inputs, 10_000);
  assert.equal(parseFuzzArgs([]).seed, 1);
  assert.deepEqual(parseFuzzArgs([]).areas, AREA_NAMES);
  assert.throws(() => parseFuzzArgs(["--area", "tcp,nope"]), /no fuzz area nope/);
  assert.throws(() => parseFuzzArgs(["--bogus"]), /unknown option --bogus/);
  assert.throws(() => parseFuzzArgs(["0"]), /not a number/);
  assert.throws(() => parseFuzzArgs(["1", "2"]), /one count of inputs at most/);
});
