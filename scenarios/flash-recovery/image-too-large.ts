import { ProductFailure, scenario } from "../../harness/mod.ts";
import { readFileSync } from "node:fs";
import { backUpToLab, prepareImage, recoveryBench, startProgrammer } from "../../harness/flows/flash-recovery.ts";

// Seed 001, going wrong: the recovery image is one of a bigger board ("the image size better not exceed
// the flash size"): 16 MiB for malta's 4 MiB chip, as in the seed; 80 MiB for virt's 64 MiB one (what a
// 256 MiB board's tmpfs holds). flashcp refuses it before erasing anything; the chip keeps its bytes and
// the bricked board stays dead.
export default scenario({
  name: "seed 001: an image larger than the clipped chip is refused, and the bricked board stays dead",
  targets: ["malta-mipsel", "virt-arm64"],
  timeouts: { bootSeconds: 60, stepSeconds: 60 },
}, async (ctx) => {
  const { lab, target, step } = ctx;
  const bench = await recoveryBench(ctx);
  const chips = target.machine.flash!.chips;
  const chip = chips[chips.length - 1]!.bytes;
  const big = new Uint8Array(Math.min(4 * chip, chip + 16 * 1048576)).fill(0xff);
  big.set(readFileSync(bench.working.flash.path));
  bench.lan.http.file("/recovery-big.img", big);
  const mib = (n: number) => `${n / 1048576} MiB`;

  const { board, sh, attached } = await startProgrammer(ctx, bench);
  await backUpToLab(sh, attached, bench, step);
  await prepareImage(sh, bench, step, { factoryFrom: attached, url: "/recovery-big.img" });
  await step(`flashcp refuses the ${mib(big.length)} image for the ${mib(chip)} chip`, async () => {
    const r = await sh.run(`flashcp -v /tmp/new.bin ${attached}`);
    if (r.status === 0 || !/won't fit into/.test(r.output)) {
      throw new ProductFailure("flashcp did not refuse an image larger than the chip", { expected: "a non-zero status and \"won't fit into\"", seen: `status ${r.status}: ${r.output.trim()}` });
    }
  });
  await board.powerOff();
  await step("the chip still holds the bricked board's bytes", async () => {
    if (Buffer.compare(readFileSync(bench.flash.path), readFileSync(bench.brickedImage)) !== 0) {
      throw new ProductFailure("a refused write changed the chip", { expected: "the bricked flash, unchanged" });
    }
  });
  const dead = await lab.boot(target, { name: "bricked", flash: [bench.flash] });
  await dead.expectDead();
  await dead.powerCut();
});
