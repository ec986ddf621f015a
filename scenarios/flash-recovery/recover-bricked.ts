import { scenario } from "../../harness/mod.ts";
import { backUpToLab, BRICKED, bootRecovered, declaredAttachedBytes, expectDhcpAck, expectedFlash, flashMatches, prepareImage, recoveryBench, writeAttached, startProgrammer } from "../../harness/flows/flash-recovery.ts";
import { ProductFailure } from "../../harness/mod.ts";

// Seed 001: a router whose U-Boot update was cut short prints nothing. Its flash is clipped onto a
// working router (the second chip "attached", declared 16 MiB as in the seed's DTS, truncated to the
// real chip), backed up to the lab first, then cloned from the working firmware with the bricked board's
// own factory block patched in, erased and written with mtd-utils, verified — and the bricked board,
// powered on from its own flash again, boots with its own MAC.
export default scenario({
  name: "seed 001: a bricked board's flash, backed up and recovered by a working board, boots with its own MAC",
  targets: ["malta-mipsel", "virt-arm64"],
  timeouts: { bootSeconds: 60, stepSeconds: 60 },
}, async (ctx) => {
  const { lab, target, step } = ctx;
  const bench = await recoveryBench(ctx);
  const dead = await lab.boot(target, { name: "bricked", flash: [bench.flash] });
  await dead.expectDead();
  await dead.powerCut();

  const { board, sh, attached } = await startProgrammer(ctx, bench);
  // The seed's kernel read the partition from its DT (ofpart) and mtdpart.c said `partition "attached"
  // extends beyond the end of device … -- size truncated`; 6.1's cmdlinepart truncates first, in its words.
  const [own, second] = target.machine.flash!.chips;
  const clipped = second ?? own!;
  const mtdId = second ? own!.linuxName! : bench.chipLabel;
  const mib = (n: number) => `${n / 1048576} MiB`;
  const proc = (bytes: number, erase: number, name: string) =>
    new RegExp(`^mtd\\d+: ${bytes.toString(16).padStart(8, "0")} ${erase.toString(16).padStart(8, "0")} "${name}"$`, "m");
  await step(`the kernel truncates the ${mib(declaredAttachedBytes(target))} "attached" partition to the ${mib(clipped.bytes)} chip, as in the seed`, async () => {
    // sed: the shell driver keeps printk-looking lines out of command output.
    const line = await sh.expectOk(`dmesg | grep 'exceeds flash size' | sed 's/^\\[[^]]*\\] //'`);
    const procMtd = await sh.expectOk("cat /proc/mtd");
    for (const [what, re, seen] of [
      ["cmdlinepart's truncation", new RegExp(`${mtdId.replace(/\./g, "\\.")}: partitioning exceeds flash size, truncating`), line],
      [`the programmer's own chip, ${mib(own!.bytes)}`, proc(own!.bytes, Math.max(own!.eraseBlockBytes, clipped.eraseBlockBytes), "ALL"), procMtd],
      [`"attached" truncated to the ${mib(clipped.bytes)} chip`, proc(clipped.bytes, clipped.eraseBlockBytes, "attached"), procMtd],
    ] as const) {
      if (!re.test(seen)) throw new ProductFailure(`the working board does not show ${what}`, { expected: String(re), seen });
    }
  });
  await backUpToLab(sh, attached, bench, step);
  await prepareImage(sh, bench, step, { factoryFrom: attached });
  await writeAttached(sh, attached, step);
  await board.powerOff();
  await flashMatches(bench, expectedFlash(bench), step, "the bricked board's flash is the working firmware with its own factory block, byte for byte");

  // Put back into its own board: nothing from the lab but the network its firmware asks for.
  const recovered = await bootRecovered(ctx, bench);
  await expectDhcpAck(bench.lan, BRICKED.mac, step, "the lab's DHCP log shows the recovered board's own MAC");
  await recovered.board.powerCut();
});
