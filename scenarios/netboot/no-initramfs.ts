import { readFileSync } from "node:fs";
import { scenario } from "../../harness/mod.ts";

// Seed 000's bug: the image that "boots" is a kernel without an initramfs, loaded over TFTP exactly like
// the working one. U-Boot is happy; the kernel has no root to mount. The run must say so as a product
// failure in the kernel's step — not a timeout, not a U-Boot error.
export default scenario({
  name: "U-Boot: a kernel without initramfs, tftpbooted into RAM, fails: VFS: Unable to mount root fs",
  targets: "all",
  timeouts: { bootSeconds: 90, stepSeconds: 60 },
  expectFailure: { kind: "product", message: "VFS: Unable to mount root fs", step: "kernel boots to the shell" },
}, async ({ lab, target, fixtures }) => {
  const lan = await lab.lan();
  lan.tftpFiles.set("openwrt-squashfs-kernel.bin", readFileSync((await fixtures.bootloaderKernel()).path));
  const board = await lab.boot(target, { firmware: await fixtures.uboot() });
  const ub = await board.uboot();
  await ub.setenv("ipaddr", "192.168.1.20");
  await ub.setenv("serverip", lan.server.ip);
  await ub.tftp("kernel", "openwrt-squashfs-kernel.bin");
  await ub.bootLoaded({ consoleDevice: target.machine.console.linuxDevice });
  await board.shell();
});
