// Machine snapshots, end to end with QEMU: a board prepared once (shell, lease, a disk write) and then
// restored behaves like the cold-booted one — shell, timer, NIC, LAN both ways, disk — on every target
// (malta's CP0 timer, which QEMU 7.2 leaves out of the saved state, re-armed through the gdbstub). A changed
// input means a cold boot that says why; two forks restored side by side do not see each other's disk
// writes, and the image stays untouched.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadScenarios, runOne, runScenarios, type ScenarioResult } from "../../harness/scenario/runner.ts";
import { Fixtures } from "../../harness/fixtures/fixtures.ts";
import { SnapshotCache } from "../../harness/snapshot/cache.ts";
import { projectRoot } from "../../harness/paths.ts";
import { libraryRun, qemuProcesses, tempDir } from "../helpers.ts";

const dir = tempDir("bootlab-snapshot-");
const disk = join(dir.path, "disk.img");
const cacheDir = join(dir.path, "snapshots");
const scenarioFile = join(projectRoot, "test/scenarios/snapshot/disk-and-lan.ts");
const saved: Record<string, string | undefined> = {};

before(() => {
  writeFileSync(disk, new Uint8Array(1 << 20));
  for (const k of ["BOOTLAB_TEST_DISK", "BOOTLAB_SNAPSHOT_CACHE", "BOOTLAB_TEST_VARIANT", "BOOTLAB_NO_SNAPSHOTS"]) saved[k] = process.env[k];
  process.env.BOOTLAB_TEST_DISK = disk;
  process.env.BOOTLAB_SNAPSHOT_CACHE = cacheDir;
  delete process.env.BOOTLAB_TEST_VARIANT;
  delete process.env.BOOTLAB_NO_SNAPSHOTS;
});
after(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  dir.remove();
});

const stepNames = (r: ScenarioResult) => r.steps.map((s) => s.name);
const runLog = (r: ScenarioResult) => readFileSync(join(r.artifacts, "run.log"), "utf8");

test("snapshot: the cold run saves; the restored run passes the same checks without booting, malta too", async () => {
  const out = join(dir.path, "out");
  const cold = await runScenarios({ paths: [scenarioFile], outDir: join(out, "cold"), jobs: libraryRun().jobs });
  for (const r of cold) assert.equal(r.status, "passed", r.failure?.report());
  for (const r of cold) assert.ok(stepNames(r).includes('save snapshot "test-disk-lan"'), `${r.target}: ${stepNames(r)}`);
  assert.equal(new SnapshotCache(cacheDir).list().length, 3);

  const warm = await runScenarios({ paths: [scenarioFile], outDir: join(out, "warm"), jobs: libraryRun().jobs });
  for (const r of warm) {
    assert.equal(r.status, "passed", r.failure?.report());
    assert.match(runLog(r), /snapshot "test-disk-lan" \([0-9a-f]{12}\) restored in \d+ ms/);
    assert.match(runLog(r), /restored: [0-9a-f]{32}/);
    assert.ok(!stepNames(r).some((n) => n.startsWith("prepare snapshot point") || n === "kernel boots to the shell"), `${r.target}: ${stepNames(r)}`);
  }
  // The image itself was never written: every write went to a per-run overlay.
  assert.ok(new Uint8Array(readFileSync(disk)).every((b) => b === 0));
  assert.deepEqual(qemuProcesses(out), []);
});

test("snapshot: a changed input is a cold boot with a note naming it; two forks restored at once keep their own disk writes", async () => {
  const [s] = await loadScenarios([scenarioFile]);
  const fixtures = new Fixtures();
  process.env.BOOTLAB_TEST_VARIANT = "changed initramfs";
  try {
    const changed = await runOne(s!, "virt-arm64", fixtures, join(dir.path, "out-changed"));
    assert.equal(changed.status, "passed", changed.failure?.report());
    assert.ok(stepNames(changed).includes('prepare snapshot point "test-disk-lan"'));
    assert.match(runLog(changed), /cold boot: the saved one was made from other inputs \(QEMU command line or a boot file\)/);
  } finally {
    delete process.env.BOOTLAB_TEST_VARIANT;
  }
  // Both forks restore the first snapshot (the original inputs) at the same time.
  const forks = await Promise.all(["a", "b"].map((f) => runOne(s!, "virt-arm64", fixtures, join(dir.path, `out-fork-${f}`))));
  for (const r of forks) {
    assert.equal(r.status, "passed", r.failure?.report());
    assert.match(runLog(r), /restored in \d+ ms/);
  }
  assert.ok(new Uint8Array(readFileSync(disk)).every((b) => b === 0));
  assert.deepEqual(qemuProcesses(dir.path), []);
});
