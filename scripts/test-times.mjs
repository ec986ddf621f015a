#!/usr/bin/env node
// The time per test file from JUnit files Deno wrote (`deno test --junit-path`), slowest first.
// Usage: node scripts/test-times.mjs out/junit-deno-side-by-side.xml out/junit-deno-alone.xml
// (scripts/test-suite.mjs uses junitFileTimes directly.)
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { formatTimes } from "../test/reporters/format-times.mjs";

/** [file, { ms, tests, failed }] pairs of one JUnit file; none if it does not exist (the run did not start). */
export function junitFileTimes(path) {
  if (!existsSync(path)) {
    console.error(`test-times: ${path} does not exist (did the suite run?)`);
    return [];
  }
  const files = new Map();
  // Deno writes one <testcase name=… classname="./test/…" time="…"> per test, with <failure> inside a failed one.
  for (const m of readFileSync(path, "utf8").matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const attr = (k) => m[1].match(new RegExp(`\\b${k}="([^"]*)"`))?.[1];
    const name = (attr("classname") ?? "?").replace(/^\.\//, "");
    const f = files.get(name) ?? { ms: 0, tests: 0, failed: 0 };
    f.ms += Number(attr("time") ?? 0) * 1000;
    f.tests++;
    if (m[3] && /<failure\b/.test(m[3])) f.failed++;
    files.set(name, f);
  }
  return [...files];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(formatTimes("Deno", new Map(process.argv.slice(2).flatMap(junitFileTimes))));
}
