import { readFileSync } from "node:fs";
import { join } from "node:path";
import { scenario } from "../../harness/mod.ts";
import { bootFirmware, routerFirmware, WORKING } from "../../harness/flows/flash-recovery.ts";

// The baseline of bench/flash-recovery: the same router firmware, cold, from its own flash to its shell
// (U-Boot from flash, the kernel over TFTP on malta or from flash on virt, the squashfs root from flash).
export default scenario({
  name: "bench: a router powers on from its own flash to its firmware's shell",
  targets: ["malta-mipsel", "virt-arm64"],
  timeouts: { bootSeconds: 60, stepSeconds: 60 },
}, async ({ lab, target, fixtures, step }) => {
  const fw = await step("build the router's firmware", () => routerFirmware(target, fixtures, WORKING, join(lab.runDir, "router.img")));
  const lan = await lab.lan();
  if (!fw.flash.partitions.some((p) => p.name === "kernel")) lan.tftpFiles.set("router.uImage", readFileSync(fw.kernel));
  const board = await lab.boot(target, { flash: [{ path: fw.flash.path }] });
  await bootFirmware(board, fw.flash, "router.uImage");
  await board.powerCut();
});
