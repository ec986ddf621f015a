// vfat images built without root or loop mounts: mkfs.vfat -C makes the image file, mtools' mcopy copies
// the staged files in. What most USB sticks in the field carry.

import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { runCommand } from "../host/command.ts";
import { type ImageFile, withStagedFiles } from "./stage.ts";

/** Writes a vfat image of `sizeMiB` to `out` holding `files` (names are kept as they are; vfat has no modes). */
export async function buildVfat(out: string, files: ImageFile[], opts: { sizeMiB: number; label?: string }): Promise<void> {
  await withStagedFiles(files, async (stage) => {
    rmSync(out, { force: true });
    await runCommand(["mkfs.vfat", "-C", "-n", (opts.label ?? "BOOTLAB").toUpperCase().slice(0, 11), out, String(opts.sizeMiB * 1024)],
      { why: `build the vfat image ${out}` });
    const top = readdirSync(stage).map((n) => join(stage, n));
    // MTOOLS_SKIP_CHECK: mtools would otherwise question the geometry of an image file with no partition table.
    if (top.length) {
      await runCommand(["mcopy", "-s", "-Q", "-i", out, ...top, "::/"], { env: { MTOOLS_SKIP_CHECK: "1" }, why: `copy files into ${out}` });
    }
  });
}
