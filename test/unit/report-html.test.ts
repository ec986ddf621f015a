// The HTML report (issue 13 §2) made from real runs' timeline.json files (test/data: a failing run, and
// two boards netbooting side by side with their consoles cut to the last 40 lines to keep the file small):
// self-contained, one bar per step in its board's lane, the failing step marked, the LAN's transactions
// on the same axis, the console lines around the failure highlighted. The browser test is in
// test/integration/report-browser.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { highlighted, htmlReport, packRows, readTimeline, stepRows } from "../../harness/report/html.ts";

const load = (name: string) => readTimeline(JSON.parse(readFileSync(new URL(`../data/${name}`, import.meta.url), "utf8")));
const failing = load("timeline-failing-no-initramfs-malta.json");
const twoBoards = load("timeline-two-boards-virt-armhf.json");
const count = (s: string, re: RegExp) => [...s.matchAll(re)].length;

test("report: one self-contained page — no scripts, styles, images or fonts from anywhere else", () => {
  const html = htmlReport([{ timeline: failing, dir: "a" }, { timeline: twoBoards, dir: "b" }]);
  assert.doesNotMatch(html, /\s(?:src|srcset)=/i);
  assert.doesNotMatch(html, /<link\b|@import|url\((?!#)/i);
  assert.doesNotMatch(html, /(?:href|xmlns)="(?:https?:)?\/\//i);
  assert.match(html, /<style>[\s\S]+<\/style>/);
  assert.match(html, /<script>[\s\S]+<\/script>/);
});

test("report: the summary has a row per scenario × target with status, duration, failure kind and links to the raw files", () => {
  const html = htmlReport([{ timeline: failing, dir: "test/scenarios/failing/no-initramfs/malta-mipsel" }, { timeline: twoBoards, dir: "netboot/two-boards/virt-armhf" }]);
  const summary = html.slice(html.indexOf('<table class="summary">'), html.indexOf("</table>"));
  assert.equal(count(summary, /<tr class="(?:passed|failed)">/g), 2);
  assert.match(summary, /test\/scenarios\/failing\/no-initramfs<\/a>[\s\S]*malta-mipsel[\s\S]*badge failed[\s\S]*5\.\d\d s[\s\S]*kind product/);
  for (const f of ["lan.pcap", "failure.txt", "repro.sh", "console-ttyS0.log", "run.log", "timeline.json"]) {
    assert.match(summary, new RegExp(`href="test/scenarios/failing/no-initramfs/malta-mipsel/${f.replace(".", "\\.")}"`), f);
  }
  assert.match(summary, /href="netboot\/two-boards\/virt-armhf\/board-b\/repro\.sh">board-b repro\.sh/);
});

test("report: a failing run — one bar per step, the failing step marked and its end drawn, expected vs seen, the panic highlighted", () => {
  const html = htmlReport([{ timeline: failing, dir: "" }]);
  assert.equal(count(html, /<g class="step /g), failing.steps.length);
  const marked = [...html.matchAll(/<g class="step ([^"]*)" data-step="(\d+)"/g)].filter((m) => m[1]!.split(" ").includes("failing"));
  assert.deepEqual(marked.map((m) => Number(m[2])), [failing.failure!.stepId]);
  assert.match(marked[0]![1]!, /^failed failing$/);
  assert.match(html, /class="fail-line"/);
  assert.match(html, /<h4>seen<\/h4><pre class="seen">\[ +1\.\d+\] Kernel panic - not syncing/);
  const hl = [...html.matchAll(/<div class="l hl"[^>]*>(.*)<\/div>/g)].map((m) => m[1]!);
  assert.ok(hl.length >= 3 && hl.length <= 9, `${hl.length} lines highlighted`);
  assert.ok(hl.some((l) => l.includes("Kernel panic - not syncing")));
  assert.match(html, /<g class="lane lan">[\s\S]*no DHCP, TFTP, HTTP or NBD transactions/);
});

test("report: two boards side by side — a lane each with their own steps nested, the scenario's steps with no board in their own lane, LAN marks", () => {
  const html = htmlReport([{ timeline: twoBoards, dir: "" }]);
  const lanes = [...html.matchAll(/<g class="lane" data-lane="([^"]+)">([\s\S]*?)<\/g>\n(?=<g class="lane|<line|<\/svg)/g)];
  assert.deepEqual(lanes.map((l) => l[1]), ["scenario", "board-a", "board-b"]);
  for (const [, lane, body] of lanes) {
    const ids = [...body!.matchAll(/data-step="(\d+)"/g)].map((m) => Number(m[1]));
    for (const id of ids) {
      const s = twoBoards.steps.find((x) => x.id === id)!;
      if (lane !== "scenario") assert.ok(s.board === lane || s.name === `${lane} netboots`, `${s.name} in ${lane}`);
      else assert.equal(s.board, undefined);
    }
  }
  assert.equal(count(html, /<g class="step /g), twoBoards.steps.length);
  // Nested: a board's U-Boot step is drawn one row below its "netboots" parent, in the same lane.
  const y = (name: string) => Number(new RegExp(`<title>${name.replace(/[$()]/g, "\\$&")}\\n[^<]*</title><rect x="[\\d.]+" y="(\\d+)"`).exec(html)![1]);
  assert.equal(y("board-a: U-Boot: dhcp") - y("board-a netboots"), 18);
  assert.equal(count(html, /<g class="lan-event /g), twoBoards.lan!.events.length);
  assert.equal(count(html, /<g class="lan-event tftp/g), 4);
  assert.equal(count(html, /<details class="console"/g), 2);
});

test("report: text from consoles and scenarios is escaped, never markup", () => {
  const t = structuredClone(failing);
  t.steps[0]!.name = `<script>alert("x")</script>`;
  t.boards[0]!.console.push({ atMs: 1, text: "<img src=x onerror=alert(1)>" });
  const html = htmlReport([{ timeline: t, dir: "" }]);
  assert.doesNotMatch(html, /<script>alert|<img /);
  assert.match(html, /&#60;script&#62;alert/);
});

test("report: highlighted lines are those around the line the failure quotes, else the last before the failure", () => {
  const lines = Array.from({ length: 30 }, (_, i) => ({ atMs: i * 100, text: `line ${i}` }));
  assert.deepEqual([...highlighted(lines, { seen: "line 12" })], [6, 7, 8, 9, 10, 11, 12, 13, 14]);
  assert.deepEqual([...highlighted(lines, { atMs: 2000 })], [14, 15, 16, 17, 18, 19, 20, 21, 22]);
  assert.deepEqual([...highlighted([], { seen: "x" })], []);
});

test("report: a timeline.json written before ids and boards (format 1) still renders, nesting by depth", () => {
  const t = readTimeline({
    scenario: "smoke/old", name: "old", target: "virt-armhf", status: "failed", durationMs: 100,
    failure: { kind: "timeout", message: "late", context: { step: "inner" } },
    steps: [{ name: "outer", depth: 0, startMs: 0, endMs: 90, status: "failed" }, { name: "inner", depth: 1, startMs: 5, endMs: 90, status: "failed" }],
  });
  assert.deepEqual(t.steps.map((s) => [s.id, s.parent]), [[1, undefined], [2, 1]]);
  const html = htmlReport([{ timeline: t, dir: "" }]);
  assert.equal(count(html, /<g class="step /g), 2);
});

test("report: LAN transactions that overlap get rows of their own; marks without an end stay on the first", () => {
  const ev = (atMs: number, endMs?: number) => ({ kind: "tftp" as const, atMs, ...(endMs !== undefined ? { endMs } : {}), summary: "" });
  // A transfer the server still retries (700–10100) while the next ones run, as in netboot/tftp-faults.
  const r = packRows([ev(700, 10100), ev(4700, 6300), ev(6400, 7600), ev(7600, 11000), ev(8000)]);
  assert.equal(r.rows, 2);
  assert.deepEqual(r.placed.map((p) => p.row), [0, 1, 1, 1, 0]);
});

test("report: steps of one board side by side get rows of their own; a child goes below its parent", () => {
  const s = (id: number, startMs: number, endMs: number, parent?: number) =>
    ({ id, name: `s${id}`, depth: parent ? 1 : 0, startMs, endMs, status: "passed" as const, board: "b", ...(parent ? { parent } : {}) });
  // A wait on the console (2) while a USB stick is plugged in beside it (3), then a command (4) after both.
  const steps = [s(1, 0, 100), s(2, 10, 80, 1), s(3, 20, 30, 1), s(4, 85, 95, 1), s(5, 100, 120)];
  const rows = stepRows(steps, new Map(steps.map((x) => [x.id, "b"])), 120);
  assert.deepEqual([...rows.entries()].sort((a, b) => a[0] - b[0]), [[1, 0], [2, 1], [3, 2], [4, 1], [5, 0]]);
});
