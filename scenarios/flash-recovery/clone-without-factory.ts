import { ProductFailure, scenario } from "../../harness/mod.ts";
import { backUpToLab, BRICKED, bootFirmware, bootRecovered, expectDhcpAck, expectedFlash, flashMatches, prepareImage, recoveryBench, writeAttached, startProgrammer, WORKING } from "../../harness/flows/flash-recovery.ts";

// Seed 001, going wrong: the working board's image is written as it is ("after the flash, your factory
// setting will be erased too"). The recovered board boots, but as the donor: the donor's MAC and serial.
// With both routers on one LAN, the lab's switch reports one MAC on two ports.
export default scenario({
  name: "seed 001: a clone without the factory patch comes up with the donor's MAC, and the lab reports the duplicate",
  targets: ["malta-mipsel", "virt-arm64"],
  timeouts: { bootSeconds: 60, stepSeconds: 60 },
}, async (ctx) => {
  const { lab, target, step } = ctx;
  const bench = await recoveryBench(ctx);
  const programmer = await startProgrammer(ctx, bench);
  await backUpToLab(programmer.sh, programmer.attached, bench, step);
  await prepareImage(programmer.sh, bench, step, { factoryFrom: programmer.attached, patchFactory: false });
  await writeAttached(programmer.sh, programmer.attached, step);
  await programmer.board.powerOff();
  await flashMatches(bench, expectedFlash(bench, { patchFactory: false }), step, "the bricked board's flash is now the donor's, factory block included");

  // Both routers on the LAN, each from its own flash.
  const donor = await lab.boot(target, { name: "working", flash: [{ path: bench.working.flash.path }] });
  const donorSh = await bootFirmware(donor, bench.working.flash, "router.uImage");
  await donorSh.expectOk("udhcpc -i eth0 -n -q -t 5 -T 1 -s /bin/true", { step: "the donor asks the lab for an address" });
  const recovered = await bootRecovered(ctx, bench);
  await recovered.sh.expectOk(`grep -q 'serial=${WORKING.serial}' /dev/mtd1`, { step: "the recovered board carries the donor's serial" });
  await expectDhcpAck(bench.lan, WORKING.mac, step, "the recovered board asks with the donor's MAC");
  await step("the lab's switch reports the donor's MAC on two live ports", async () => {
    const dup = bench.lan.duplicateMacs.find((d) => d.mac === WORKING.mac);
    if (!dup) throw new ProductFailure("no duplicate MAC reported", { expected: `${WORKING.mac} on ports bricked and working`, seen: JSON.stringify(bench.lan.duplicateMacs) });
    if (dup.ports.join(",") !== "bricked,working") throw new ProductFailure("the duplicate was seen on other ports", { expected: "bricked,working", seen: dup.ports.join(",") });
    if (bench.lan.dhcp.log.some((e) => e.mac === BRICKED.mac)) throw new ProductFailure("the recovered board still used its own MAC", { seen: BRICKED.mac });
  });
  await donor.powerCut();
  await recovered.board.powerCut();
});
