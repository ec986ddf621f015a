import { join } from "node:path";
import { scenario } from "../../harness/mod.ts";
import { buildExt4 } from "../../harness/images/ext4.ts";
import { FLASH_ROOT, bootStickFiles, buildChainFlash, flashBoot, flashWriteSurvivesReboot, preinitChain } from "../../harness/flows/preinit.ts";

// A stick whose kernel is damaged: the boot script's kexec refuses it, the preinit carries on, and the
// board ends on its flash root instead of hanging. (Measured: a kernel that is only truncated is worse on
// arm64 — kexec loads it, the header being intact, and the jump never comes back; likewise a zImage with
// a scrambled header on armhf, which kexec takes as a raw image. The run then times out after "kexec into
// the custom kernel".)
export default scenario({
  name: "a corrupt kernel on the stick: kexec load fails, preinit falls back to the flash root, whose writes survive a reboot",
  targets: ["malta-mipsel", "virt-arm64", "virt-armhf"],
  timeouts: { bootSeconds: 120, stepSeconds: 90 },
}, async ({ lab, target, fixtures, step }) => {
  const chain = await preinitChain(target, fixtures, { root: "usb" });
  const stick = join(lab.runDir, "stick.img");
  await step("build a stick with a damaged kernel", async () => {
    // A failed copy: 4 KiB of the kernel left, and bytes 56–63 zeroed. kexec's checks differ per
    // architecture: an arm64 Image is recognised by its magic at offset 56 (gone here), an ARM zImage by
    // its magic at 0x24 (kept) and then refused for being shorter than its header says.
    const damaged = chain.kernel.slice(0, 4096).fill(0, 56, 64);
    await buildExt4(stick, bootStickFiles({ ...chain, kernel: damaged }, { root: false }), { sizeMiB: 64, label: "usbboot" });
  });
  const flash = await step("build the flash image (squashfs root, empty rootfs_data)", () => buildChainFlash(chain, join(lab.runDir, "flash.img")));
  const board = await lab.boot(target, { ...flashBoot(chain, flash), usb: [{ path: stick }], lan: false });
  await board.expect("preinit: running boot script from usb", "preinit runs the stick's boot script", { timeoutMs: 60_000 });
  await board.expect("boot script: kexec load failed", "kexec refuses the damaged kernel");
  await board.expect("preinit: boot script from usb failed", "preinit notices");
  await board.expect(FLASH_ROOT, "and boots the flash root");
  const sh = await board.shell();
  // The flash root is writable through rootfs_data, and what is written there survives a reboot — which
  // takes the same failed branch again.
  await flashWriteSurvivesReboot(board, sh, {
    afterReboot: async () => {
      await board.expect("boot script: kexec load failed", "after the reboot: kexec refuses the kernel again", { timeoutMs: 90_000 });
    },
  });
  await board.powerOff();
});
