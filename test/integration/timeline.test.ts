// The timeline of a real run with two boards side by side (issue 13 §1): board-b's scenario step fails
// while board-a is busy. timeline.json must blame board-b's step, quote board-b's console (the failure
// carried no tail of its own), keep each board's steps under its own parent, cut board-a's work short, and
// the HTML report made from it must mark that step. And the lab LAN's logs are on the steps' time axis.
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
    assert.match(f.report, /where: +test\/scenarios\/timeline\/two-boards-one-fails · virt-armhf · board board-b · step "board-b works"/);
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

test("timeline: the lab LAN's transfers and fault firings are on the steps' axis — inside the steps that caused them, named by board", async () => {
  const out = tempDir("bootlab-timeline-");
  try {
    const [r] = await runScenarios({ paths: [join(projectRoot, "scenarios/netboot/tftp-faults.ts")], targets: ["virt-armhf"], outDir: out.path, snapshots: false });
    assert.equal(r!.status, "passed", r!.failure?.report());
    const t = JSON.parse(readFileSync(join(r!.artifacts, "timeline.json"), "utf8")) as Timeline;
    const step = (name: string) => t.steps.find((s) => s.name === name)!;
    // Rounding to whole milliseconds on both sides: 1 ms of slack.
    const within = (ms: number, s: StepRecord) => ms >= s.startMs - 1 && ms <= s.endMs! + 1;
    const events = t.lan!.events;
    for (const [rule, name] of [["all DATA lost", "every DATA frame lost: U-Boot gives up"], ["2% DATA loss", "2% of DATA frames lost while the initramfs loads"]] as const) {
      const firings = events.filter((e) => e.kind === "fault" && e.summary.startsWith(`fault "${rule}"`));
      assert.ok(firings.length > 0, rule);
      for (const f of firings) assert.ok(within(f.atMs, step(name)), `${rule} at ${f.atMs} ms, inside "${name}" ${step(name).startMs}–${step(name).endMs}`);
    }
    const transfers = events.filter((e) => e.kind === "tftp");
    assert.equal(transfers.length, 4);
    for (const e of transfers) {
      assert.equal(e.board, "virt-armhf", e.summary);
      const file = /^RRQ (\S+) /.exec(e.summary)![1]!;
      const by = t.steps.find((s) => /tftpboot/.test(s.name) && s.name.endsWith(` ${file}`) && within(e.atMs, s));
      assert.ok(by, `${e.summary} at ${e.atMs} ms starts inside a tftpboot step of ${file}`);
      // U-Boot gives up on the all-lost transfer while the server still retries it; the others end inside their step.
      if (!e.problem) assert.ok(e.endMs! <= by.endMs! + 1, `${e.summary} ends by its step's end`);
    }
    assert.deepEqual(qemuProcesses(out.path), []);
  } finally {
    out.remove();
  }
});
