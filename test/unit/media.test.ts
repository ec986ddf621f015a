// The lab's media: kept media outlive a boot and sit in one running board at a time; a flash chip gets a
// padded copy of an image, refuses one larger than the chip, and on malta is swapped for QEMU and back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MediaStore } from "../../harness/media/store.ts";
import { flashRole } from "../../harness/media/board-flash.ts";
import { swapWords } from "../../harness/images/byte-swap.ts";
import { getTarget } from "../../harness/targets/catalogue.ts";
import { ScenarioError } from "../../harness/errors/failures.ts";
import { tempDir } from "../helpers.ts";
import { Lab } from "../../harness/lab/lab.ts";
import { Owner } from "../../harness/lifecycle/owner.ts";
import { Steps } from "../../harness/scenario/steps.ts";
import { declaredAttachedBytes, programmerMtdparts } from "../../harness/flows/flash-recovery.ts";

test("media: a kept medium is a copy of its image, held by one running board at a time, free again when it stops", () => {
  const d = tempDir("bootlab-media-");
  try {
    const image = join(d.path, "flash.img");
    writeFileSync(image, new Uint8Array([1, 2, 3, 4]));
    const store = new MediaStore(d.path);
    const m = store.keep("bricked", { path: image });
    assert.notEqual(m.path, image);
    assert.deepEqual([...readFileSync(m.path)], [1, 2, 3, 4]);
    store.claim("programmer", [m]);
    assert.throws(() => store.claim("bricked-board", [m]), (e: unknown) =>
      e instanceof ScenarioError && e.message === `medium "bricked" is in programmer, which is still running: bricked-board cannot hold it too`);
    store.release("programmer");
    store.claim("bricked-board", [m]);
    assert.equal(m.heldBy, "bricked-board");
    assert.throws(() => store.keep("bricked", { path: image }), ScenarioError);
    assert.throws(() => store.keep("../escape", { path: image }), ScenarioError);
    assert.throws(() => store.keep("missing", { path: join(d.path, "nope.img") }), /does not exist/);
  } finally {
    d.remove();
  }
});

test("media: a flash chip gets the image padded with erased bytes; a larger image or a kept medium of another size is refused", () => {
  const d = tempDir("bootlab-media-flash-");
  try {
    const arm = getTarget("virt-arm64");
    const small = join(d.path, "small.img");
    writeFileSync(small, new Uint8Array(1000).fill(7));
    const role = flashRole({ flash: arm.machine.flash!, index: 0, medium: { path: small }, bootsFromFlash: true, runDir: d.path, board: "b", target: arm.name });
    const chip = readFileSync(role.drive.file);
    assert.equal(chip.length, 64 * 1048576);
    assert.equal(chip[999], 7);
    assert.equal(chip[1000], 0xff);
    assert.equal(chip.at(-1), 0xff);
    const malta = getTarget("malta-mipsel");
    const big = join(d.path, "big.img");
    writeFileSync(big, new Uint8Array(4 * 1048576 + 1));
    assert.throws(() => flashRole({ flash: malta.machine.flash!, index: 0, medium: { path: big }, bootsFromFlash: true, runDir: d.path, board: "b", target: malta.name }),
      /big\.img is 4194305 bytes, larger than malta-mipsel's 4194304-byte flash chip "flash"/);
    assert.throws(() => flashRole({ flash: malta.machine.flash!, index: 1, medium: { path: small }, bootsFromFlash: true, runDir: d.path, board: "b", target: malta.name }),
      /flash\[1\] is given, but malta-mipsel has 1 flash chip/);
    const kept = new MediaStore(d.path).keep("odd", { path: small });
    assert.throws(() => flashRole({ flash: malta.machine.flash!, index: 0, medium: kept, bootsFromFlash: true, runDir: d.path, board: "b", target: malta.name }),
      /medium "odd" is 1000 bytes; malta-mipsel's flash chip "flash" is 4194304/);
  } finally {
    d.remove();
  }
});

test("media: malta's flash is swapped word by word over its first 0x3e0000 bytes when it boots from it, and back on release", () => {
  const d = tempDir("bootlab-media-swap-");
  try {
    const malta = getTarget("malta-mipsel");
    const img = new Uint8Array(4 * 1048576);
    for (let i = 0; i < img.length; i++) img[i] = i & 0xff;
    const path = join(d.path, "flash.img");
    writeFileSync(path, img);
    const kept = new MediaStore(d.path).keep("flash", { path });
    const role = flashRole({ flash: malta.machine.flash!, index: 0, medium: kept, bootsFromFlash: true, runDir: d.path, board: "b", target: malta.name });
    const live = readFileSync(role.drive.file);
    assert.deepEqual([...live.subarray(0, 8)], [3, 2, 1, 0, 7, 6, 5, 4]);
    assert.deepEqual([...live.subarray(0x3e0000 - 4, 0x3e0000 + 4)], [0xff, 0xfe, 0xfd, 0xfc, 0, 1, 2, 3], "swapped up to 0x3e0000, as QEMU does, not beyond");
    role.release();
    role.release();
    assert.deepEqual(new Uint8Array(readFileSync(kept.path)), img);
    // Booted by -kernel, QEMU does not swap: neither does the lab.
    const direct = flashRole({ flash: malta.machine.flash!, index: 0, medium: kept, bootsFromFlash: false, runDir: d.path, board: "b", target: malta.name });
    assert.deepEqual(new Uint8Array(readFileSync(direct.drive.file)), img);
    const words = new Uint8Array([1, 2, 3, 4, 5, 6]);
    swapWords(words, 4, 6);
    assert.deepEqual([...words], [4, 3, 2, 1, 5, 6], "a tail shorter than a word is left alone");
  } finally {
    d.remove();
  }
});

test("media: a board whose machine runs its first chip anyway (virt) is refused a lab kernel with that chip, before anything starts; an empty slot is allowed", async () => {
  const d = tempDir("bootlab-media-slot-");
  const owner = new Owner("slot-test");
  try {
    const arm = getTarget("virt-arm64");
    const image = join(d.path, "flash.img");
    writeFileSync(image, new Uint8Array(4096).fill(0xff));
    const steps = new Steps();
    const lab = new Lab({ owner, steps, runDir: d.path, artifacts: d.path, seed: "slot", timeouts: { bootMs: 1000, stepMs: 1000 } });
    await assert.rejects(lab.boot(arm, { kernel: image, flash: [{ path: image }], lan: false }), (e: unknown) =>
      e instanceof ScenarioError && e.message === "virt-arm64 runs what is in its first flash chip even when given a kernel" &&
      /flash: \[null, …\]/.test(e.context.expected ?? ""));
    assert.deepEqual(steps.records, [], "nothing was started");
    // The programmer's wiring: its own slot empty, the clipped chip second.
    assert.equal(programmerMtdparts("0.flash", 64 << 20, "joined", 256 << 20), "mtdparts=0.flash:64m(ALL)ro,256m(attached)");
    assert.equal(programmerMtdparts("1e000000.flash", 4 << 20, "spi0.1", 16 << 20), "mtdparts=1e000000.flash:4m(ALL)ro;spi0.1:16m(attached)");
    assert.equal(declaredAttachedBytes(arm), 256 << 20);
    assert.equal(declaredAttachedBytes(getTarget("malta-mipsel")), 16 << 20);
  } finally {
    await owner.close();
    d.remove();
  }
});
