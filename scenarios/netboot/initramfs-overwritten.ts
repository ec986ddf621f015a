import { readFileSync } from "node:fs";
import { scenario } from "../../harness/mod.ts";

// A load-address mistake U-Boot cannot see: the initramfs is placed where the kernel decompresses itself
// (malta's zboot unpacks to 0x80100000 and up). U-Boot boots; the kernel finds its initramfs overwritten,
// says so, and then has no root. The scenario asserts exactly that sequence.
export default scenario({
  name: "U-Boot: an initramfs inside the kernel's copy range is overwritten: Initramfs unpacking failed, then no root",
  targets: ["malta-mipsel"],
  timeouts: { bootSeconds: 60, stepSeconds: 60 },
}, async ({ lab, target, fixtures }) => {
  const lan = await lab.lan();
  lan.tftpFiles.set("kernel", readFileSync((await fixtures.bootloaderKernel()).path));
  lan.tftpFiles.set("initramfs.cpio.gz", readFileSync(await fixtures.initramfs()));
  const board = await lab.boot(target, { firmware: await fixtures.uboot() });
  const ub = await board.uboot();
  await ub.setenv("ipaddr", "192.168.1.20");
  await ub.setenv("serverip", lan.server.ip);
  await ub.tftp("kernel", "kernel");
  const inKernel = 0x80400000;
  const rd = await ub.tftp("ramdisk", "initramfs.cpio.gz", { step: "U-Boot: tftpboot initramfs into the kernel's range" });
  await ub.expectOk(`cp.b ${ub.addr("ramdisk")} 0x${inKernel.toString(16)} 0x${rd.toString(16)}`);
  await ub.bootLoaded({ consoleDevice: target.machine.console.linuxDevice, ramdiskSize: rd, ramdiskAddress: inKernel });
  await board.expect(/Initramfs unpacking failed: [^\n]*/, "the kernel finds its initramfs overwritten");
  await board.expect(/Kernel panic - not syncing: VFS: Unable to mount root fs[^\n]*/, "and then has no root", { allow: ["kernel-panic"] });
});
