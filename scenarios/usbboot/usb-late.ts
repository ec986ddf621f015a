import { join } from "node:path";
import { scenario } from "../../harness/mod.ts";
import { buildExt4 } from "../../harness/images/ext4.ts";
import { BRANCH_FAILED, bootStickFiles, buildChainFlash, flashBoot, preinitChain, stage2Shell } from "../../harness/flows/preinit.ts";

// The stick is plugged in only after power-on, while the preinit is already waiting for it (hot-plug
// through QMP on the board's USB controller): it is found, and the USB path runs as with a stick at boot.
export default scenario({
  name: "USB path with the stick plugged in after power-on (QMP hot-plug while preinit waits)",
  targets: ["malta-mipsel", "virt-arm64", "virt-armhf"],
  timeouts: { bootSeconds: 120, stepSeconds: 90 },
}, async ({ lab, target, fixtures, step }) => {
  const chain = await preinitChain(target, fixtures, { root: "usb", usbWaitSeconds: 30 });
  const stick = join(lab.runDir, "stick.img");
  await step("build the USB stick", async () => {
    await buildExt4(stick, bootStickFiles(chain), { sizeMiB: 128, label: "usbboot" });
  });
  // usb: [] — the controller, no stick yet; no LAN, so the preinit goes straight to waiting for USB.
  const flash = await step("build the flash image (squashfs root, empty rootfs_data)", () => buildChainFlash(chain, join(lab.runDir, "flash.img")));
  const board = await lab.boot(target, { ...flashBoot(chain, flash), usb: [], lan: false });
  // The preinit's last module is loaded just before it starts waiting; give the controller a moment.
  await board.expect(/Run \/init as init process/, "the kernel starts the preinit", { timeoutMs: 60_000 });
  await new Promise((r) => setTimeout(r, 2000));
  await board.plugUsb(stick);
  await board.expect(/preinit: USB: mounted \/dev\/sda1? \(ext4\) read-only/, "preinit finds the late stick", { timeoutMs: 60_000, failOn: BRANCH_FAILED });
  await board.expect("boot script: kexec into the custom kernel", "the boot script loads the kernel with kexec", { failOn: BRANCH_FAILED });
  await stage2Shell(board, "usb");
  await board.powerOff();
});
