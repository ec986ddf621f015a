import { scenario } from "../../harness/mod.ts";
import { flashRelease, SEED_LAYOUT } from "../../harness/flows/factory-flash.ts";

// The eMMC layout from the seed's comment thread (fsbl1/fsbl2 to the eMMC's boot1/boot2) aimed at a board
// whose storage is an SD card: U-Boot's stm32prog sizes a boot partition 0 there and fails the write
// ("Request would exceed designated area!"). The programmer refuses it before the board is powered on.
export default scenario({
  name: "seed 003: boot1/boot2 lines for a storage without eMMC boot partitions are refused before anything starts",
  targets: ["virt-armhf", "virt-arm64"],
  expectFailure: { kind: "scenario", message: "has no eMMC boot partitions" },
}, async (ctx) => {
  await flashRelease(ctx, {
    layoutText: SEED_LAYOUT + "P\t0x04\tfsbl1\tBinary\tmmc0\tboot1\tu-boot.stm32\nP\t0x05\tfsbl2\tBinary\tmmc0\tboot2\tu-boot.stm32\n",
  });
});
