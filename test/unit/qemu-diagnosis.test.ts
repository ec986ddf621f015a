// QEMU's dying words, as QEMU 7.2 and setpriv print them on Debian 12, turned into the cause and the fix.
import { test } from "node:test";
import assert from "node:assert/strict";
import { diagnoseQemuExit } from "../../harness/machine/qemu-diagnosis.ts";

test("qemu diagnosis: a missing option ROM names the ROM and the Debian package that ships it", () => {
  const pcnet = diagnoseQemuExit(`qemu-system-mipsel: -device pcnet,netdev=n0,mac=52:54:00:fc:1c:3f: failed to find romfile "efi-pcnet.rom"\n`);
  assert.equal(pcnet.said, `qemu-system-mipsel: -device pcnet,netdev=n0,mac=52:54:00:fc:1c:3f: failed to find romfile "efi-pcnet.rom"`);
  assert.equal(pcnet.fix, "QEMU cannot find efi-pcnet.rom, an option ROM from Debian's ipxe-qemu: apt-get install -y --no-install-recommends ipxe-qemu (`npm start` does it when run as root)");
  const virtio = diagnoseQemuExit(`qemu-system-aarch64: -device virtio-net-pci,netdev=n0,mac=52:54:00:fc:b1:df: failed to find romfile "efi-virtio.rom"`);
  assert.match(virtio.fix!, /efi-virtio\.rom, an option ROM from Debian's ipxe-qemu/);
  // A ROM the requirements do not know still gets QEMU's words and a way to find the package.
  const other = diagnoseQemuExit(`qemu-system-x86_64: -device e1000: failed to find romfile "efi-e1000.rom"`);
  assert.match(other.fix!, /apt-file search efi-e1000\.rom/);
});

test("qemu diagnosis: a QEMU binary that is not installed names its package; a missing file names the file", () => {
  const bin = diagnoseQemuExit("setpriv: failed to execute qemu-system-mipsel: No such file or directory\n", "qemu-system-mipsel");
  assert.match(bin.fix!, /^qemu-system-mipsel is not installed: install Debian's qemu-system-mips/);
  const disk = diagnoseQemuExit("qemu-system-mipsel: -drive file=/nonexist.img,if=none,id=d0,format=qcow2: Could not open '/nonexist.img': No such file or directory\n");
  assert.equal(disk.fix, "a file QEMU was given does not exist: /nonexist.img");
  const kernel = diagnoseQemuExit("qemu-system-aarch64: could not load kernel '/nonexistent'\n");
  assert.equal(kernel.fix, "a file QEMU was given does not exist: /nonexistent");
});

test("qemu diagnosis: an unknown death keeps QEMU's last error lines and guesses no fix", () => {
  const d = diagnoseQemuExit("qemu-system-arm: warning: something harmless\nqemu-system-arm: Property 'virt-machine.x' not found\n");
  assert.equal(d.said, "qemu-system-arm: Property 'virt-machine.x' not found");
  assert.equal(d.fix, undefined);
  assert.equal(diagnoseQemuExit("").said, "");
});
