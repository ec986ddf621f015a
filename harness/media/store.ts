// The media of one lab: every image a board sees as a disk, a USB stick or its own flash. One owner for
// all of them, so an image given by a scenario is never written:
// - a throw-away medium is a per-run qcow2 overlay over the image (or a raw copy where QEMU needs the
//   whole chip, as for flash), gone with the run;
// - a kept medium is a real file in the run that outlives a boot: the same board after a reset, or
//   another board, powers on from what the last one wrote (a bricked flash clipped onto a programmer,
//   then put back into its own board).
// Two running boards holding one kept medium at once is a scenario error: one chip, one board.

import { closeSync, copyFileSync, existsSync, ftruncateSync, openSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { runCommand } from "../host/command.ts";
import { ScenarioError } from "../errors/failures.ts";
import type { DriveFile } from "../machine/qemu-args.ts";

/** A disk, stick or flash image by path: never written (each boot writes to its own overlay or copy). */
export interface ImageRef {
  /** The image file. */
  path: string;
  /** Its format (default raw). */
  format?: "raw" | "qcow2";
}

/** A medium that outlives a boot: `path` is the live file, written in place by whichever board holds it. */
export class KeptMedium {
  /** The name given to `lab.medium`. */
  readonly name: string;
  /** The live file (in the run folder). */
  readonly path: string;
  /** Its format. */
  readonly format: "raw" | "qcow2";
  /** The board holding it now, if any. */
  heldBy: string | undefined;

  constructor(name: string, path: string, format: "raw" | "qcow2") {
    this.name = name;
    this.path = path;
    this.format = format;
  }

  /** Its size now, in bytes. */
  get bytes(): number {
    return statSync(this.path).size;
  }
}

function checkName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new ScenarioError(`lab.medium("${name}"): a medium's name is a plain file name`, { expected: "letters, digits, '.', '_' or '-'" });
  }
}

/** What a boot asks for: an image (a throw-away copy of it) or a kept medium. */
export type MediumRef = ImageRef | KeptMedium;

export class MediaStore {
  readonly #dir: string;
  readonly #kept = new Map<string, KeptMedium>();

  constructor(runDir: string) {
    this.#dir = runDir;
  }

  /** Makes a medium that outlives boots, starting as a copy of `image` (never written itself). */
  keep(name: string, image: ImageRef): KeptMedium {
    checkName(name);
    if (this.#kept.has(name)) throw new ScenarioError(`lab.medium("${name}"): a medium of that name exists in this lab`, { expected: "one name per medium" });
    if (!existsSync(image.path)) throw new ScenarioError(`lab.medium("${name}"): image ${image.path} does not exist`);
    const format = image.format ?? (image.path.endsWith(".qcow2") ? "qcow2" : "raw");
    const path = join(this.#dir, `medium-${name}.${format === "qcow2" ? "qcow2" : "img"}`);
    copyFileSync(image.path, path);
    const m = new KeptMedium(name, path, format);
    this.#kept.set(name, m);
    return m;
  }

  /** A kept medium that starts blank: `bytes` of zeros in a sparse raw file (storage fresh from its maker). */
  blank(name: string, bytes: number): KeptMedium {
    checkName(name);
    if (this.#kept.has(name)) throw new ScenarioError(`lab.blankMedium("${name}"): a medium of that name exists in this lab`, { expected: "one name per medium" });
    if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes % 512 !== 0) throw new ScenarioError(`lab.blankMedium("${name}", ${bytes}): not a size in whole 512-byte blocks`, { expected: "a positive multiple of 512 bytes" });
    const path = join(this.#dir, `medium-${name}.img`);
    const fd = openSync(path, "w");
    try {
      ftruncateSync(fd, bytes);
    } finally {
      closeSync(fd);
    }
    const m = new KeptMedium(name, path, "raw");
    this.#kept.set(name, m);
    return m;
  }

  /**
   * Checks, before a board starts, that none of its kept media is in another running board. Throws a
   * scenario error naming both; nothing is claimed then.
   */
  claim(board: string, media: MediumRef[]): void {
    for (const m of media) {
      if (m instanceof KeptMedium && m.heldBy && m.heldBy !== board) {
        throw new ScenarioError(`medium "${m.name}" is in ${m.heldBy}, which is still running: ${board} cannot hold it too`, {
          expected: `power ${m.heldBy} off (board.powerOff() or board.kill()) before ${board} takes "${m.name}"`,
        });
      }
    }
    for (const m of media) if (m instanceof KeptMedium) m.heldBy = board;
  }

  /** The board stopped: its kept media are free. */
  release(board: string): void {
    for (const m of this.#kept.values()) if (m.heldBy === board) m.heldBy = undefined;
  }

  /** A per-run qcow2 overlay over an image (or over a snapshot's saved overlay), or a kept medium as it is. */
  async drive(board: string, role: string, m: MediumRef, backing?: string): Promise<DriveFile> {
    if (m instanceof KeptMedium) return { file: m.path, format: m.format };
    const overlay = join(this.#dir, `${board}-${role}.qcow2`);
    const format = backing ? "qcow2" : m.format ?? (m.path.endsWith(".qcow2") ? "qcow2" : "raw");
    await runCommand(["qemu-img", "create", "-q", "-f", "qcow2", "-F", format, "-b", backing ?? m.path, overlay], {
      why: `create the ${role} overlay over ${basename(backing ?? m.path)}`,
    });
    return { file: overlay, format: "qcow2" };
  }
}
