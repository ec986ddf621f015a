import { join } from "node:path";
import { ProductFailure, scenario } from "../../harness/mod.ts";
import { buildExt4 } from "../../harness/images/ext4.ts";
import { FLASH_ROOT, buildChainFlash, flashBoot, flashWriteSurvivesReboot, preinitChain } from "../../harness/flows/preinit.ts";

// Seed 004's fallbacks, on one board: first a stick without a boot script (preinit says so and falls
// back), the flash root comes up with its writable data partition; a file written there survives a
// reboot; on the second boot there is no stick at all (pulled) and no network (cable out), and the flash
// root — with the file — comes up again.
export default scenario({
  name: "fallbacks: stick without a script, then no stick and no network → the flash root, whose writes survive a reboot",
  targets: ["malta-mipsel", "virt-arm64", "virt-armhf"],
  timeouts: { bootSeconds: 120, stepSeconds: 90 },
}, async ({ lab, target, fixtures, step }) => {
  const lan = await lab.lan();
  const chain = await preinitChain(target, fixtures, { root: "usb", http: `http://${lan.server.ip}/boot` });
  const stick = join(lab.runDir, "stick.img");
  await step("build a stick without a boot script", async () => {
    await buildExt4(stick, [{ path: "photos/holiday.jpg", data: "not a boot script" }], { sizeMiB: 8, label: "photos" });
  });
  // The HTTP server has no boot script: every request is a 404.
  const flash = await step("build the flash image (squashfs root, empty rootfs_data)", () => buildChainFlash(chain, join(lab.runDir, "flash.img")));
  const board = await lab.boot(target, { ...flashBoot(chain, flash), usb: [{ path: stick }] });
  await board.expect(/preinit: network: no boot script at http:\/\/[0-9.]+\/boot\/boot\.sh/, "preinit: HTTP has no boot script (404)", { timeoutMs: 60_000 });
  await board.expect("preinit: USB: no /boot/boot.sh on the stick", "preinit: the stick has no boot script");
  await board.expect(FLASH_ROOT, "the normal boot from flash");
  const sh = await board.shell();
  if (!lan.http.log.some((r) => r.status === 404 && r.path === "/boot/boot.sh")) {
    throw new ProductFailure("the lab's HTTP log has no 404 for /boot/boot.sh", { seen: JSON.stringify(lan.http.log) });
  }
  await flashWriteSurvivesReboot(board, sh, {
    beforeReboot: () => step("pull the stick and the cable, reboot", async () => {
      await board.unplugUsb("usbstick0");
      await board.setLink(false);
    }),
    afterReboot: async () => {
      await board.expect(/preinit: network: no DHCP lease on eth0/, "after the reboot: no network", { timeoutMs: 90_000 });
      await board.expect(/preinit: USB mount failed: no such device/, "no stick");
    },
  });
  await board.powerOff();
});
