import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadCatalogue, parseTarget, ubootKernelEnv } from "../../harness/targets/catalogue.ts";
import { ScenarioError } from "../../harness/errors/failures.ts";
import { projectRoot } from "../../harness/paths.ts";
import { qemuArgs } from "../../harness/machine/qemu-args.ts";
import { tempDir } from "../helpers.ts";

const malta = () => JSON.parse(readFileSync(join(projectRoot, "targets/malta-mipsel.json"), "utf8")) as Record<string, any>;

test("targets: the shipped catalogue has the three boards and validates", () => {
  const cat = loadCatalogue();
  assert.deepEqual([...cat.keys()].sort(), ["malta-mipsel", "virt-arm64", "virt-armhf"]);
  assert.equal(cat.get("virt-arm64")!.guest.unameMachine, "aarch64");
});

test("targets: every problem is reported with the file, the field and what was expected", () => {
  const bad = malta();
  bad.machine.qemu.memoryMiB = "256";
  bad.machine.console.linuxDevice = "serial0";
  delete bad.machine.nic.device;
  bad.guest.kernal = {};
  assert.throws(() => parseTarget("targets/bad.json", bad), (e: unknown) => {
    assert.ok(e instanceof ScenarioError);
    assert.match(e.message, /^targets\/bad\.json: invalid target/);
    assert.match(e.message, /field machine\.qemu\.memoryMiB: expected a whole number ≥ 16 and ≤ 16384 \(MiB\), got "256"/);
    assert.match(e.message, /field machine\.console\.linuxDevice: expected a tty name like ttyS0, got "serial0"/);
    assert.match(e.message, /field machine\.nic\.device: expected a non-empty string, got nothing \(the field is missing\)/);
    assert.match(e.message, /field guest\.kernal: unknown field \(misspelt\?\)/);
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

test("targets: the command line comes from the data — machine, cpu, memory, NIC, console, the target's kernel words", () => {
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
  assert.match(s, /-append console=ttyAMA0 panic=1 cryptomgr\.notests quiet$/);
  assert.ok(argv.includes("-nodefaults") && !argv.includes("-S"));
});

test("targets: the U-Boot, USB, kexec (and its kernel build), flash-as-disk, board flash and snapshot fields are checked too, each problem named by its field", () => {
  const bad = malta();
  bad.firmware.uboot.kernel.format = "vmlinux";
  bad.firmware.uboot.addresses.kernel = "82000000";
  bad.machine.usb.linuxModules = "ehci_pci";
  bad.flows.kexec.supported = "no";
  bad.machine.snapshots.colour = "red";
  delete bad.flows.kexec.kernel.crossCompile;
  bad.flows.flashAsDisk.access = "nand";
  bad.guest.kernel.commandLineLimit.bytes = "255";
  bad.flows.flashAsDisk.dataFs = 4;
  bad.machine.flash.chips[0].address = 0x1e000000;
  bad.machine.flash.firstOutputSeconds = 0;
  bad.firmware.uboot.kernel.gzip = { unpackAddress: 0x46000000, maxBytes: "0x2000000" };
  assert.throws(() => parseTarget("targets/bad.json", bad), (e: unknown) => {
    assert.ok(e instanceof ScenarioError);
    assert.match(e.message, /field firmware\.uboot\.kernel\.format: expected one of "uImage", "zImage", "Image", got "vmlinux"/);
    assert.match(e.message, /field firmware\.uboot\.addresses\.kernel: expected a hex address like "0x82000000", got "82000000"/);
    assert.match(e.message, /field machine\.usb\.linuxModules: expected an array of non-empty strings/);
    assert.match(e.message, /field flows\.kexec\.supported: expected true or false, got "no"/);
    assert.match(e.message, /field machine\.snapshots\.colour: unknown field/);
    assert.match(e.message, /field flows\.kexec\.kernel\.crossCompile: expected/);
    assert.match(e.message, /field flows\.flashAsDisk\.access: expected one of "block2mtd", "loop", got "nand"/);
    assert.match(e.message, /field guest\.kernel\.commandLineLimit\.bytes: expected/);
    assert.match(e.message, /field flows\.flashAsDisk\.dataFs: expected/);
    assert.match(e.message, /field machine\.flash\.chips\[0\]\.address: expected a hex address like "0x82000000", got 503316480/);
    assert.match(e.message, /field machine\.flash\.firstOutputSeconds: expected a number ≥ 1 and ≤ 120 \(seconds\), got 0/);
    assert.match(e.message, /field firmware\.uboot\.kernel\.gzip\.unpackAddress: expected a hex address like "0x82000000", got 1174405120/);
    return true;
  });
});

test("targets: a target whose U-Boot unpacks a gzipped Image names the variables booti needs; the others need none", () => {
  const cat = loadCatalogue();
  assert.deepEqual(ubootKernelEnv(cat.get("virt-arm64")!.firmware.uboot!), { kernel_comp_addr_r: "0x46000000", kernel_comp_size: "0x02000000" });
  assert.deepEqual(ubootKernelEnv(cat.get("malta-mipsel")!.firmware.uboot!), {});
  assert.deepEqual(ubootKernelEnv(cat.get("virt-armhf")!.firmware.uboot!), {});
});

test("targets: optional groups and defaults — absent optional fields are left out, defaults filled in, the grouped shape is what the file says", () => {
  const raw = malta();
  delete raw.machine.usb;
  delete raw.machine.flash.firstOutputSeconds;
  delete raw.firmware.uboot.autoboot;
  delete raw.flows.kexec.supported;
  const t = parseTarget("targets/malta-mipsel.json", raw);
  assert.equal("usb" in t.machine, false, "an absent optional object is not a key holding undefined");
  assert.equal(t.machine.flash!.firstOutputSeconds, 3);
  assert.equal(t.firmware.uboot!.autoboot, false);
  assert.equal(t.flows.kexec!.supported, true);
  assert.equal(t.machine.flash!.chips[0]!.address, 0xbe000000, "hex strings are read as numbers");
  assert.deepEqual(Object.keys(t), ["name", "description", "machine", "guest", "firmware", "flows"]);
});
