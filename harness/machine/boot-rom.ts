// The boot ROM of a board with a boot switch (target.machine.bootRom), modelled on the STM32MP1's: the
// switch on storage ("sd") → the ROM reads the disk's GPT, loads the first stage from the partition named
// fsbl1, and from fsbl2 when fsbl1 fails its check; nothing found → nothing runs (a dead board, as on the
// real part). The switch on USB → the ROM's download path: it runs the first stage the programmer sends.
// QEMU's virt has no ROM, so the lab plays it before power-on and hands what passed to QEMU as its firmware.
// Pure: bytes in, a decision and what the ROM "did" out, so every branch is unit-tested.

import type { Target } from "../targets/catalogue.ts";
import { checkStm32Image } from "../images/stm32-image.ts";
import { readGpt, SECTOR } from "../images/gpt.ts";

export type BootRomSpec = NonNullable<Target["machine"]["bootRom"]>;

/** Where the boot switch points: the board's storage (its first disk), or the ROM's USB download. */
export type BootSwitch = "sd" | "usb";

export interface RomDecision {
  /** The first stage to run (the payload behind its header); absent: the ROM found nothing and the board stays dead. */
  firstStage?: Uint8Array;
  /** What the ROM looked at, in order, as a person reading the board's ROM trace would want it. */
  log: string[];
}

/** The switch on storage: the first stage from the first partition of the ROM's list that passes its check. */
export function romBootFromDisk(rom: BootRomSpec, read: (offset: number, length: number) => Uint8Array): RomDecision {
  const gpt = readGpt(read);
  if (typeof gpt === "string") return { log: [`storage: ${gpt}`] };
  const log: string[] = [];
  for (const name of rom.storage.partitions) {
    const p = gpt.find((e) => e.name === name);
    if (!p) {
      log.push(`${name}: no GPT partition of that name`);
      continue;
    }
    const bytes = read(p.startLba * SECTOR, (p.endLba - p.startLba + 1) * SECTOR);
    const image = checkStm32Image(bytes);
    if (typeof image === "string") {
      log.push(`${name} (partition ${p.number}, LBA ${p.startLba}): ${image}`);
      continue;
    }
    log.push(`${name} (partition ${p.number}, LBA ${p.startLba}): ${image.payload.length}-byte first stage, checksum good: running it`);
    return { firstStage: image.payload, log };
  }
  return { log };
}

/** The switch on USB: the ROM runs the first stage the programmer downloads, if it passes the same check. */
export function romBootFromDownload(image: Uint8Array, name: string): RomDecision {
  const checked = checkStm32Image(image);
  if (typeof checked === "string") return { log: [`USB download of ${name}: ${checked}`] };
  return { firstStage: checked.payload, log: [`USB download of ${name}: ${checked.payload.length}-byte first stage, checksum good: running it`] };
}
