import { join } from "node:path";
import { ProductFailure, scenario } from "../../harness/mod.ts";
import { buildExt4 } from "../../harness/images/ext4.ts";
import { BRANCH_FAILED, buildChainFlash, flashBoot, preinitChain, serveBootFiles } from "../../harness/flows/preinit.ts";

// Seed 004, the network path: the preinit gets a lease and finds boot.sh on the LAN's HTTP server; the
// script downloads the custom kernel and its initramfs into tmpfs and kexecs; stage 2 takes its root
// from the stick. The lab's HTTP log shows the downloads in order.
export default scenario({
  name: "network path: preinit fetches boot.sh over HTTP, the script downloads and kexecs the kernel, root from the stick",
  targets: ["malta-mipsel", "virt-arm64", "virt-armhf"],
  timeouts: { bootSeconds: 120, stepSeconds: 120 },
}, async ({ lab, target, fixtures, step }) => {
  const lan = await lab.lan();
  const chain = await preinitChain(target, fixtures, { root: "usb", http: `http://${lan.server.ip}/boot` });
  serveBootFiles(lan.http, chain);
  const stick = join(lab.runDir, "stick.img");
  await step("build the root stick", async () => {
    await buildExt4(stick, chain.rootFiles, { sizeMiB: 16, label: "root" });
  });
  const flash = await step("build the flash image (squashfs root, empty rootfs_data)", () => buildChainFlash(chain, join(lab.runDir, "flash.img")));
  const board = await lab.boot(target, { ...flashBoot(chain, flash), usb: [{ path: stick }] });
  await board.expect(/preinit: network: got http:\/\/[0-9.]+\/boot\/boot\.sh/, "preinit gets boot.sh over HTTP", { timeoutMs: 60_000, failOn: BRANCH_FAILED });
  await board.expect("boot script: kexec into the custom kernel", "the script downloads and loads the kernel", { timeoutMs: 90_000, failOn: BRANCH_FAILED });
  const sh = await board.allowing(["kernel-reset"], async () => {
    await board.expect("stage2: switch_root to the usb root", "stage 2 mounts the stick as root", { timeoutMs: 90_000, failOn: BRANCH_FAILED });
    return await board.shell();
  });
  const from = (await sh.expectOk("cat /etc/root-from")).trim();
  const got = lan.http.log.map((r) => `${r.path} ${r.status}`).join(", ");
  // Where stage 2 is built into the kernel (malta), there is no separate download for it.
  const want = ["/boot/boot.sh 200", "/boot/kernel 200", ...(chain.stage2 ? ["/boot/stage2.cpio.gz 200"] : [])].join(", ");
  if (from !== "usb" || got !== want) {
    throw new ProductFailure("the network path did not run as expected", { expected: `root usb; ${want}`, seen: `root ${from}; ${got}` });
  }
  await board.powerOff();
});
