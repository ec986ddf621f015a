// End to end: real QEMU, real Debian kernels, real busybox, on all three targets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { runScenarios, type ScenarioResult } from "../../harness/scenario/runner.ts";
import { ProductFailure } from "../../harness/errors/failures.ts";
import { junitXml, tap } from "../../harness/report/junit.ts";
import { projectRoot } from "../../harness/paths.ts";
import { qemuProcesses, tempDir, waitFor } from "../helpers.ts";

const here = new URL(".", import.meta.url).pathname;
const out = tempDir("bootlab-it-");

test("smoke: every target boots its Debian kernel to a shell, drives its NIC and powers off; the no-initramfs scenario fails as expected", async () => {
  // One pair at a time: this file shares the machine with another test file (test/schedule.mjs).
  const results: ScenarioResult[] = await runScenarios({ paths: [join(projectRoot, "scenarios/smoke")], targets: "all", outDir: out.path, jobs: 1 });
  const byKey = new Map(results.map((r) => [`${r.id}@${r.target}`, r]));
  for (const t of ["malta-mipsel", "virt-armhf", "virt-arm64"]) {
    const boot = byKey.get(`smoke/boot-to-shell@${t}`)!;
    assert.equal(boot.status, "passed", boot.failure?.report());
    assert.ok(boot.steps.some((s) => s.name === "power off" && s.status === "passed"));
    const panic = byKey.get(`smoke/no-initramfs-panics@${t}`)!;
    assert.equal(panic.status, "passed", panic.failure?.report());
    assert.equal(panic.expectedFailureSeen, true);
    assert.match(panic.failure!.context.seen!, /Kernel panic - not syncing: VFS: Unable to mount root fs/);
    // bootlab types with the tty's echo off once the shell is synced (LinuxShell.sync): busybox sh answers
    // without echoing any command's framing, and the transcript notes what was typed instead.
    const con = readFileSync(join(boot.artifacts, `console-${t === "malta-mipsel" ? "ttyS0" : "ttyAMA0"}.log`), "utf8");
    assert.match(con, /## bootlab: \$ \S/, t);
    assert.doesNotMatch(con, /printf '\\036BL-\d+c\d+-B/, `${t}: a command's framing was echoed`);
  }
  // The artifact folder of a run shows what happened.
  const art = byKey.get("smoke/boot-to-shell@malta-mipsel")!.artifacts;
  assert.match(readFileSync(join(art, "console-ttyS0.log"), "utf8"), /\] bootlab-init: ready \(6\.1\.\S+ mips\)/);
  const timeline = JSON.parse(readFileSync(join(art, "timeline.json"), "utf8"));
  assert.equal(timeline.status, "passed");
  assert.ok(timeline.steps.find((s: { name: string }) => s.name === "kernel boots to the shell"));
  assert.match(readFileSync(join(art, "qemu-cmdline.txt"), "utf8"), /^qemu-system-mipsel -M malta /);
  const repro = join(art, "repro.sh");
  assert.ok(statSync(repro).mode & 0o100);
  assert.match(readFileSync(repro, "utf8"), /exec qemu-system-mipsel .*-serial mon:stdio/);
  // Reports for CI.
  const xml = junitXml(results);
  assert.match(xml, /<testsuite name="bootlab" tests="6" failures="0"/);
  assert.match(tap(results), /^ok 6 - /m);
  assert.deepEqual(qemuProcesses(out.path), []);
});

test("a kernel with no initramfs: the run reports a product failure quoting the panic, in the boot step, not a timeout", async () => {
  const [r] = await runScenarios({ paths: [join(here, "../scenarios/failing/no-initramfs.ts")], outDir: out.path });
  assert.equal(r!.status, "failed");
  assert.ok(r!.failure instanceof ProductFailure, r!.failure?.report());
  assert.match(r!.failure!.message, /Kernel panic - not syncing: VFS: Unable to mount root fs/);
  assert.equal(r!.failure!.context.step, "kernel boots to the shell");
  assert.equal(r!.failure!.context.scenario, r!.id);
  assert.equal(r!.failure!.context.target, "malta-mipsel");
  assert.ok(r!.failure!.context.consoleTail!.some((l) => l.includes("Kernel panic")));
  const report = readFileSync(join(r!.artifacts, "failure.txt"), "utf8");
  assert.match(report, /^PRODUCT FAILURE: kernel-panic/);
  assert.match(report, /last console lines:/);
  assert.deepEqual(qemuProcesses(r!.artifacts), []);
});

test("QMP on a real QEMU: stop/cont keep the shell; system_reset is caught as an unexpected reset", async () => {
  const [r] = await runScenarios({ paths: [join(here, "../scenarios/good/qmp-control.ts")], outDir: out.path });
  assert.equal(r!.status, "passed", r!.failure?.report());
  assert.ok(r!.steps.some((s) => s.name === "pause and resume" && s.status === "passed"));
  assert.ok(r!.steps.some((s) => s.name === "run: echo still here" && s.status === "passed"));
  assert.equal(r!.failure!.context.step, "idle after reset");
  assert.ok(await waitFor(() => qemuProcesses(out.path).length === 0, 5000));
});

test("a deliberate reboot inside an allowing() scope passes", async () => {
  const [r] = await runScenarios({ paths: [join(here, "../scenarios/good/reboot-allowed.ts")], outDir: out.path });
  assert.equal(r!.status, "passed", r!.failure?.report());
  assert.ok(r!.steps.some((s) => s.name === "the board boots again" && s.status === "passed"));
});

test("malta's 255-byte command line: a line at the limit reaches the kernel whole, one byte more is a scenario error before power-on", async () => {
  const [r] = await runScenarios({ paths: [join(here, "../scenarios/good/command-line-limit.ts")], outDir: out.path });
  assert.equal(r!.status, "passed", r!.failure?.report());
  assert.ok(!r!.steps.some((s) => s.name === "power on too-long"), "the refused board never reached power-on");
});

test("after the integration runs, no QEMU of ours is left", () => {
  assert.deepEqual(qemuProcesses(out.path), []);
  assert.ok(existsSync(out.path));
  out.remove();
});
