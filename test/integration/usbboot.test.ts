// Seed 004's boot paths end to end on all three targets: preinit from the firmware initramfs, the flash
// image (squashfs + jffs2 through block2mtd on malta, squashfs + ext4 through loop devices on ARM), a
// stick present or hot-plugged, vfat or ext4, boot scripts over HTTP or on USB, kexec (malta: into the
// kernel built from Debian's source, stage 2 built in), stage 2 on a USB, loop-image or NBD root, and the
// fallbacks to the flash root.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runScenarios } from "../../harness/scenario/runner.ts";
import { ProductFailure } from "../../harness/errors/failures.ts";
import { projectRoot } from "../../harness/paths.ts";
import { libraryRun, qemuProcesses, SECOND_RUNTIME_PAIRS, secondRuntime, tempDir } from "../helpers.ts";

const TARGETS = { "malta-mipsel": "ttyS0", "virt-arm64": "ttyAMA0", "virt-armhf": "ttyAMA0" } as const;

test("usbboot: every path and fallback of the preinit passes on malta and both ARM targets; the console shows the branch taken", async () => {
  const out = tempDir("bootlab-usbboot-");
  try {
    const results = await runScenarios({ paths: [join(projectRoot, "scenarios/usbboot")], outDir: out.path, ...libraryRun("usbboot") });
    for (const r of results) assert.equal(r.status, "passed", `${r.id} on ${r.target}:\n${r.failure?.report()}`);
    assert.equal(results.length, secondRuntime ? SECOND_RUNTIME_PAIRS.usbboot!.length : 21);
    assert.deepEqual([...new Set(results.map((r) => r.target))].sort(), Object.keys(TARGETS).sort(), "every target ran");
    // What each path's console shows, on whichever targets it ran.
    const shows: Record<string, (log: string, target: string) => void> = {
      "usbboot/usb-ext4": (log) => assert.match(log, /preinit: running boot script from usb[\s\S]*stage2: switch_root to the usb root[\s\S]*root: usb root mounted/),
      "usbboot/usb-vfat-loop": (log) => assert.match(log, /preinit: USB: mounted \/dev\/sda \(vfat\)[\s\S]*stage2: switch_root to the usb-image:\/rootfs\.img root/),
      "usbboot/network-path": (log) => assert.match(log, /preinit: running boot script from network[\s\S]*stage2: switch_root to the usb root/),
      "usbboot/fallback-flash": (log, t) => {
        assert.doesNotMatch(log, /kexec into/);
        // The flash root is the squashfs partition with rootfs_data over it: jffs2 on an MTD on malta, ext4 on ARM.
        const fs = t === "malta-mipsel" ? "jffs2" : "ext4";
        assert.equal(log.match(new RegExp(`preinit\\.00: flash root: squashfs from [^\\n]+ \\+ ${fs} overlay`, "g"))?.length, 2, "the flash root, before and after the reboot");
        if (t === "malta-mipsel") assert.match(log, /Creating 7 MTD partitions on "flash"/);
      },
      "usbboot/corrupt-kernel": (log) => assert.match(log, /boot script: kexec load failed[\s\S]*flash root: up/),
    };
    for (const r of results) {
      const tty = TARGETS[r.target as keyof typeof TARGETS];
      shows[r.id]?.(readFileSync(join(out.path, r.id, r.target, `console-${tty}.log`), "utf8"), r.target);
    }
    assert.deepEqual(qemuProcesses(out.path), []);
  } finally {
    out.remove();
  }
});

test("usbboot: waiting for the USB path without a stick fails in that step, quoting the preinit's branch and reason", async () => {
  const out = tempDir("bootlab-usbboot-fail-");
  try {
    const [r] = await runScenarios({ paths: [join(projectRoot, "test/scenarios/failing/usb-path-without-stick.ts")], outDir: out.path });
    assert.equal(r!.status, "failed");
    assert.ok(r!.failure instanceof ProductFailure, r!.failure?.report());
    assert.equal(r!.failure!.message, "preinit: USB mount failed: no such device (/dev/sda after 1 s)");
    assert.equal(r!.failure!.context.step, "preinit mounts the stick read-only");
    assert.deepEqual(qemuProcesses(out.path), []);
  } finally {
    out.remove();
  }
});
