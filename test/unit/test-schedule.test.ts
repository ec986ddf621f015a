// The suite's schedule (test/schedule.mjs): a test file that runs a scenario library or changes the process's
// environment runs alone, and every file that runs alone says why in the words of the rule that put it there.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../../harness/paths.ts";
import { ALONE, RUNS_ALONE_BECAUSE, testFiles } from "../schedule.mjs";

test("test schedule: exactly the files that run a library or change process.env run alone, each with its reasons", () => {
  const files = testFiles(projectRoot);
  const found = new Map<string, string[]>();
  for (const f of files) {
    // This file names the rules' patterns itself, so it is read without its own source.
    if (f === "test/unit/test-schedule.test.ts") continue;
    const src = readFileSync(join(projectRoot, f), "utf8");
    const why = RUNS_ALONE_BECAUSE.filter((r) => r.pattern.test(src)).map((r) => r.why);
    if (why.length) found.set(f, why);
  }
  assert.deepEqual([...found.keys()].sort(), [...ALONE.keys()].sort());
  for (const [f, why] of found) for (const w of why) assert.ok(ALONE.get(f)!.includes(w), `${f}: ${w}`);
  // Each rule has a file it applies to, so neither pattern has silently stopped matching.
  for (const r of RUNS_ALONE_BECAUSE) assert.ok([...found.values()].some((w) => w.includes(r.why)), r.why);
});
