// Read-only squashfs images, the root file system of a router's flash (mksquashfs, squashfs-tools).

import { rmSync } from "node:fs";
import { runCommand } from "../host/command.ts";
import { type ImageFile, withStagedFiles } from "./stage.ts";

/** Writes a squashfs image (xz, every file owned by root) of `files` to `out`; returns nothing, the size is the file's. */
export async function buildSquashfs(out: string, files: ImageFile[]): Promise<void> {
  await withStagedFiles(files, async (stage) => {
    rmSync(out, { force: true });
    await runCommand(["mksquashfs", stage, out, "-noappend", "-all-root", "-comp", "xz", "-quiet", "-no-progress"],
      { why: `build the squashfs image ${out}` });
  });
}
