import { ProductFailure, scenario } from "../../harness/mod.ts";
import { bootFromStorage, flashRelease } from "../../harness/flows/factory-flash.ts";

// Seed 003: a board fresh from the line, its storage blank. Boot switch on USB: the ROM runs the first
// stage the programmer downloads (the layout's fsbl1-boot line), the programmer writes sdcard.img — the
// seed's own flash.tsv, unchanged — to mmc0 and checks it. Boot switch back on SD: the ROM finds the
// first stage in fsbl1, U-Boot's distro boot finds extlinux.conf on the bootable rootfs, and the board
// runs its own root file system. Nothing comes from the lab once the switch is back on storage.
export default scenario({
  name: "seed 003: blank storage factory-flashed from the seed's flash.tsv, then the board boots from it alone",
  targets: ["virt-armhf", "virt-arm64"],
  timeouts: { scenarioSeconds: 300, bootSeconds: 90, stepSeconds: 60 },
}, async (ctx) => {
  const { target, step } = ctx;
  const { release, storage, lan, flashed } = await flashRelease(ctx);
  const sdcard = flashed.partitions.find((p) => p.name === "sdcard");
  if (!sdcard) throw new ProductFailure("the programmer wrote no sdcard partition", { expected: "partition 0x10 sdcard", seen: flashed.partitions.map((p) => p.name).join(", ") || "nothing" });
  ctx.log(`flashed ${sdcard.bytes} bytes: download ${(sdcard.downloadMs / 1000).toFixed(1)} s, write ${(sdcard.writeMs / 1000).toFixed(2)} s`);

  const tftpBefore = lan.tftp.log.length;
  const { sh, ready } = await bootFromStorage(ctx, storage);
  if (ready !== `root=/dev/${target.machine.disk!.linuxName}4 build=${release.buildId}`) {
    throw new ProductFailure("the board's init does not run from the flashed root", { expected: `root /dev/${target.machine.disk!.linuxName}4, build ${release.buildId}`, seen: ready });
  }
  await step("the partitions the layout wrote are the kernel's too", async () => {
    const names = await sh.expectOk(`for p in /sys/class/block/${target.machine.disk!.linuxName}[0-9]*; do grep PARTNAME $p/uevent; done`);
    for (const n of ["fsbl1", "fsbl2", "ssbl", "rootfs"]) {
      if (!names.includes(`PARTNAME=${n}`)) throw new ProductFailure(`no partition ${n} on the flashed storage`, { expected: "fsbl1, fsbl2, ssbl, rootfs", seen: names.trim() });
    }
  });
  if (lan.tftp.log.length !== tftpBefore) {
    throw new ProductFailure("the board fetched files from the lab after the switch went back to SD", { expected: "nothing from the lab", seen: lan.tftp.log.slice(tftpBefore).map((l) => l.file).join(", ") });
  }
});
