// JUnit XML (for CI dashboards) and TAP 13 from scenario results: one test case per scenario × target,
// failures carrying their kind, step and console tail.

import type { ScenarioResult } from "../scenario/runner.ts";

function xml(s: string): string {
  // Console text can hold control characters that XML 1.0 forbids.
  return s.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, "").replace(/&/g, "&amp;").replace(/</g, "&lt;")
    .replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function junitXml(results: ScenarioResult[], suiteName = "bootlab"): string {
  const failures = results.filter((r) => r.status === "failed").length;
  const time = results.reduce((a, r) => a + r.durationMs, 0) / 1000;
  const cases = results.map((r) => {
    const head = `  <testcase classname="${xml(r.target)}" name="${xml(`${r.id}: ${r.name}`)}" time="${(r.durationMs / 1000).toFixed(3)}">`;
    const props = `    <system-out>${xml(`${r.summary}\nartifacts: ${r.artifacts}`)}</system-out>`;
    if (r.status === "passed") return `${head}\n${props}\n  </testcase>`;
    const f = r.failure!;
    return `${head}\n    <failure type="${f.kind}" message="${xml(f.message.split("\n")[0]!)}">${xml(f.report())}</failure>\n${props}\n  </testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="${results.length}" failures="${failures}" time="${time.toFixed(3)}">\n` +
    `<testsuite name="${xml(suiteName)}" tests="${results.length}" failures="${failures}" time="${time.toFixed(3)}">\n${cases.join("\n")}\n</testsuite>\n</testsuites>\n`;
}

export function tap(results: ScenarioResult[]): string {
  const lines = ["TAP version 13", `1..${results.length}`];
  results.forEach((r, i) => {
    lines.push(`${r.status === "passed" ? "ok" : "not ok"} ${i + 1} - ${r.target} ${r.id}: ${r.name}`);
    if (r.status === "failed") {
      lines.push("  ---", `  kind: ${r.failure!.kind}`, `  message: ${JSON.stringify(r.failure!.message)}`,
        `  step: ${JSON.stringify(r.failure!.context.step ?? "")}`, `  artifacts: ${JSON.stringify(r.artifacts)}`, "  ...");
    }
  });
  return lines.join("\n") + "\n";
}
