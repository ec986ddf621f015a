import { readFileSync } from "node:fs";
import { scenario } from "../../harness/mod.ts";

// Seed 000: at the U-Boot prompt, the owner sets ipaddr and serverip by hand, loads the kernel and an
// initramfs over TFTP into RAM and boots them. The kernel's own userspace must answer.
export default scenario({
  name: "U-Boot: ipaddr/serverip by hand, tftpboot kernel + initramfs into RAM, boot to a shell",
  targets: "all",
  timeouts: { bootSeconds: 90, stepSeconds: 60 },
}, async ({ lab, target, fixtures }) => {
  const lan = await lab.lan();
  const kernel = await fixtures.bootloaderKernel();
  lan.tftpFiles.set(`${target.name}/kernel`, readFileSync(kernel.path));
  lan.tftpFiles.set(`${target.name}/initramfs.cpio.gz`, readFileSync(await fixtures.initramfs()));

  const board = await lab.boot(target, { firmware: await fixtures.uboot() });
  const ub = await board.uboot();
  await ub.setenv("ipaddr", "192.168.1.20");
  await ub.setenv("serverip", lan.server.ip);
  await ub.tftp("kernel", `${target.name}/kernel`);
  const rd = await ub.tftp("ramdisk", `${target.name}/initramfs.cpio.gz`);
  await ub.bootLoaded({ consoleDevice: target.machine.console.linuxDevice, ramdiskSize: rd });
  const sh = await board.shell();
  await sh.expectOk(`uname -m | grep -x ${target.guest.unameMachine}`);
  // bootargs carried the words every boot of this target gets (targets/*.json: guest.kernel.cmdline).
  for (const word of target.guest.kernel.cmdline) await sh.expectOk(`tr ' ' '\\n' < /proc/cmdline | grep -qxF -- '${word}'`);
  await board.powerOff();
});
