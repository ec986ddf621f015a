// Files laid out in a temporary folder, for the host tools that build a file system from a folder
// (mkfs.ext4 -d, mksquashfs, mcopy). Nothing here needs root: ownership is set by the tools' options.

import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** A file to put in an image (`buildExt4`, `buildVfat`, `buildSquashfs`). */
export interface ImageFile {
  /** Path inside the image, without a leading slash. A path ending in "/" is an empty folder. */
  path: string;
  /** The content (text is written as UTF-8). */
  data: Uint8Array | string;
  /** Permission bits (default 0644). */
  mode?: number;
}

/** Runs `fn` with a folder holding `files`, and removes the folder afterwards. */
export async function withStagedFiles<T>(files: ImageFile[], fn: (dir: string) => Promise<T>): Promise<T> {
  const stage = mkdtempSync(join(tmpdir(), "bootlab-stage-"));
  try {
    for (const f of files) {
      const p = join(stage, f.path);
      if (f.path.endsWith("/")) {
        mkdirSync(p, { recursive: true });
        continue;
      }
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, f.data);
      chmodSync(p, f.mode ?? 0o644);
    }
    return await fn(stage);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
