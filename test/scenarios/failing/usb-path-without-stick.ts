import { join } from "node:path";
import { scenario } from "../../../harness/mod.ts";
import { BRANCH_FAILED, buildChainFlash, flashBoot, preinitChain } from "../../../harness/flows/preinit.ts";

// A scenario that waits for the USB path on a board whose stick was forgotten (a USB controller, nothing
// plugged in). It must fail in the step that waited for the stick, quoting the preinit's own line — the
// branch and the reason — not time out later in some other step.
export default scenario({
  name: "USB path waited for, but no stick is plugged in",
  targets: ["malta-mipsel"],
  timeouts: { bootSeconds: 60, stepSeconds: 60 },
}, async ({ lab, target, fixtures, step }) => {
  const chain = await preinitChain(target, fixtures, { root: "usb", usbWaitSeconds: 1 });
  const flash = await step("build the flash image", () => buildChainFlash(chain, join(lab.runDir, "flash.img")));
  const board = await lab.boot(target, { ...flashBoot(chain, flash), usb: [], lan: false });
  await board.expect(/preinit: USB: mounted \/dev\/sda1? \((ext4|vfat)\) read-only/, "preinit mounts the stick read-only", { failOn: BRANCH_FAILED });
  await board.powerOff();
});
