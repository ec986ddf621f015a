// `bootlab report merge`: the JUnit XML and TAP of CI shards as one report. Test cases are taken as written
// (failure reports and console tails included), TAP points renumbered; a pair found in two inputs is named,
// since with a correct split no two shards run the same pair.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { EXIT_CODE, type FailureKind, ScenarioError } from "../errors/failures.ts";

/** File names `bootlab run` writes into its --out folder, and `report merge` looks for in folders. */
export const JUNIT_FILE = "junit.xml";
export const TAP_FILE = "results.tap";

export interface MergeInputs {
  junit: string[];
  tap: string[];
}

/** Inputs: a file is taken as it is (.xml JUnit, else TAP); a folder is searched for junit.xml and results.tap at any depth. */
export function findReports(paths: readonly string[]): MergeInputs {
  const out: MergeInputs = { junit: [], tap: [] };
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === JUNIT_FILE) out.junit.push(p);
      else if (e.name === TAP_FILE) out.tap.push(p);
    }
  };
  for (const p of paths) {
    if (!existsSync(p)) throw new ScenarioError(`${p}: no such file or folder`, { expected: "shard output folders (bootlab run --out DIR) or report files" });
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith(".xml")) out.junit.push(p);
    else out.tap.push(p);
  }
  return out;
}

export interface JunitCase {
  /** The target (bootlab writes it as classname). */
  classname: string;
  name: string;
  timeS: number;
  /** The failure's kind (its type attribute), for failed cases. */
  failureType?: string;
  xml: string;
}

const attr = (tag: string, name: string): string | undefined => {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m?.[1];
};

/** The test cases of a JUnit XML document (bootlab's or any tool's: `<testcase …/>` and `<testcase …>…</testcase>`). */
export function junitCases(doc: string): JunitCase[] {
  const cases: JunitCase[] = [];
  for (const m of doc.matchAll(/<testcase\b[^>]*?(?:\/>|>[\s\S]*?<\/testcase>)/g)) {
    const xml = m[0];
    const open = /^<testcase\b[^>]*>/.exec(xml)![0];
    const failure = /<(failure|error)\b[^>]*>/.exec(xml);
    cases.push({
      classname: attr(open, "classname") ?? "", name: attr(open, "name") ?? "", timeS: Number(attr(open, "time") ?? 0) || 0,
      ...(failure ? { failureType: attr(failure[0], "type") ?? failure[1]! } : {}), xml,
    });
  }
  return cases;
}

export function mergeJunit(docs: readonly string[], suiteName = "bootlab"): { xml: string; cases: JunitCase[] } {
  const cases = docs.flatMap(junitCases);
  const failures = cases.filter((c) => c.failureType !== undefined).length;
  const time = cases.reduce((a, c) => a + c.timeS, 0).toFixed(3);
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="${cases.length}" failures="${failures}" time="${time}">\n` +
    `<testsuite name="${suiteName}" tests="${cases.length}" failures="${failures}" time="${time}">\n` +
    cases.map((c) => "  " + c.xml).join("\n") + `${cases.length ? "\n" : ""}</testsuite>\n</testsuites>\n`;
  return { xml, cases };
}

export interface TapPoint {
  ok: boolean;
  description: string;
  /** The indented lines that follow the point (its YAML block). */
  detail: string[];
}

/** The test points of a TAP document, each with its YAML block. */
export function tapPoints(doc: string): TapPoint[] {
  const points: TapPoint[] = [];
  for (const line of doc.split("\n")) {
    const m = /^(not )?ok\b(?:\s+\d+)?(?:\s*-\s*)?(.*)$/.exec(line);
    if (m) points.push({ ok: !m[1], description: m[2]!, detail: [] });
    else if (/^\s+\S/.test(line) && points.length) points.at(-1)!.detail.push(line);
  }
  return points;
}

export function mergeTap(docs: readonly string[]): { tap: string; points: TapPoint[] } {
  const points = docs.flatMap(tapPoints);
  const lines = ["TAP version 13", `1..${points.length}`];
  points.forEach((p, i) => lines.push(`${p.ok ? "ok" : "not ok"} ${i + 1} - ${p.description}`, ...p.detail));
  return { tap: lines.join("\n") + "\n", points };
}

/** The run's exit status from merged cases: the highest EXIT_CODE of the failures' kinds (unknown kinds: 1). */
export function mergedExitCode(cases: readonly JunitCase[]): number {
  return Math.max(0, ...cases.filter((c) => c.failureType !== undefined)
    .map((c) => EXIT_CODE[c.failureType as FailureKind] ?? 1));
}

/** Pairs (target + case name) found more than once across the inputs. */
export function duplicateCases(cases: readonly JunitCase[]): string[] {
  const seen = new Map<string, number>();
  for (const c of cases) seen.set(`${c.classname} ${c.name}`, (seen.get(`${c.classname} ${c.name}`) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([k]) => k);
}

export function readAll(files: readonly string[]): string[] {
  return files.map((f) => readFileSync(f, "utf8"));
}
