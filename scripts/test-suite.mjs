#!/usr/bin/env node
// Runs the test suite under one runtime, in two parts: first every file that can share the machine, side by
// side (as many at a time as there are cores), then the files of test/schedule.mjs's ALONE, one at a time.
// Both parts always run; the exit status is 1 if either failed. Then the time per test file, slowest first.
// Usage: node scripts/test-suite.mjs node|deno [test files…]   (npm run test:node -- test/unit/expect.test.ts)
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ALONE, testFiles } from "../test/schedule.mjs";
import { formatTimes } from "../test/reporters/format-times.mjs";
import { junitFileTimes } from "./test-times.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const runtime = process.argv[2];
if (runtime !== "node" && runtime !== "deno") {
  console.error("usage: node scripts/test-suite.mjs node|deno [test files…]");
  process.exit(2);
}

const all = testFiles(root);
const asked = process.argv.slice(3).map((f) => relative(root, resolve(f)));
for (const f of asked) {
  if (!all.includes(f)) {
    console.error(`${f} is not a test file (test/unit/*.test.ts or test/integration/*.test.ts)`);
    process.exit(2);
  }
}
const files = asked.length ? all.filter((f) => asked.includes(f)) : all;
for (const f of ALONE.keys()) {
  if (!all.includes(f)) {
    console.error(`test/schedule.mjs: ALONE names ${f}, which is not a test file`);
    process.exit(2);
  }
}
const side = Math.max(1, availableParallelism());
const parts = [
  { name: "side-by-side", files: files.filter((f) => !ALONE.has(f)), concurrency: side },
  { name: "alone", files: files.filter((f) => ALONE.has(f)), concurrency: 1 },
].filter((p) => p.files.length);

mkdirSync(join(root, "out"), { recursive: true });
let failed = false;
const times = new Map();
for (const part of parts) {
  console.log(`\n${runtime}: ${part.files.length} test files, ${part.concurrency} at a time (${part.name})`);
  const r = runtime === "node" ? runNode(part) : runDeno(part);
  if (r.error) throw r.error;
  if (r.status !== 0) failed = true;
  for (const [file, t] of runtime === "node" ? nodeFileTimes(part) : junitFileTimes(join(root, `out/junit-deno-${part.name}.xml`))) {
    times.set(file, t);
  }
}
console.log(formatTimes(runtime === "node" ? "Node" : "Deno", times));
process.exit(failed ? 1 : 0);

/** node:test, one process per file; spec on stdout, JUnit and TAP per part, the file-times reporter's JSON. */
function runNode(part) {
  const reporters = [
    ["spec", "stdout"],
    ["junit", `out/junit-node-${part.name}.xml`],
    ["tap", `out/tap-node-${part.name}.txt`],
    ["./test/reporters/file-times.mjs", `out/times-node-${part.name}.json`],
  ].flatMap(([r, d]) => [`--test-reporter=${r}`, `--test-reporter-destination=${d}`]);
  rmSync(join(root, `out/times-node-${part.name}.json`), { force: true });
  return spawnSync(process.execPath, ["--import", "tsx", "--test", `--test-concurrency=${part.concurrency}`, ...reporters, ...part.files], {
    cwd: root, stdio: "inherit",
  });
}

/** The file-times reporter's JSON of one part ([file, {ms, tests, failed}] pairs); none if it wrote nothing. */
function nodeFileTimes(part) {
  const path = join(root, `out/times-node-${part.name}.json`);
  return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : [];
}

/** deno test; side by side its files are worker threads of one process (hence ALONE's environment rule). */
function runDeno(part) {
  const local = join(root, "node_modules/.bin/deno");
  const deno = existsSync(local) ? local : "deno";
  const args = ["test", "-A", "--no-check", `--junit-path=out/junit-deno-${part.name}.xml`];
  if (part.concurrency > 1) args.push("--parallel");
  rmSync(join(root, `out/junit-deno-${part.name}.xml`), { force: true });
  return spawnSync(deno, [...args, ...part.files.map((f) => `./${f}`)], {
    cwd: root, stdio: "inherit", env: { ...process.env, DENO_JOBS: String(part.concurrency) },
  });
}
