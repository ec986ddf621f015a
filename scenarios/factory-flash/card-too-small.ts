import { scenario } from "../../harness/mod.ts";
import { flashRelease } from "../../harness/flows/factory-flash.ts";

// sdcard.img is bigger than the board's storage (a 16 MiB card): the programmer refuses the layout before
// the board is powered on, naming the layout's line and column, as the scenario's (here: the release's)
// mistake — nothing is half-written.
export default scenario({
  name: "seed 003: an image bigger than the storage is refused before anything is written",
  targets: ["virt-armhf", "virt-arm64"],
  expectFailure: { kind: "scenario", message: "sdcard.img is" },
}, async (ctx) => {
  await flashRelease(ctx, { storageBytes: 16 * 1048576 });
});
