import { readFileSync } from "node:fs";
import { join } from "node:path";
import { scenario } from "../../harness/mod.ts";
import { backUpToLab, BRICKED, bootRecovered, expectDhcpAck, expectedFlash, flashMatches, partition, prepareImage, recoveryBench, writeAttached, startProgrammer } from "../../harness/flows/flash-recovery.ts";

// Seed 001, going wrong: the power of the working board is cut while it writes the clipped chip. The chip
// is half erased, half written: the bricked board stays dead. The backup made first is what saves it —
// the next attempt fetches it back from the lab, and the board recovers with its own MAC.
export default scenario({
  name: "seed 001: a power cut mid-write leaves the board dead; the next attempt, from the backup, recovers it",
  targets: ["malta-mipsel", "virt-arm64"],
  timeouts: { bootSeconds: 60, stepSeconds: 60 },
}, async (ctx) => {
  const { lab, target, step } = ctx;
  const bench = await recoveryBench(ctx);

  const first = await startProgrammer(ctx, bench);
  await backUpToLab(first.sh, first.attached, bench, step);
  await prepareImage(first.sh, bench, step, { factoryFrom: first.attached });
  await first.sh.expectOk(`flash_erase ${first.attached} 0 0`, { step: "erase the attached flash" });
  // 64 KiB every 0.2 s: the pace of a real SPI NOR's page programming, so the cut lands inside U-Boot's
  // blocks (the first five) and not after the whole image.
  first.board.console.sendLine(`i=0; while [ $i -lt 64 ]; do dd if=/tmp/new.bin of=${first.attached} bs=65536 skip=$i seek=$i count=1 2>/dev/null || break; ` +
    `echo "wrote block $i"; sleep 0.2; i=$((i+1)); done`);
  await first.board.expect(/wrote block 1\r?\n/, "the write has begun (block 1 of 64 written)");
  await first.board.powerCut();

  const dead = await lab.boot(target, { name: "bricked", flash: [bench.flash] });
  await dead.expectDead();
  await dead.powerCut();

  // The next attempt: the chip's factory block is gone with the cut write; the backup on the lab has it.
  // The programmer fetches the backup up to the end of the factory block (a whole 64 MiB backup and a
  // 64 MiB image would not both fit in a 256 MiB board's tmpfs).
  const f = partition(bench.working.flash, "factory");
  bench.lan.http.file("/backup-head.bin", readFileSync(join(bench.uploads, "backup.bin")).subarray(0, f.offset + f.size));
  const again = await startProgrammer(ctx, bench);
  await again.sh.expectOk(`wget -q -O /tmp/backup.bin http://${bench.lan.server.ip}/backup-head.bin`, { step: "fetch the backup made before the first attempt (up to its factory block)" });
  await prepareImage(again.sh, bench, step, { factoryFrom: "/tmp/backup.bin" });
  await writeAttached(again.sh, again.attached, step);
  await again.board.powerOff();
  await flashMatches(bench, expectedFlash(bench), step, "the second attempt wrote the working firmware with the bricked board's own factory block");
  const recovered = await bootRecovered(ctx, bench);
  await expectDhcpAck(bench.lan, BRICKED.mac, step, "the recovered board comes up with its own MAC");
  await recovered.board.powerCut();
});
