// A node:test reporter that adds up each test file's top-level tests and writes them as JSON at the end of
// the run ([file, { ms, tests, failed }] pairs), next to the spec, JUnit and TAP reporters;
// scripts/test-suite.mjs prints the table of both parts of the suite from it. node:test's own JUnit output
// has no file names, so the time per file is gathered here from the events, which do.
import { relative } from "node:path";

export default async function* fileTimes(source) {
  const files = new Map();
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const d = event.data;
    // Top-level tests only (nesting 0); the file's own wrapper (a test named after its path) is skipped.
    if (d.nesting !== 0 || !d.file || d.details?.type === "suite" || d.name === d.file) continue;
    const name = relative(process.cwd(), d.file);
    const f = files.get(name) ?? { ms: 0, tests: 0, failed: 0 };
    f.ms += d.details?.duration_ms ?? 0;
    f.tests++;
    if (event.type === "test:fail") f.failed++;
    files.set(name, f);
  }
  yield JSON.stringify([...files]) + "\n";
}
