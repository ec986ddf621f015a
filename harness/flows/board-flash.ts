// A board's own flash for seed 001 (a bricked board brought back by a working one): the good image a
// working board carries, and the image of a board whose bootloader write was interrupted. Images hold
// the bytes the guest reads; the lab converts them for QEMU where the board needs it.

import { readFileSync, writeFileSync } from "node:fs";
import type { Target } from "../targets/catalogue.ts";
import { ScenarioError } from "../errors/failures.ts";

/** A deterministic byte stream (xorshift32), so a "random" half-written flash is the same every run. */
export function seededBytes(seed: string, n: number): Uint8Array {
  let x = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) x = Math.imul(x ^ seed.charCodeAt(i), 0x01000193) >>> 0;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function chipOf(target: Target) {
  const chip = target.machine.flash?.chips[0];
  if (!chip) throw new ScenarioError(`target ${target.name} has no flash of its own`, { expected: `a "machine.flash" object in targets/${target.name}.json` });
  return chip;
}

/** The first chip of a working board: its bootloader at offset 0, the rest erased (0xff). */
export function workingFlash(target: Target, bootloader: string, out: string): string {
  const chip = chipOf(target);
  const img = new Uint8Array(chip.bytes).fill(0xff);
  const boot = readFileSync(bootloader);
  if (boot.length > chip.bytes) throw new ScenarioError(`${bootloader} (${boot.length} bytes) does not fit ${target.name}'s ${chip.bytes}-byte flash`);
  img.set(boot, 0);
  writeFileSync(out, img);
  return out;
}

/**
 * The same flash after a bootloader update was cut short: its first erase block erased, the rest of the
 * bootloader's area half old, half garbage. Nothing on it can start the CPU.
 */
export function interruptedBootloaderFlash(target: Target, working: string, bootloaderBytes: number, out: string): string {
  const chip = chipOf(target);
  const img = new Uint8Array(readFileSync(working));
  img.fill(0xff, 0, chip.eraseBlockBytes);
  const rest = Math.max(0, bootloaderBytes - chip.eraseBlockBytes);
  img.set(seededBytes(`${target.name}/interrupted-write`, rest), chip.eraseBlockBytes);
  writeFileSync(out, img);
  return out;
}
