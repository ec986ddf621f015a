// The blame lands on the right side, from real runs of `bootlab run` (the CLI under the same runtime as
// the test): each kind of failure has its title, names what it should (the panic line, the scenario's
// line, the file the lab never served, QEMU's signal, bootlab's stack) and its own exit status.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../../harness/paths.ts";
import { qemuProcesses, tempDir } from "../helpers.ts";

const isDeno = "Deno" in globalThis;

function runCli(file: string, outDir: string): Promise<{ code: number | null; output: string }> {
  const argv = isDeno ? ["run", "-A", join(projectRoot, "harness/cli/main.ts")] : [join(projectRoot, "bin/bootlab.mjs")];
  const child = spawn(process.execPath, [...argv, "run", join(projectRoot, "test/scenarios/blame", file), "--out", outDir], {
    cwd: projectRoot,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let output = "";
  child.stdout!.on("data", (b) => (output += b));
  child.stderr!.on("data", (b) => (output += b));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, output })));
}

const cases: { file: string; exit: number; report: RegExp[] }[] = [
  { file: "product-panic.ts", exit: 1, report: [/PRODUCT FAILURE: .*Kernel panic/, /last console lines:/] },
  { file: "timeout.ts", exit: 1, report: [/STEP TIMEOUT: .*a line U-Boot never prints/, /step "wait for a line that never comes"/] },
  {
    file: "own-code-throws.ts",
    exit: 2,
    report: [/SCENARIO ERROR: the scenario's own code threw Error: ENOENT[^\n]*\/nonexistent\/bootlab-blame-test\/kernel\.img/, /at: +test\/scenarios\/blame\/own-code-throws\.ts:9:\d+/],
  },
  {
    file: "misuse.ts",
    exit: 2,
    report: [/SCENARIO ERROR: server: TCP port 8080 is in use/, /at: +test\/scenarios\/blame\/misuse\.ts:11:\d+/, /expected: one listener per TCP port/],
  },
  {
    file: "tftp-file-not-served.ts",
    exit: 2,
    report: [
      /SCENARIO ERROR: the lab's TFTP server on server has no "kernel-the-scenario-forgot"/,
      /seen: +192\.168\.1\.20:\d+ asked for "kernel-the-scenario-forgot" and got TFTP error 1; the device said: .*File not found/,
      /at: +test\/scenarios\/blame\/tftp-file-not-served\.ts:15:\d+/,
      /fix: +put the file in lan\.tftpFiles/,
    ],
  },
  { file: "qemu-killed.ts", exit: 3, report: [/INFRASTRUCTURE ERROR: QEMU for malta-mipsel was killed by SIGKILL/, /fix: +something outside bootlab killed QEMU: the kernel's OOM killer/] },
  {
    file: "bootlab-bug.ts",
    exit: 4,
    report: [/BOOTLAB BUG: TypeError: /, /stack:\n +at harness\/lab\/lan\.ts:\d+:\d+/, /this is a bug in bootlab/],
  },
];

for (const c of cases) {
  test(`blame: ${c.file.replace(/\.ts$/, "")} — exit ${c.exit}, the report says whose fault it is and where`, async () => {
    const out = tempDir("bootlab-blame-");
    try {
      const r = await runCli(c.file, out.path);
      for (const re of c.report) assert.match(r.output, re, `${c.file}: the report lacks ${re}:\n${r.output}`);
      assert.equal(r.code, c.exit, `${c.file}: exit status\n${r.output}`);
      // The same failure is in the artifacts, as the CLI printed it.
      const failure = readFileSync(join(out.path, "test/scenarios/blame", c.file.replace(/\.ts$/, ""), "malta-mipsel", "failure.txt"), "utf8");
      assert.match(failure, c.report[0]!);
      assert.deepEqual(qemuProcesses(out.path), [], "a QEMU of this run is still running");
    } finally {
      out.remove();
    }
  });
}
