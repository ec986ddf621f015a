// The time each test file took, slowest first, as a table: printed after both runtimes' suites so the slow
// files are in plain view (issue 15 §5). Shared by the Node reporter and the reader of Deno's JUnit file.

/** @param {string} runtime @param {Map<string, { ms: number, tests: number, failed: number }>} files */
export function formatTimes(runtime, files) {
  const rows = [...files].sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((n, [, f]) => n + f.ms, 0);
  const w = Math.max(...rows.map(([name]) => name.length), 4);
  const lines = rows.map(([name, f]) =>
    `${name.padEnd(w)}  ${(f.ms / 1000).toFixed(1).padStart(7)} s  ${String(f.tests).padStart(4)} tests${f.failed ? `  ${f.failed} failed` : ""}`);
  return [`\n${runtime}: time per test file (sum ${(total / 60000).toFixed(1)} min)`, ...lines, ""].join("\n");
}
