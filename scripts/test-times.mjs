#!/usr/bin/env node
// Prints the time per test file from a JUnit file Deno wrote (`deno test --junit-path`), slowest first.
// Usage: node scripts/test-times.mjs out/junit-deno.xml
import { existsSync, readFileSync } from "node:fs";
import { formatTimes } from "../test/reporters/format-times.mjs";

const path = process.argv[2] ?? "out/junit-deno.xml";
if (!existsSync(path)) {
  console.error(`test-times: ${path} does not exist (did the suite run?)`);
  process.exit(0);
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
console.log(formatTimes("Deno", files));
