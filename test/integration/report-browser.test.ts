// The HTML report in a real browser (issue 13 §2): Debian's chromium, headless, renders the report of a
// real failing run (test/data: `bootlab run test/scenarios/failing/usb-path-without-stick.ts`), its script
// runs, the timeline has one bar per step and the failing step is marked; a screenshot is a real image.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { htmlReport, readTimeline } from "../../harness/report/html.ts";
import { haveCommand } from "../../harness/host/requirements.ts";
import { tempDir } from "../helpers.ts";

const timeline = readTimeline(JSON.parse(readFileSync(new URL("../data/timeline-failing-usb-path-without-stick-malta.json", import.meta.url), "utf8")));

/** Runs headless chromium on a page with its own throw-away profile; returns stdout. */
function chromium(dir: string, args: string[]): string {
  assert.ok(haveCommand("chromium"), "chromium is not installed: it is in harness/host/requirements.json (npm run setup installs it)");
  // --no-sandbox: the tests may run as root (CI containers), where chromium's sandbox refuses to start.
  const r = spawnSync("chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", `--user-data-dir=${join(dir, "profile")}`, ...args], {
    encoding: "utf8", timeout: 90_000, maxBuffer: 64 << 20,
  });
  assert.equal(r.status, 0, `chromium exited with ${r.status ?? r.signal}: ${r.stderr?.slice(-2000)}`);
  return r.stdout;
}

test("report: a real failing run's report renders in headless chromium — one bar per step, the failing step marked", () => {
  const dir = tempDir("bootlab-report-");
  try {
    const page = join(dir.path, "index.html");
    writeFileSync(page, htmlReport([{ timeline, dir: "." }], { title: "bootlab: browser test" }));
    const dom = chromium(dir.path, ["--dump-dom", pathToFileURL(page).href]);
    // The page's script ran to its end: it counts the bars it wired up.
    assert.match(dom, new RegExp(`<body data-ready="${timeline.steps.length}">`));
    const bars = [...dom.matchAll(/<g class="step ([^"]*)" data-step="(\d+)"/g)];
    assert.deepEqual(bars.map((b) => Number(b[2])).sort((a, b) => a - b), timeline.steps.map((s) => s.id).sort((a, b) => a - b), "one bar per step");
    const failing = bars.filter((b) => b[1]!.split(" ").includes("failing"));
    assert.equal(failing.length, 1);
    assert.equal(Number(failing[0]![2]), timeline.failure!.stepId);
    assert.equal(timeline.steps.find((s) => s.id === timeline.failure!.stepId)!.name, "preinit mounts the stick read-only");
    assert.match(dom, /<div class="l hl"[^>]*><span class="t">[ \d.]+<\/span>preinit: USB mount failed: no such device/);
    assert.match(dom, /<pre class="seen">preinit: USB mount failed/);

    const png = join(dir.path, "report.png");
    chromium(dir.path, ["--hide-scrollbars", "--window-size=1280,1000", `--screenshot=${png}`, pathToFileURL(page).href]);
    const head = readFileSync(png).subarray(0, 8);
    assert.deepEqual([...head], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "a PNG");
    assert.ok(statSync(png).size > 20_000, "a screenshot with something drawn in it");
  } finally {
    dir.remove();
  }
});
