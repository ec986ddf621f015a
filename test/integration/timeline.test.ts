// The timeline of a real run with two boards side by side (issue 13 §1): board-b's scenario step fails
// while board-a is busy. timeline.json must blame board-b's step, quote board-b's console (the failure
// carried no tail of its own), keep each board's steps under its own parent, cut board-a's work short, and
// the HTML report made from it must mark that step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../../harness/paths.ts";
import { runScenarios } from "../../harness/scenario/runner.ts";
import { writeHtmlReport } from "../../harness/report/html.ts";
import type { StepRecord, Timeline } from "../../harness/timeline/model.ts";
import { qemuProcesses, tempDir } from "../helpers.ts";

test("timeline: two boards side by side, board-b's step fails — blamed on board-b's step with board-b's console; board-a cut short", async () => {
  const out = tempDir("bootlab-timeline-");
  try {
    const [r] = await runScenarios({ paths: [join(projectRoot, "test/scenarios/timeline/two-boards-one-fails.ts")], outDir: out.path, snapshots: false });
    assert.equal(r!.status, "failed");
    const t = JSON.parse(readFileSync(join(r!.artifacts, "timeline.json"), "utf8")) as Timeline;
    assert.equal(t.format, 2);
    const f = t.failure!;
    assert.equal(f.kind, "product");
    assert.equal(f.message, "board-b's check failed");
    assert.equal(f.board, "board-b");
    const failed = t.steps.find((s) => s.id === f.stepId)!;
    assert.equal(failed.name, "board-b works");
    assert.equal(failed.status, "failed");
    assert.equal(failed.cutShort, undefined, "it failed by itself");
    assert.ok(f.consoleTail!.some((l) => l.includes("board-b-was-here")), "board-b's console");
    assert.ok(!t.boards.find((b) => b.name === "board-a")!.console.some((l) => l.text.includes("board-b-was-here")));

    const byId = new Map(t.steps.map((s) => [s.id, s]));
    const topOf = (s: StepRecord): StepRecord => (s.parent === undefined ? s : topOf(byId.get(s.parent)!));
    for (const s of t.steps.filter((x) => x.board === "board-a" || x.board === "board-b")) {
      const top = topOf(s);
      if (top.board === undefined) assert.equal(top.name, `${s.board} works`, `${s.name} (${s.board}) nests under its own board's step`);
    }
    const aWorks = t.steps.find((s) => s.name === "board-a works")!;
    assert.equal(aWorks.status, "failed");
    assert.equal(aWorks.cutShort, true, "board-a's work was cut short by board-b's failure, not failed by itself");
    assert.ok(t.steps.every((s) => s.status !== "running" && s.endMs !== undefined));
    assert.deepEqual(t.boards.map((b) => b.name), ["board-a", "board-b"]);
    assert.ok(t.boards.every((b) => b.console.length > 20 && b.files.console && existsSync(join(r!.artifacts, b.files.console))));

    const html = join(out.path, "report.html");
    assert.equal(writeHtmlReport(html, [out.path]), 1);
    const page = readFileSync(html, "utf8");
    const marked = [...page.matchAll(/<g class="step [^"]*\bfailing\b[^"]*" data-step="(\d+)" data-board="([^"]+)"/g)];
    assert.deepEqual(marked.map((m) => [Number(m[1]), m[2]]), [[f.stepId, "board-b"]]);
    assert.deepEqual(qemuProcesses(out.path), []);
  } finally {
    out.remove();
  }
});
