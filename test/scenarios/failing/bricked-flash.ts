import { statSync } from "node:fs";
import { join } from "node:path";
import { scenario } from "../../../harness/mod.ts";
import { interruptedBootloaderFlash, workingFlash } from "../../../harness/flows/board-flash.ts";

// Must fail: the board's flash holds a half-written bootloader, and the scenario waits for U-Boot as if it
// would start. The result is a dead board — a product failure that says nothing boots — not a timeout.
export default scenario({
  name: "powers a bricked board on from its flash and expects U-Boot (it prints nothing)",
  targets: ["virt-arm64"],
  timeouts: { bootSeconds: 60 },
}, async ({ lab, target, fixtures }) => {
  const uboot = await fixtures.ubootImage();
  const good = workingFlash(target, uboot, join(lab.runDir, "good.img"));
  const bricked = interruptedBootloaderFlash(target, good, statSync(uboot).size, join(lab.runDir, "bricked.img"));
  const board = await lab.boot(target, { flash: [{ path: bricked }], lan: false });
  await board.uboot();
});
