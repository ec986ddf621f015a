import { readFileSync } from "node:fs";
import { scenario } from "../../harness/mod.ts";

// Malta's U-Boot passes no memory size: a Debian kernel booted by bootm without `memsize=` in bootargs
// believes it has 256 bytes of RAM and panics while it sets up memory.
export default scenario({
  name: "U-Boot: malta without memsize= in bootargs panics early (no memory for the device tree)",
  targets: ["malta-mipsel"],
  timeouts: { bootSeconds: 60, stepSeconds: 60 },
}, async ({ lab, target, fixtures }) => {
  const lan = await lab.lan();
  lan.tftpFiles.set("kernel", readFileSync((await fixtures.bootloaderKernel()).path));
  const board = await lab.boot(target, { firmware: await fixtures.uboot() });
  const ub = await board.uboot();
  await ub.setenv("ipaddr", "192.168.1.20");
  await ub.setenv("serverip", lan.server.ip);
  await ub.tftp("kernel", "kernel");
  await ub.bootLoaded({ consoleDevice: target.machine.console.linuxDevice, targetBootargs: false });
  // What Debian's 6.1 kernel prints: the firmware's memory map holds 256 bytes, the kernel is outside it.
  await board.expect(/OF: fdt: Ignoring memory block 0x0 - 0x100/, "the kernel sees 256 bytes of RAM");
  await board.expect(/Kernel sections are not in the memory maps/, "its own image lies outside them");
  await board.expect(/Kernel panic - not syncing: [^\n]*/, "the kernel panics early", { allow: ["kernel-panic"] });
});
