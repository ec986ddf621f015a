// Seed 003 end to end on virt-armhf and virt-arm64: blank storage flashed through the boot ROM's USB
// download from the seed's flash.tsv, then booted from the storage alone; the ways it goes wrong, each in its
// step with its kind (scenarios/factory-flash/); and `bootlab flash` on a layout it has never seen.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runScenarios } from "../../harness/scenario/runner.ts";
import { projectRoot } from "../../harness/paths.ts";
import { Fixtures } from "../../harness/fixtures/fixtures.ts";
import { targetFixtures } from "../../harness/scenario/context.ts";
import { Steps } from "../../harness/scenario/steps.ts";
import { getTarget } from "../../harness/targets/catalogue.ts";
import { factoryRelease } from "../../harness/flows/factory-flash.ts";
import { readGpt } from "../../harness/images/gpt.ts";
import { libraryRun, qemuProcesses, secondRuntime, tempDir } from "../helpers.ts";

const TARGETS = ["virt-armhf", "virt-arm64"];

test("factory flashing (seed 003): blank → flashed → boots from storage; a too-big image and boot1 on an SD card refused before start; a misplaced first stage dead; a rootfs not bootable and a wrong console= each reported in their step", async () => {
  const out = tempDir("bootlab-factory-");
  try {
    const results = await runScenarios({ paths: [join(projectRoot, "scenarios/factory-flash")], targets: TARGETS, outDir: out.path, ...libraryRun() });
    assert.equal(results.length, secondRuntime ? 6 : 12);
    assert.equal(new Set(results.map((r) => r.target)).size, 2, "both targets ran");
    for (const r of results) assert.equal(r.status, "passed", `${r.id} on ${r.target}:\n${r.failure?.report()}`);
    for (const r of results) {
      const log = readFileSync(join(r.artifacts, "run.log"), "utf8");
      if (r.id === "factory-flash/blank-to-shell") {
        assert.ok(!r.expectedFailureSeen);
        assert.match(log, /flashing: boot ROM, switch on usb: USB download of u-boot\.stm32: \d+-byte first stage, checksum good: running it/);
        assert.match(log, /from-storage: boot ROM, switch on sd: fsbl1 \(partition 1, LBA 34\): \d+-byte first stage, checksum good: running it/);
        const board = readFileSync(join(r.artifacts, "from-storage", `console-ttyAMA0.log`), "utf8");
        assert.match(board, /Found \/boot\/extlinux\/extlinux\.conf/);
        assert.match(board, /bootlab-initramfs: root \/dev\/vda4 mounted/);
      } else {
        assert.ok(r.expectedFailureSeen, `${r.id} failed the way it says`);
      }
      if (r.id === "factory-flash/card-too-small" || r.id === "factory-flash/boot1-on-sd-card") {
        assert.ok(!r.steps.some((s) => s.name.startsWith("power on")), `${r.id}: refused before any machine started`);
      }
      if (r.id === "factory-flash/first-stage-misplaced") assert.match(log, /fsbl1 \(partition 1, LBA 34\): no image .*fsbl2 .*no image.*the board stays silent/);
    }
    assert.deepEqual(qemuProcesses(out.path), []);
  } finally {
    out.remove();
  }
});

const isDeno = "Deno" in globalThis;
const cli = (...args: string[]) => {
  const argv = isDeno ? ["run", "-A", join(projectRoot, "harness/cli/main.ts")] : [join(projectRoot, "bin/bootlab.mjs")];
  const r = spawnSync(process.execPath, [...argv, ...args], { cwd: projectRoot, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

test("bootlab flash: programs a blank board from a per-partition layout it has never seen (GPT from the layout), boots it from storage and keeps the image; a bad layout exits 2 before any machine", async () => {
  const d = tempDir("bootlab-flash-cmd-");
  try {
    const target = getTarget(secondRuntime ? "virt-arm64" : "virt-armhf");
    await factoryRelease(target, targetFixtures(new Fixtures(), target, new Steps()), d.path);
    // ST's style: the boot chain, then each partition on its own line; rootfs "System" (bootable).
    writeFileSync(join(d.path, "parts.tsv"), [
      "#Opt\tId\tName\tType\tIP\tOffset\tBinary",
      "-\t0x01\tfsbl1-boot\tBinary\tnone\t0x0\tu-boot.stm32",
      "-\t0x03\tssbl-boot\tBinary\tnone\t0x0\tu-boot.stm32",
      "P\t0x04\tfsbl1\tBinary\tmmc0\t0x00004400\tu-boot.stm32",
      "P\t0x05\tfsbl2\tBinary\tmmc0\t0x00204400\tu-boot.stm32",
      "P\t0x06\tssbl\tBinary\tmmc0\t0x00404400\tu-boot.stm32",
      "P\t0x21\trootfs\tSystem\tmmc0\t0x00800000\trootfs.ext4",
      "",
    ].join("\n"));
    const r = cli("flash", "--layout", join(d.path, "parts.tsv"), "--target", target.name, "--keep", join(d.path, "keep"), "--out", join(d.path, "out"));
    assert.equal(r.code, 0, r.out + r.err);
    for (const id of ["0x04", "0x05", "0x06", "0x21"]) assert.match(r.out, new RegExp(`Start operation done successfully at partition ${id}`));
    assert.match(r.out, /booted from storage: root=\/dev\/vda4 build=factory-/);
    const img = readFileSync(join(d.path, "keep", "storage.img"));
    const gpt = readGpt((o, l) => new Uint8Array(img.subarray(o, o + l)));
    assert.ok(Array.isArray(gpt), String(gpt));
    assert.deepEqual(gpt.map((p) => [p.name, p.bootable]), [["fsbl1", false], ["fsbl2", false], ["ssbl", false], ["rootfs", true]]);
    const sf = spawnSync("sfdisk", ["-d", join(d.path, "keep", "storage.img")], { encoding: "utf8" });
    assert.match(sf.stdout, /name="rootfs", attrs="LegacyBIOSBootable"/, "sfdisk reads the GPT the programmer wrote");

    writeFileSync(join(d.path, "bad.tsv"), "#Opt\tId\tName\tType\tIP\tOffset\tBinary\n-\t0x01\tfsbl1-boot\tBinary\tnone\t0x0\tu-boot.stm32\nP\t0x10\tsdcard\tRawImage\tmmc7\t0x0\tmissing.img\n");
    const bad = cli("flash", "--layout", join(d.path, "bad.tsv"), "--target", target.name, "--out", join(d.path, "out"));
    assert.equal(bad.code, 2, bad.out + bad.err);
    assert.match(bad.out + bad.err, /bad\.tsv:3:\d+: .*missing\.img does not exist/);
    assert.match(bad.out + bad.err, /bad\.tsv:3:\d+: mmc7 is not in the device table/);
    assert.deepEqual(qemuProcesses(d.path), []);
  } finally {
    d.remove();
  }
});
