// A medium in the role of a board's own flash chip. QEMU's pflash wants a file of exactly the chip's size,
// so an image is padded with erased bytes (0xff) and one larger than the chip is refused. Media hold the
// bytes the guest reads; on a board whose QEMU stores flash words swapped when it boots from flash
// (malta little-endian, target.machine.flash.byteSwap) the lab swaps the file for that role and back when
// the board stops, so a flash written by a programmer board can be put back into its own board.
// The contract of that role: the guest does not write its own flash inside the swapped region while it
// boots from it (QEMU writes such sectors to the file in the guest's order, and the swap back would garble
// them). Debian's malta U-Boot cannot save its environment, which lives outside the region anyway.

import { closeSync, copyFileSync, openSync, readSync, statSync, writeSync } from "node:fs";
import { basename, join } from "node:path";
import { ScenarioError } from "../errors/failures.ts";
import type { BoardFlash } from "../targets/catalogue.ts";
import type { DriveFile } from "../machine/qemu-args.ts";
import { KeptMedium, type MediumRef } from "./store.ts";
import { swapWords } from "../images/byte-swap.ts";

function swapFile(path: string, wordBytes: number, firstBytes: number): void {
  const fd = openSync(path, "r+");
  try {
    const buf = new Uint8Array(Math.min(firstBytes, statSync(path).size));
    readSync(fd, buf, 0, buf.length, 0);
    swapWords(buf, wordBytes, firstBytes);
    writeSync(fd, buf, 0, buf.length, 0);
  } finally {
    closeSync(fd);
  }
}

export interface FlashRole {
  drive: DriveFile;
  /** Undoes what the role did to a kept medium (the swap back); called once the board has stopped. */
  release: () => void;
}

/**
 * Puts a medium into chip `index` of a board's flash. `bootsFromFlash`: the board powers on from it (no
 * kernel, no firmware), which is when QEMU swaps.
 */
export function flashRole(o: { flash: BoardFlash; index: number; medium: MediumRef; bootsFromFlash: boolean; runDir: string; board: string; target: string }): FlashRole {
  const chip = o.flash.chips[o.index];
  if (!chip) {
    throw new ScenarioError(`${o.board}: flash[${o.index}] is given, but ${o.target} has ${o.flash.chips.length} flash chip(s)`, {
      expected: `at most ${o.flash.chips.length} flash media (${o.flash.chips.map((c) => c.name).join(", ")})`,
    });
  }
  const what = o.medium instanceof KeptMedium ? `medium "${o.medium.name}"` : `image ${o.medium.path}`;
  const size = statSync(o.medium.path).size;
  if (o.medium.format === "qcow2") throw new ScenarioError(`${o.board}: ${what} is qcow2; a flash chip is given as a raw image`);
  if (size > chip.bytes) {
    throw new ScenarioError(`${o.board}: ${what} is ${size} bytes, larger than ${o.target}'s ${chip.bytes}-byte flash chip "${chip.name}"`, {
      expected: `an image of at most ${chip.bytes} bytes`,
    });
  }
  const swap = o.bootsFromFlash && o.index === 0 ? o.flash.byteSwap : undefined;
  if (o.medium instanceof KeptMedium) {
    if (size !== chip.bytes) {
      throw new ScenarioError(`${o.board}: medium "${o.medium.name}" is ${size} bytes; ${o.target}'s flash chip "${chip.name}" is ${chip.bytes}`, {
        expected: "a kept medium of the chip's exact size (make it from an image of that size)",
      });
    }
    const path = o.medium.path;
    if (swap) swapFile(path, swap.wordBytes, swap.firstBytes);
    let released = false;
    return {
      drive: { file: path, format: "raw" },
      release: () => {
        if (released) return;
        released = true;
        if (swap) swapFile(path, swap.wordBytes, swap.firstBytes);
      },
    };
  }
  // A throw-away chip: a copy of the image, padded to the chip with erased bytes.
  const copy = join(o.runDir, `${o.board}-${chip.name}-${basename(o.medium.path)}`);
  copyFileSync(o.medium.path, copy);
  if (size < chip.bytes) {
    const fd = openSync(copy, "r+");
    try {
      writeSync(fd, new Uint8Array(chip.bytes - size).fill(0xff), 0, chip.bytes - size, size);
    } finally {
      closeSync(fd);
    }
  }
  if (swap) swapFile(copy, swap.wordBytes, swap.firstBytes);
  return { drive: { file: copy, format: "raw" }, release: () => {} };
}
