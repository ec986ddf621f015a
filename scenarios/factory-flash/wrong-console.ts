import { scenario } from "../../harness/mod.ts";
import { bootFromStorage, flashRelease } from "../../harness/flows/factory-flash.ts";

// extlinux.conf names console=ttyS0 on a board whose serial port is a PL011 (ttyAMA0) — the seed's comment
// thread: U-Boot says "Starting kernel ..." and then nothing. Reported as silence after that line.
export default scenario({
  name: "seed 003: a wrong console= in extlinux.conf — 'Starting kernel ...' and then silence",
  targets: ["virt-armhf", "virt-arm64"],
  expectFailure: { kind: "product", message: "after 'Starting kernel ...'", step: "from-storage: the kernel's first console output" },
}, async (ctx) => {
  const { storage } = await flashRelease(ctx, { variant: { console: "ttyS0" } });
  await bootFromStorage(ctx, storage);
});
