import { scenario } from "../../harness/mod.ts";
import { bootFromStorage, flashRelease } from "../../harness/flows/factory-flash.ts";

// The rootfs partition without the LegacyBIOSBootable attribute (genimage's `bootable = "yes"` left out):
// U-Boot's distro boot lists bootable partitions, finds none, tries partition 1 (fsbl1, no file system)
// and goes on to the network. Reported in the storage step, quoting U-Boot.
export default scenario({
  name: "seed 003: a rootfs not flagged bootable — distro boot finds no extlinux.conf on the storage",
  targets: ["virt-armhf", "virt-arm64"],
  expectFailure: { kind: "product", message: "found no extlinux.conf on the storage", step: "U-Boot's distro boot finds /boot/extlinux/extlinux.conf on the storage" },
}, async (ctx) => {
  const { storage } = await flashRelease(ctx, { variant: { rootfsNotBootable: true } });
  await bootFromStorage(ctx, storage);
});
