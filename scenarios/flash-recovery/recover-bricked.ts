import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ProductFailure, scenario } from "../../harness/mod.ts";
import { attachClippedChip, bootFirmware, partition, programmerMtdparts, routerFirmware } from "../../harness/flows/flash-recovery.ts";
import { interruptedBootloaderFlash } from "../../harness/flows/board-flash.ts";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

// Seed 001: a router whose U-Boot update was cut short prints nothing. Its flash is clipped onto a
// working router (the second chip "attached", declared 16 MiB as in the seed's DTS, truncated to the
// real chip), backed up to the lab first, then cloned from the working firmware with the bricked board's
// own factory block patched back in, erased and written with mtd-utils, verified — and the bricked
// board, powered on from its own flash again, boots with its own MAC.
export default scenario({
  name: "seed 001: a bricked board's flash, backed up and recovered by a working board, boots with its own MAC",
  targets: ["malta-mipsel"],
  timeouts: { bootSeconds: 60, stepSeconds: 60 },
}, async ({ lab, target, fixtures, step }) => {
  const chip = target.boardFlash!.chips[0]!;
  const uploads = join(lab.runDir, "lab-tftp");
  mkdirSync(uploads, { recursive: true });
  const lan = await lab.lan({ tftpRoot: uploads, tftpUploads: true });

  const working = await step("build the working router's firmware", () =>
    routerFirmware(target, fixtures, { mac: "52:54:00:aa:00:01", serial: "GOOD-0001" }, join(lab.runDir, "working.img")));
  const brickedOrig = await step("build the bricked router's flash (its own factory, U-Boot half written)", async () => {
    const own = await routerFirmware(target, fixtures, { mac: "52:54:00:bb:00:02", serial: "BRICKED-0002" }, join(lab.runDir, "bricked-was.img"));
    return interruptedBootloaderFlash(target, own.flash.path, partition(own.flash, "u-boot").size, join(lab.runDir, "bricked.img"));
  });
  lan.tftpFiles.set("router.uImage", readFileSync(working.kernel));
  lan.http.file("/recovery.img", readFileSync(working.flash.path));
  const flash = lab.medium("bricked-flash", { path: brickedOrig });

  const dead = await lab.boot(target, { name: "bricked", flash: [flash] });
  await dead.expectDead();
  await dead.powerCut();

  // The working board runs a firmware that knows the second chip (the seed rebuilds OpenWrt with it in the
  // DTS): the kernel built from Debian's source, mtd-utils in its initramfs, its own flash read-only.
  const label = "spi0.1";
  const programmer = await lab.boot(target, {
    name: "working",
    kernel: (await fixtures.builtKernel()).image,
    initrd: await fixtures.initramfs({ programs: ["/usr/sbin/flashcp", "/usr/sbin/flash_erase"] }),
    append: [programmerMtdparts(chip.linuxName!, chip.bytes, label, 16 * 1048576)],
    flash: [{ path: working.flash.path }],
    disks: [flash],
  });
  const sh = await programmer.shell();
  const attached = await attachClippedChip(sh, { disk: `/dev/${target.disk!.linuxName}`, chipLabel: label, eraseBlockBytes: chip.eraseBlockBytes });
  // The seed's kernel read the partition from its DT (ofpart) and mtdpart.c said `partition "attached"
  // extends beyond the end of device … -- size truncated`; 6.1's cmdlinepart truncates first, in its words.
  await step("the kernel truncates the 16 MiB \"attached\" partition to the 4 MiB chip, as in the seed", async () => {
    // sed: the shell driver keeps printk-looking lines out of command output.
    const line = await sh.expectOk(`dmesg | grep 'exceeds flash size' | sed 's/^\\[[^]]*\\] //'`);
    const procMtd = await sh.expectOk("cat /proc/mtd");
    for (const [what, re, seen] of [
      ["cmdlinepart's truncation", /spi0\.1: partitioning exceeds flash size, truncating/, line],
      ["the programmer's own chip, 4 MiB", /^mtd\d+: 00400000 00010000 "ALL"$/m, procMtd],
      ["\"attached\" truncated to the 4 MiB chip", /^mtd\d+: 00400000 00010000 "attached"$/m, procMtd],
    ] as const) {
      if (!re.test(seen)) throw new ProductFailure(`the working board does not show ${what}`, { expected: String(re), seen });
    }
  });
  await programmer.networkUp();

  await step("back the whole bricked flash up to the lab first (TFTP upload)", async () => {
    await sh.expectOk(`cat ${attached} > /tmp/backup.bin && tftp -b 1468 -p -l /tmp/backup.bin -r backup.bin ${lan.server.ip}`);
    const backup = readFileSync(join(uploads, "backup.bin"));
    if (sha(backup) !== sha(readFileSync(brickedOrig))) throw new ProductFailure("the backup differs from the bricked flash", { expected: sha(readFileSync(brickedOrig)), seen: sha(backup) });
  });

  const factory = partition(working.flash, "factory");
  await step("clone: the working firmware with the bricked board's own factory block patched in", () =>
    sh.expectOk(`wget -q -O /tmp/new.bin http://${lan.server.ip}/recovery.img && ` +
      `dd if=/tmp/backup.bin of=/tmp/new.bin bs=${factory.size} skip=${factory.offset / factory.size} seek=${factory.offset / factory.size} count=1 conv=notrunc`));
  await step("erase, write and verify the attached flash (mtd-utils)", () =>
    sh.expectOk(`flash_erase ${attached} 0 0 && flashcp -v /tmp/new.bin ${attached} && cmp ${attached} /tmp/new.bin && sync`));
  await programmer.powerOff();

  await step("the bricked board's flash is the working firmware with its own factory block, byte for byte", async () => {
    const expected = new Uint8Array(readFileSync(working.flash.path));
    expected.set(readFileSync(brickedOrig).subarray(factory.offset, factory.offset + factory.size), factory.offset);
    writeFileSync(join(lab.runDir, "expected.img"), expected);
    if (sha(readFileSync(flash.path)) !== sha(expected)) {
      throw new ProductFailure("the written flash differs from the working firmware with the bricked board's factory", { expected: sha(expected), seen: sha(readFileSync(flash.path)) });
    }
  });

  // Put back into its own board: nothing from the lab but the network its firmware asks for.
  const recovered = await lab.boot(target, { name: "bricked", flash: [flash] });
  const rsh = await bootFirmware(recovered, working.flash, "router.uImage");
  await rsh.expectOk("udhcpc -i eth0 -n -q -t 5 -T 1 -s /bin/true", { step: "the recovered board asks the lab for an address" });
  await step("the lab's DHCP log shows the recovered board's own MAC", async () => {
    const acked = lan.dhcp.log.filter((e) => e.reply === "ACK").map((e) => e.mac);
    if (!acked.includes("52:54:00:bb:00:02")) {
      throw new ProductFailure("the recovered board did not come up with its own MAC", { expected: "an ACK for 52:54:00:bb:00:02", seen: acked.join(", ") });
    }
  });
  await recovered.powerCut();
});
