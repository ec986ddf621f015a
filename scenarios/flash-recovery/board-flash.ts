import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ScenarioError, scenario } from "../../harness/mod.ts";
import { interruptedBootloaderFlash, workingFlash } from "../../harness/flows/board-flash.ts";

const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

// Seed 001's starting point: boards that power on from their own flash, like real ones. A working flash
// starts U-Boot with nothing given by the lab; a flash whose bootloader write was interrupted starts
// nothing — the board prints not one byte, and that is the result. The flash is a kept medium: it
// outlives the board, comes back byte for byte (on malta the lab swaps it for QEMU and back), and one
// chip cannot sit in two running boards.
export default scenario({
  name: "a board powers on from its own flash; a half-written bootloader leaves it dead",
  targets: "all",
  timeouts: { bootSeconds: 60, stepSeconds: 30 },
}, async ({ lab, target, fixtures, step }) => {
  const uboot = await fixtures.ubootImage();
  const good = workingFlash(target, uboot, join(lab.runDir, "working-flash.img"));
  const bricked = interruptedBootloaderFlash(target, good, statSync(uboot).size, join(lab.runDir, "bricked-flash.img"));

  const flash = lab.medium("working-flash", { path: good });
  const board = await lab.boot(target, { name: "working", flash: [flash], lan: false });
  await board.uboot();
  await step("a second board cannot hold the same flash chip", async () => {
    await assert.rejects(lab.boot(target, { name: "thief", flash: [flash], lan: false }), (e: unknown) =>
      e instanceof ScenarioError && /medium "working-flash" is in working, which is still running/.test(e.message));
  });
  await board.powerCut();
  await step("the kept flash holds the guest's bytes again once the board is off", async () => {
    assert.equal(sha(flash.path), sha(good), "the kept medium changed across a boot that wrote nothing");
  });

  const dead = await lab.boot(target, { name: "bricked", flash: [{ path: bricked }], lan: false });
  await dead.expectDead();
  await dead.powerCut();

  // The same board, powered on again from the kept flash: still a working board.
  const again = await lab.boot(target, { name: "working", flash: [flash], lan: false });
  await again.uboot();
  await again.powerCut();
});
