// Seed 004's boot paths end to end on the ARM targets (Debian kernels kexec there; malta's cannot, see
// targets/malta-mipsel.json): preinit from the "flash" initramfs, a stick hot-plugged or present, boot
// scripts over HTTP or on USB, kexec, stage 2 on a USB or NBD root, and the fallbacks to the flash root.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runScenarios } from "../../harness/scenario/runner.ts";
import { projectRoot } from "../../harness/paths.ts";
import { qemuProcesses, tempDir } from "../helpers.ts";

test("usbboot: every path and fallback of the preinit passes on both ARM targets; the console shows the branch taken", async () => {
  const out = tempDir("bootlab-usbboot-");
  try {
    const results = await runScenarios({ paths: [join(projectRoot, "scenarios/usbboot")], outDir: out.path });
    for (const r of results) assert.equal(r.status, "passed", `${r.id} on ${r.target}:\n${r.failure?.report()}`);
    assert.equal(results.length, 12);
    const branch = (id: string, target: string) => readFileSync(join(out.path, id, target, "console-ttyAMA0.log"), "utf8");
    for (const t of ["virt-arm64", "virt-armhf"]) {
      assert.match(branch("usbboot/usb-ext4", t), /preinit: running boot script from usb[\s\S]*stage2: switch_root to the usb root[\s\S]*root: usb root mounted/);
      assert.match(branch("usbboot/network-path", t), /preinit: running boot script from network[\s\S]*stage2: switch_root to the usb root/);
      assert.doesNotMatch(branch("usbboot/fallback-flash", t), /kexec into/);
    }
    assert.deepEqual(qemuProcesses(out.path), []);
  } finally {
    out.remove();
  }
});
