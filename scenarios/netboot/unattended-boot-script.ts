import { readFileSync } from "node:fs";
import { linuxCommandLine, ProductFailure, scenario } from "../../harness/mod.ts";
import { hex } from "../../harness/console/uboot.ts";
import { scriptImage } from "../../harness/images/uimage.ts";

// Hands off: nobody types at U-Boot. Distro boot counts down, finds no disk, runs `dhcp` and sources
// boot.scr.uimg from the TFTP server; the script (made here as a U-Boot script image) loads the kernel and
// initramfs and boots them. This is how a CI farm netboots ARM boards. U-Boot keeps its own fixed MAC
// here (no one sets ethaddr), so the DHCP log shows 52:52:52:52:52:52.
export default scenario({
  name: "unattended: distro boot's dhcp sources boot.scr.uimg from TFTP, the script netboots the kernel to a shell",
  targets: ["virt-armhf", "virt-arm64"],
  timeouts: { bootSeconds: 120, stepSeconds: 60 },
}, async ({ lab, target, fixtures }) => {
  const u = target.firmware.uboot!;
  const lan = await lab.lan();
  const kernel = await fixtures.bootloaderKernel();
  lan.tftpFiles.set("kernel", readFileSync(kernel.path));
  lan.tftpFiles.set("initramfs.cpio.gz", readFileSync(await fixtures.initramfs()));
  lan.tftpFiles.set("boot.scr.uimg", scriptImage([
    "echo bootlab: netboot script running",
    `tftpboot ${hex(u.addresses.kernel)} kernel`,
    `tftpboot ${hex(u.addresses.ramdisk)} initramfs.cpio.gz`,
    `setenv bootargs ${[...linuxCommandLine(target), ...u.bootargs].join(" ")}`,
    // A gzipped Image: where booti unpacks it.
    ...Object.entries(kernel.env).map(([k, v]) => `setenv ${k} ${v}`),
    `${u.kernel.bootCommand} ${hex(u.addresses.kernel)} ${hex(u.addresses.ramdisk)}:\${filesize} \${fdtcontroladdr}`,
    "",
  ].join("\n"), "bootlab netboot"));
  const board = await lab.boot(target, { firmware: await fixtures.uboot() });
  await board.expect(/## Executing script at [0-9a-f]+/, "distro boot sources boot.scr.uimg", { timeoutMs: 60_000 });
  await board.expect("bootlab: netboot script running", "the script runs");
  await board.shell();
  const script = lan.tftp.log.find((t) => t.file === "boot.scr.uimg");
  const dhcp = lan.dhcp.log.find((e) => e.reply === "ACK");
  if (!script || script.outcome !== "ok" || !dhcp?.vendorClass?.startsWith("U-Boot")) {
    throw new ProductFailure("the lab's logs do not show U-Boot's DHCP lease and the script's download", { seen: JSON.stringify({ dhcp, script }) });
  }
  await board.powerOff();
});
