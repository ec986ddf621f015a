// The timeline model (issue 13 §1): every step has an id, a parent and a board; two boards booting side
// by side never interleave; the step to blame and the console tail to quote come from the board whose step
// failed; lower layers record through the StepRecorder they own; the LAN's logs are on the run's time axis.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ProductFailure } from "../../harness/errors/failures.ts";
import { Steps } from "../../harness/scenario/steps.ts";
import { onBoard } from "../../harness/timeline/recorder.ts";
import { boardOfFailure, boardOfStep } from "../../harness/timeline/model.ts";
import { SerialConsole } from "../../harness/console/serial-console.ts";
import { LinuxShell } from "../../harness/console/linux-shell.ts";
import { Transcript } from "../../harness/console/transcript.ts";
import { Owner } from "../../harness/lifecycle/owner.ts";
import { LabLan } from "../../harness/lab/lan.ts";
import { tempDir } from "../helpers.ts";

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

test("timeline: two boards' steps side by side each nest under their own parent and carry their board", async () => {
  const steps = new Steps();
  const boot = (board: string) => steps.run(`${board} netboots`, async () => {
    const mine = onBoard(steps, board);
    for (const n of ["U-Boot starts", "U-Boot: dhcp", "U-Boot: tftpboot"]) {
      await mine.run(`${board}: ${n}`, async () => {
        await tick(board === "board-a" ? 3 : 4);
        // Inside its own step, each board's context blames its own step, whatever the other board does.
        assert.equal(steps.current(), `${board}: ${n}`);
      });
    }
  });
  await Promise.all([boot("board-a"), boot("board-b")]);
  const byName = new Map(steps.records.map((r) => [r.name, r]));
  assert.deepEqual(steps.records.map((r) => r.id), steps.records.map((_, i) => i + 1));
  for (const board of ["board-a", "board-b"]) {
    const top = byName.get(`${board} netboots`)!;
    assert.equal(top.parent, undefined);
    assert.equal(top.board, undefined, "a scenario's own step names no board");
    assert.equal(boardOfStep(top.id, steps.records), board, "…but its inside says whose it is");
    const inner = steps.records.filter((r) => r.name.startsWith(`${board}: `));
    assert.equal(inner.length, 3);
    for (const r of inner) {
      assert.equal(r.parent, top.id, `${r.name} nests under its own board's step`);
      assert.equal(r.board, board);
      assert.equal(r.depth, 1);
      assert.equal(r.status, "passed");
    }
  }
});

test("timeline: a step inherits its parent's board; the failure names the innermost step's id and board", async () => {
  const steps = new Steps();
  const a = onBoard(steps, "board-a");
  const err = await a.run("board-a: kernel boots", () => steps.run("inner wait", async () => {
    throw new ProductFailure("Kernel panic - not syncing");
  })).then(() => undefined, (e: unknown) => e as ProductFailure);
  assert.ok(err instanceof ProductFailure);
  const inner = steps.records.find((r) => r.name === "inner wait")!;
  assert.equal(inner.board, "board-a");
  assert.equal(err.context.stepId, inner.id);
  assert.equal(err.context.step, "inner wait");
  assert.equal(err.context.board, "board-a");
  assert.equal(boardOfFailure(err.context, steps.records, ["board-a", "board-b"]), "board-a");
});

test("timeline: a scenario step's failure is blamed on the board inside it; with two boards and no clue, on none", () => {
  const records = [
    { id: 1, name: "board-b netboots", depth: 0, startMs: 0, endMs: 9, status: "failed" as const },
    { id: 2, parent: 1, board: "board-b", name: "board-b: U-Boot: dhcp", depth: 1, startMs: 1, endMs: 2, status: "passed" as const },
    { id: 3, parent: 1, name: "a scenario sub-step", depth: 1, startMs: 2, endMs: 3, status: "passed" as const },
    { id: 4, parent: 3, board: "board-b", name: "board-b: shell", depth: 2, startMs: 2, endMs: 3, status: "passed" as const },
    { id: 5, name: "check the DHCP log", depth: 0, startMs: 9, endMs: 10, status: "failed" as const },
  ];
  assert.equal(boardOfFailure({ stepId: 1 }, records, ["board-a", "board-b"]), "board-b");
  assert.equal(boardOfFailure({ stepId: 5 }, records, ["board-a", "board-b"]), undefined);
  assert.equal(boardOfFailure({}, records, ["virt-armhf"]), "virt-armhf");
  assert.equal(boardOfFailure({}, records, ["m", "m"]), "m", "one board powered on twice is one board");
});

test("timeline: at the run's end, running steps are cut short and keep that end; the blamed one is the latest leaf", async () => {
  const steps = new Steps();
  let failA!: (e: Error) => void;
  const a = onBoard(steps, "board-a").run("board-a: wait for the shell", () => new Promise((_, rej) => (failA = rej)));
  void a.catch(() => {});
  await tick(2);
  void onBoard(steps, "board-b").run("board-b: boot", () => steps.run("board-b: wait for U-Boot", () => new Promise(() => {})));
  const blamed = steps.currentRecord()!;
  assert.equal(blamed.name, "board-b: wait for U-Boot", "outside any step: the leaf that started last");
  assert.equal(steps.currentRecord("board-a")!.name, "board-a: wait for the shell");
  steps.cutShort({ kind: "timeout", message: "the scenario did not finish within 1 s" });
  const wait = steps.records[0]!;
  const end = wait.endMs;
  // The lab closing kills the machine: the step's own failure after its end does not rewrite it.
  failA(new ProductFailure("machine exited"));
  await a.catch(() => {});
  assert.equal(wait.endMs, end);
  assert.deepEqual(wait.failure, { kind: "timeout", message: "the scenario did not finish within 1 s" });
  assert.equal(wait.cutShort, true);
  assert.ok(steps.records.every((r) => r.status === "failed" && r.cutShort));
});

test("timeline: a console driver records its steps through the recorder it is given (the board's), not the scenario layer", async () => {
  const dir = tempDir("bootlab-timeline-");
  const con = new SerialConsole("con0", join(dir.path, "con0.log"), []);
  try {
    const steps = new Steps();
    const sh = new LinuxShell(con, onBoard(steps, "board-a"), 2000);
    const done = sh.sync();
    await tick(1);
    con.feed(new TextEncoder().encode(`\x1eBL-${process.pid % 1000}s1-SYNC\x1e\n`));
    await done;
    assert.deepEqual(steps.records.map((r) => [r.name, r.board, r.status]), [["shell answers", "board-a", "passed"]]);
    const src = readFileSync(new URL("../../harness/console/linux-shell.ts", import.meta.url), "utf8") +
      readFileSync(new URL("../../harness/console/uboot.ts", import.meta.url), "utf8") +
      readFileSync(new URL("../../harness/lab/board.ts", import.meta.url), "utf8");
    assert.doesNotMatch(src, /from "\.\.\/scenario\//, "consoles and boards never import the scenario layer");
  } finally {
    await con.close();
    dir.remove();
  }
});

test("timeline: a transcript keeps its last lines with their times for timeline.json", async () => {
  const dir = tempDir("bootlab-timeline-");
  try {
    const t = new Transcript(join(dir.path, "c.log"));
    for (let i = 0; i < 450; i++) t.write(`line ${i}\n`);
    t.write("half");
    await t.close();
    const r = t.recent();
    assert.equal(r.lines.length, 400);
    assert.equal(r.omitted, 51);
    assert.equal(r.lines.at(-1)!.text, "half");
    assert.equal(r.lines[0]!.text, "line 51");
    assert.ok(r.lines.every((l) => Number.isInteger(l.atMs) && l.atMs >= 0));
    assert.equal(readFileSync(join(dir.path, "c.log"), "utf8").trim().split("\n").length, 451);
  } finally {
    dir.remove();
  }
});

test("timeline: the lab LAN logs DHCP on the run's clock and names the board by its MAC in the timeline's events", async () => {
  const dir = tempDir("bootlab-timeline-");
  const owner = new Owner("timeline-lan");
  try {
    let now = 1234;
    const lan = await LabLan.create({ owner, artifacts: dir.path, seed: "t", opts: {}, clock: () => now });
    // What the DHCP server logs, as it logs it (the server itself is tested in dhcp.test.ts).
    lan.dhcp.log.push({ atMs: now, mac: "52:54:00:aa:bb:01", xid: 1, request: "DISCOVER", reply: "OFFER", ip: "192.168.1.100" });
    now = 1300;
    lan.dhcp.log.push({ atMs: now, mac: "52:54:00:aa:bb:02", xid: 2, request: "DISCOVER" });
    // A frame from board-a's port through a fault rule: the firing is timed on the same clock.
    lan.faults.add({ name: "drop one", match: {}, action: "drop", first: 1 });
    now = 1400;
    const port = lan.segment.addHostPort("board-a", () => {});
    port.send(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0xaa, 0xbb, 1, 0x08, 0x06, ...new Array(28).fill(0)]));
    const events = lan.timelineEvents(new Map([["52:54:00:aa:bb:01", "board-a"]]));
    assert.deepEqual(events.map((e) => [e.kind, e.atMs, e.board, e.problem]), [
      ["dhcp", 1234, "board-a", undefined],
      ["dhcp", 1300, undefined, true],
      ["fault", 1400, "board-a", true],
    ]);
    assert.equal(events[0]!.summary, "DISCOVER → OFFER 192.168.1.100");
    // Thousands of firings (a long lossy transfer): the first 1000 listed, the rest summed up in one event.
    for (let i = 0; i < 1500; i++) lan.faults.log.push({ rule: "loss", action: "drop", frameNumber: i, port: "server", summary: "TCP", atMs: 2000 + i });
    const many = lan.timelineEvents(new Map()).filter((e) => e.kind === "fault");
    assert.equal(many.length, 1001, "the one fired above, 999 of these, and the sum of the other 501");
    assert.deepEqual([many.at(-1)!.atMs, many.at(-1)!.endMs], [2000 + 999, 2000 + 1499]);
    assert.match(many.at(-1)!.summary, /^501 more fault firings until 3\.5 s/);
  } finally {
    await owner.close();
    dir.remove();
  }
});
