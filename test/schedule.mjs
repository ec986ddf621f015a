// @ts-self-types="./schedule.d.mts"
// Which test files have the machine to themselves while they run, and why. The suite (scripts/test-suite.mjs)
// runs every other file side by side, as many as there are cores: most boot one QEMU or none, and a file waiting
// on a guest leaves its core to another. test/unit/test-schedule.test.ts checks the two rules below against the
// files' sources.

/**
 * A library file runs its scenario × target pairs two at a time itself (libraryRun, test/helpers.ts). The
 * smallest (scenarios/smoke in boot.test.ts, board-flash.test.ts: six and three short pairs) run theirs one at
 * a time instead and share the machine: 31 s alone under Node, less side by side.
 */
const LIBRARY = "runs a scenario library, two pairs at a time";
/** Deno's parallel test files are worker threads of one process, so they share process.env. */
const ENVIRONMENT = "changes the process's environment, which Deno's parallel test files share";

import { readdirSync } from "node:fs";
import { join } from "node:path";

/**
 * Every test file of the suite, from the project's root, in order: test/unit, then test/integration.
 * @param {string} root the project's root
 * @returns {string[]}
 */
export function testFiles(root) {
  return ["test/unit", "test/integration"].flatMap((d) =>
    readdirSync(join(root, d)).filter((f) => f.endsWith(".test.ts")).sort().map((f) => `${d}/${f}`));
}

/** @type {ReadonlyMap<string, string>} test file (from the project's root) → why it runs alone */
export const ALONE = new Map([
  ["test/integration/factory-flash.test.ts", LIBRARY],
  ["test/integration/flash-recovery.test.ts", LIBRARY],
  ["test/integration/lan.test.ts", LIBRARY],
  ["test/integration/netboot.test.ts", LIBRARY],
  ["test/integration/snapshot.test.ts", `${LIBRARY}; ${ENVIRONMENT}`],
  ["test/integration/usbboot.test.ts", LIBRARY],
]);

/** What makes a file run alone, as found in its source. */
export const RUNS_ALONE_BECAUSE = [
  { why: LIBRARY, pattern: /\blibraryRun\(/ },
  { why: ENVIRONMENT, pattern: /process\.env(\.\w+|\[[^\]]+\])\s*=(?!=)|delete process\.env\b/ },
];
