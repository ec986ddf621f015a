import { scenario } from "../../harness/mod.ts";
import { bootFromStorage, flashRelease } from "../../harness/flows/factory-flash.ts";

// The first stage written 512 KiB into fsbl1 and fsbl2 instead of at their start (an offset mistake in the
// image description): the flashing goes fine — the programmer writes what it is given — but after the
// switch goes back to SD the ROM finds no header in either partition and the board prints nothing. That is
// the product's failure, reported as a dead board with what the ROM saw, not as a timeout.
export default scenario({
  name: "seed 003: a first stage written at the wrong offset leaves the board dead after the switch",
  targets: ["virt-armhf", "virt-arm64"],
  expectFailure: { kind: "product", message: "nothing boots from its storage", step: "from-storage: first console output after power-on" },
}, async (ctx) => {
  const { storage } = await flashRelease(ctx, { variant: { firstStageMisplacedBytes: 512 * 1024 } });
  await bootFromStorage(ctx, storage);
});
