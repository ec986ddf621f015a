import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadCatalogue, parseTarget } from "../../harness/targets/catalogue.ts";
import { ScenarioError } from "../../harness/errors/failures.ts";
import { projectRoot } from "../../harness/paths.ts";
import { qemuArgs } from "../../harness/machine/qemu-args.ts";
import { tempDir } from "../helpers.ts";

const malta = () => JSON.parse(readFileSync(join(projectRoot, "targets/malta-mipsel.json"), "utf8")) as Record<string, any>;

test("targets: the shipped catalogue has the three boards and validates", () => {
  const cat = loadCatalogue();
  assert.deepEqual([...cat.keys()].sort(), ["malta-mipsel", "virt-arm64", "virt-armhf"]);
  assert.equal(cat.get("virt-arm64")!.unameMachine, "aarch64");
});

test("targets: every problem is reported with the file, the field and what was expected", () => {
  const bad = malta();
  bad.qemu.memoryMiB = "256";
  bad.console.linuxDevice = "serial0";
  delete bad.nic.device;
  bad.kernal = {};
  assert.throws(() => parseTarget("targets/bad.json", bad), (e: unknown) => {
    assert.ok(e instanceof ScenarioError);
    assert.match(e.message, /^targets\/bad\.json: invalid target/);
    assert.match(e.message, /field qemu\.memoryMiB: expected a whole number ≥ 16 and ≤ 16384 \(MiB\), got "256"/);
    assert.match(e.message, /field console\.linuxDevice: expected a tty name like ttyS0, got "serial0"/);
    assert.match(e.message, /field nic\.device: expected a non-empty string, got nothing \(the field is missing\)/);
    assert.match(e.message, /field kernal: unknown field \(misspelt\?\)/);
    return true;
  });
});

test("targets: a file whose name differs from the target's name is refused", () => {
  assert.throws(() => parseTarget("targets/other.json", malta()), /field name: expected "other"/);
});

test("targets: a broken JSON file in a catalogue folder names the file", () => {
  const t = tempDir();
  try {
    writeFileSync(join(t.path, "x.json"), "{ nope");
    assert.throws(() => loadCatalogue(t.path), /x\.json: not valid JSON/);
  } finally {
    t.remove();
  }
});

test("targets: the command line comes from the data — machine, cpu, memory, NIC, console", () => {
  const cat = loadCatalogue();
  const argv = qemuArgs({
    target: cat.get("virt-armhf")!, media: { kernel: "/k", initrd: "/i", append: ["quiet"] },
    nics: [{ id: "n0", mac: "52:54:00:00:00:01", lanSocket: "/run/lan.sock" }],
    consoles: [{ id: "con0", socket: "/run/c.sock", logfile: "/out/c.raw" }], qmpSocket: "/run/q.sock",
  });
  const s = argv.join(" ");
  assert.equal(argv[0], "qemu-system-arm");
  assert.match(s, /-M virt,highmem=off -cpu cortex-a15 -m 256 /);
  assert.match(s, /-netdev stream,id=n0,server=off,addr\.type=unix,addr\.path=\/run\/lan\.sock -device virtio-net-pci,netdev=n0,mac=52:54:00:00:00:01/);
  assert.match(s, /-append console=ttyAMA0 panic=1 quiet$/);
  assert.ok(argv.includes("-nodefaults") && !argv.includes("-S"));
});

test("targets: the U-Boot, USB, kexec (and its kernel build), flash and snapshot fields are checked too, each problem named by its field", () => {
  const bad = malta();
  bad.uboot.kernel.format = "vmlinux";
  bad.uboot.addresses.kernel = "82000000";
  bad.usb.linuxModules = "ehci_pci";
  bad.kexec.supported = "no";
  bad.snapshots.colour = "red";
  delete bad.kexec.kernel.crossCompile;
  bad.flashAsDisk.access = "nand";
  bad.kernel.commandLineLimit.bytes = "255";
  bad.flashAsDisk.dataFs = 4;
  assert.throws(() => parseTarget("targets/bad.json", bad), (e: unknown) => {
    assert.ok(e instanceof ScenarioError);
    assert.match(e.message, /field uboot\.kernel\.format: expected one of "uImage", "zImage", "Image", got "vmlinux"/);
    assert.match(e.message, /field uboot\.addresses\.kernel: expected a hex address like "0x82000000", got "82000000"/);
    assert.match(e.message, /field usb\.linuxModules: expected an array of non-empty strings/);
    assert.match(e.message, /field kexec\.supported: expected true or false, got "no"/);
    assert.match(e.message, /field snapshots\.colour: unknown field/);
    assert.match(e.message, /field kexec\.kernel\.crossCompile: expected/);
    assert.match(e.message, /field flashAsDisk\.access: expected block2mtd or loop, got "nand"/);
    assert.match(e.message, /field kernel\.commandLineLimit\.bytes: expected/);
    assert.match(e.message, /field flashAsDisk\.dataFs: expected/);
    return true;
  });
});
