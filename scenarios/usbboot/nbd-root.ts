import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ProductFailure, scenario } from "../../harness/mod.ts";
import { buildExt4 } from "../../harness/images/ext4.ts";
import { BRANCH_FAILED, buildChainFlash, flashBoot, preinitChain, serveBootFiles } from "../../harness/flows/preinit.ts";

// Seed 004 with a network root: boot.sh over HTTP, kexec, and stage 2 mounts its root from the lab's NBD
// server (an ext4 export, copy-on-write so the image stays as built). No stick at all.
export default scenario({
  name: "network path with an NBD root: boot.sh over HTTP, kexec, stage 2 mounts the lab's NBD export and switch_roots",
  targets: ["malta-mipsel", "virt-arm64", "virt-armhf"],
  timeouts: { bootSeconds: 120, stepSeconds: 120 },
}, async ({ lab, target, fixtures, step }) => {
  const lan = await lab.lan();
  const chain = await preinitChain(target, fixtures, { root: `nbd:${lan.server.ip}:10809:root`, http: `http://${lan.server.ip}/boot`, usbWaitSeconds: 1 });
  serveBootFiles(lan.http, chain);
  const root = join(lab.runDir, "root.img");
  await step("build the NBD root image", async () => {
    await buildExt4(root, chain.rootFiles, { sizeMiB: 16, label: "nbdroot" });
  });
  lan.nbd.addBytes("root", new Uint8Array(readFileSync(root)), { mode: "copy-on-write" });
  const flash = await step("build the flash image (squashfs root, empty rootfs_data)", () => buildChainFlash(chain, join(lab.runDir, "flash.img")));
  const board = await lab.boot(target, { ...flashBoot(chain, flash) });
  await board.expect(/preinit: network: got http:\/\/[0-9.]+\/boot\/boot\.sh/, "preinit gets boot.sh over HTTP", { timeoutMs: 60_000, failOn: BRANCH_FAILED });
  await board.expect("boot script: kexec into the custom kernel", "the script downloads and loads the kernel", { timeoutMs: 90_000, failOn: BRANCH_FAILED });
  const sh = await board.allowing(["kernel-reset"], async () => {
    await board.expect(/stage2: switch_root to the nbd:[^ ]+ root/, "stage 2 mounts the NBD export as root", { timeoutMs: 90_000, failOn: BRANCH_FAILED });
    return await board.shell();
  });
  const from = (await sh.expectOk("cat /etc/root-from")).trim();
  if (!from.startsWith("nbd:") || ![...lan.nbd.sessions, ...lan.nbd.active()].some((s) => s.export === "root")) {
    throw new ProductFailure("the root is not the lab's NBD export", { expected: "nbd:…:root and an NBD session", seen: `${from}; ${JSON.stringify(lan.nbd.active())}` });
  }
  await board.powerOff();
});
