// ext4 images built without root or loop mounts: the files are laid out in a temporary folder and
// `mkfs.ext4 -d` copies them in (e2fsprogs). Used for USB sticks and the flash's writable data partition.

import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { runCommand } from "../host/command.ts";

export interface ImageFile {
  /** Path inside the image, without a leading slash. */
  path: string;
  data: Uint8Array | string;
  mode?: number;
}

/** Writes an ext4 image of `sizeMiB` to `out` holding `files` (an empty file system when there are none). */
export async function buildExt4(out: string, files: ImageFile[], opts: { sizeMiB: number; label?: string }): Promise<void> {
  const stage = mkdtempSync(join(tmpdir(), "bootlab-ext4-"));
  try {
    for (const f of files) {
      const p = join(stage, f.path);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, f.data);
      chmodSync(p, f.mode ?? 0o644);
    }
    rmSync(out, { force: true });
    // -E root_owner: files belong to root in the guest whoever builds the image; no journal keeps it small.
    await runCommand(["mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-E", "root_owner=0:0", "-L", opts.label ?? "bootlab",
      "-d", stage, out, `${opts.sizeMiB}M`], { why: `build the ext4 image ${out}` });
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
