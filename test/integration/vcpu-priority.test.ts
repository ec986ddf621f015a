// QEMU's vCPU threads run below the lab and QEMU's own main loop (harness/machine/vcpu-priority.ts): on each
// target, a real QEMU started the way bootlab starts every machine has its vCPU threads at nice 10 and its
// main thread, which carries the frames and console bytes, at the harness's own priority.
import { test } from "node:test";
import assert from "node:assert/strict";
import { getPriority } from "node:os";
import { Machine } from "../../harness/machine/machine.ts";
import { VCPU_NICE } from "../../harness/machine/vcpu-priority.ts";
import { Owner } from "../../harness/lifecycle/owner.ts";
import { loadCatalogue } from "../../harness/targets/catalogue.ts";
import { qemuProcesses, tempDir } from "../helpers.ts";

for (const target of loadCatalogue().values()) {
  test(`vcpu priority: ${target.name}'s vCPU threads run at nice ${VCPU_NICE}, QEMU's main loop at the lab's priority`, async () => {
    const dir = tempDir("bootlab-vcpu-");
    const owner = new Owner("test");
    try {
      const machine = await Machine.start({
        name: target.name, target, owner, artifacts: dir.path, runDir: dir.path, badPatterns: [],
        plan: { media: {}, nics: [] }, paused: true,
      });
      const cpus = await machine.command<{ "thread-id": number }[]>("query-cpus-fast");
      assert.ok(cpus.length >= 1);
      for (const c of cpus) assert.equal(getPriority(c["thread-id"]), VCPU_NICE, `vCPU thread ${c["thread-id"]}`);
      const qemuPid = await machine.qemuPid();
      assert.notEqual(qemuPid, cpus[0]!["thread-id"], "the vCPU is a thread of its own, not QEMU's main thread");
      assert.equal(getPriority(qemuPid), getPriority(process.pid), "QEMU's main loop");
    } finally {
      await owner.close();
      dir.remove();
    }
    assert.deepEqual(qemuProcesses(dir.path), []);
  });
}
