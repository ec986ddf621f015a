// Nothing is left running: Ctrl-C of `bootlab run`, and kill -9 of the harness, both end every QEMU it
// started. The CLI runs under the same runtime as the test (Node through bin/bootlab.mjs, or Deno).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { projectRoot } from "../../harness/paths.ts";
import { qemuProcesses, tempDir, waitFor } from "../helpers.ts";

const scenarioFile = join(projectRoot, "test/scenarios/good/long-running.ts");
const isDeno = "Deno" in globalThis;

function startCli(outDir: string) {
  const argv = isDeno
    ? ["run", "-A", join(projectRoot, "harness/cli/main.ts")]
    : [join(projectRoot, "bin/bootlab.mjs")];
  const child = spawn(process.execPath, [...argv, "run", scenarioFile, "--out", outDir], {
    cwd: projectRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (b) => (output += b));
  child.stderr!.on("data", (b) => (output += b));
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.on("exit", (code, signal) => r({ code, signal })));
  return { child, exited, output: () => output };
}

for (const how of ["SIGINT", "SIGKILL"] as const) {
  test(`no orphans: ${how === "SIGINT" ? "Ctrl-C (SIGINT)" : "kill -9"} of \`bootlab run\` while a guest runs leaves no QEMU`, async () => {
    const out = tempDir("bootlab-orphan-");
    const cli = startCli(out.path);
    try {
      // Wait until the guest is really running the long command (its QEMU exists and the shell answered).
      const up = await waitFor(() => qemuProcesses(out.path).length === 1, 60_000);
      assert.ok(up, `QEMU never started:\n${cli.output()}`);
      const pid = qemuProcesses(out.path)[0]!;
      await new Promise((r) => setTimeout(r, 3000));
      cli.child.kill(how);
      const exit = await cli.exited;
      if (how === "SIGINT") {
        assert.match(cli.output(), /bootlab: SIGINT: stopping machines…\nbootlab: all machines stopped\n/);
        // Deno's child_process reports the signal it sent instead of the child's exit code (130).
        if (!isDeno) assert.equal(exit.code, 130, cli.output());
      }
      else assert.equal(exit.signal, "SIGKILL");
      assert.ok(await waitFor(() => qemuProcesses(out.path).length === 0, 10_000), `QEMU ${pid} outlived the harness`);
    } finally {
      for (const p of qemuProcesses(out.path)) process.kill(p, "SIGKILL");
      cli.child.kill("SIGKILL");
      out.remove();
    }
  });
}
