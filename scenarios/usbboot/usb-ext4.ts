import { join } from "node:path";
import { scenario } from "../../harness/mod.ts";
import { buildExt4 } from "../../harness/images/ext4.ts";
import { BRANCH_FAILED, bootStickFiles, buildChainFlash, flashBoot, preinitChain, stage2Shell } from "../../harness/flows/preinit.ts";

// Seed 004, the USB path: no boot script on the LAN, an ext4 stick with /boot/boot.sh, the custom kernel
// and its bigger initramfs, and a root file system. The preinit mounts the stick read-only, copies the
// script to tmpfs and runs it; the script kexecs the kernel; stage 2 mounts the stick as root and
// switch_roots. Each step is asserted from what the console says.
export default scenario({
  name: "USB path: preinit finds /boot/boot.sh on an ext4 stick, kexecs the custom kernel, root from the stick",
  targets: ["malta-mipsel", "virt-arm64", "virt-armhf"],
  timeouts: { bootSeconds: 120, stepSeconds: 90 },
}, async ({ lab, target, fixtures, step }) => {
  const chain = await preinitChain(target, fixtures, { root: "usb" });
  const stick = join(lab.runDir, "stick.img");
  await step("build the USB stick", async () => {
    await buildExt4(stick, bootStickFiles(chain), { sizeMiB: 128, label: "usbboot" });
  });
  const flash = await step("build the flash image (squashfs root, empty rootfs_data)", () => buildChainFlash(chain, join(lab.runDir, "flash.img")));
  const board = await lab.boot(target, {
    ...flashBoot(chain, flash), usb: [{ path: stick }], lan: false,
  });
  await board.expect(/preinit: USB: mounted \/dev\/sda[1]? \(ext4\) read-only/, "preinit mounts the stick read-only", { timeoutMs: 60_000, failOn: BRANCH_FAILED });
  await board.expect("preinit: running boot script from usb", "preinit runs /boot/boot.sh from tmpfs", { failOn: BRANCH_FAILED });
  await board.expect("boot script: kexec into the custom kernel", "the boot script loads the kernel with kexec", { failOn: BRANCH_FAILED });
  await stage2Shell(board, "usb");
  await board.powerOff();
});
