// ext4 images built without root or loop mounts: `mkfs.ext4 -d` copies a staged folder in (e2fsprogs).
// Used for USB sticks, loop images on sticks, and the writable data partition where a target has no MTD.

import { rmSync } from "node:fs";
import { runCommand } from "../host/command.ts";
import { type ImageFile, withStagedFiles } from "./stage.ts";

export type { ImageFile };

/** Writes an ext4 image of `sizeMiB` to `out` holding `files` (an empty file system when there are none). */
export async function buildExt4(out: string, files: ImageFile[], opts: { sizeMiB: number; label?: string }): Promise<void> {
  await withStagedFiles(files, async (stage) => {
    rmSync(out, { force: true });
    // -E root_owner: files belong to root in the guest whoever builds the image; no journal keeps it small.
    await runCommand(["mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-E", "root_owner=0:0", "-L", opts.label ?? "bootlab",
      "-d", stage, out, `${opts.sizeMiB}M`], { why: `build the ext4 image ${out}` });
  });
}
