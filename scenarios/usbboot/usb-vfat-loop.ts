import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ProductFailure, scenario } from "../../harness/mod.ts";
import { buildExt4 } from "../../harness/images/ext4.ts";
import { buildVfat } from "../../harness/images/vfat.ts";
import { BRANCH_FAILED, bootFiles, buildChainFlash, flashBoot, preinitChain } from "../../harness/flows/preinit.ts";

// Seed 004 with the stick most people have: vfat, holding /boot/ and the root as an ext4 image file
// (rootfs.img). The preinit mounts the vfat stick read-only and runs the script; stage 2 mounts the
// stick again, attaches rootfs.img to a loop device and switch_roots into it.
export default scenario({
  name: "USB path, vfat stick with a loop image: preinit runs /boot/boot.sh from vfat, stage 2 roots on rootfs.img through a loop device",
  targets: ["malta-mipsel", "virt-arm64", "virt-armhf"],
  timeouts: { bootSeconds: 120, stepSeconds: 90 },
}, async ({ lab, target, fixtures, step }) => {
  const chain = await preinitChain(target, fixtures, { root: "usb-image:/rootfs.img" });
  const stick = join(lab.runDir, "stick.img");
  await step("build the vfat stick with /boot and rootfs.img", async () => {
    const image = join(lab.runDir, "rootfs.img");
    await buildExt4(image, chain.rootFiles, { sizeMiB: 16, label: "looproot" });
    await buildVfat(stick, [...bootFiles(chain), { path: "rootfs.img", data: new Uint8Array(readFileSync(image)) }], { sizeMiB: 128, label: "USBBOOT" });
  });
  const flash = await step("build the flash image (squashfs root, empty rootfs_data)", () => buildChainFlash(chain, join(lab.runDir, "flash.img")));
  const board = await lab.boot(target, { ...flashBoot(chain, flash), usb: [{ path: stick }], lan: false });
  await board.expect(/preinit: USB: mounted \/dev\/sda1? \(vfat\) read-only/, "preinit mounts the vfat stick read-only", { timeoutMs: 60_000, failOn: BRANCH_FAILED });
  await board.expect("preinit: running boot script from usb", "preinit runs /boot/boot.sh from tmpfs", { failOn: BRANCH_FAILED });
  await board.expect("boot script: kexec into the custom kernel", "the boot script loads the kernel with kexec", { failOn: BRANCH_FAILED });
  const sh = await board.allowing(["kernel-reset"], async () => {
    await board.expect("stage2: USB: /dev/sda (vfat) on /stick", "stage 2 mounts the vfat stick", { timeoutMs: 90_000, failOn: BRANCH_FAILED });
    await board.expect("stage2: switch_root to the usb-image:/rootfs.img root", "stage 2 roots on the loop image", { failOn: BRANCH_FAILED });
    return await board.shell();
  });
  const from = (await sh.expectOk("cat /etc/root-from")).trim();
  const loop = await sh.expectOk("cat /proc/mounts");
  if (from !== "usb-image:/rootfs.img" || !/^\/dev\/loop0 \/ ext4/m.test(loop)) {
    throw new ProductFailure("the running root is not rootfs.img on the stick through a loop device", { expected: "usb-image:/rootfs.img, /dev/loop0 on / (ext4)", seen: `${from}\n${loop}` });
  }
  await board.powerOff();
});
