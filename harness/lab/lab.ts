// The lab of one scenario run on one target: the machines it powers on and the LAN they share. It owns
// all of them, so whatever happens in the scenario, closing the lab stops everything.

import { mkdirSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import type { Owner } from "../lifecycle/owner.ts";
import type { Steps } from "../scenario/steps.ts";
import type { Target } from "../targets/catalogue.ts";
import { Machine } from "../machine/machine.ts";
import { type BootMedia, macFor, type NicPlan, qemuArgs, shellQuote } from "../machine/qemu-args.ts";
import { linuxBadPatterns } from "../console/bad-patterns.ts";
import type { FrameEvent } from "../lan/segment.ts";
import { LabLan, type LanOptions } from "./lan.ts";
import { Board, type BoardTimeouts } from "./board.ts";

export interface BootOptions extends BootMedia {
  /** Name of the machine in this lab (default: the target's name). */
  name?: string;
  /**
   * Plug the board's NIC into the lab LAN (default true); false leaves it unplugged; "slirp" uses QEMU's
   * user-mode network instead (for baselines: read-only TFTP from `slirpTftpRoot`, host at 10.0.2.2).
   */
  lan?: boolean | "slirp";
  slirpTftpRoot?: string;
}

export class Lab {
  readonly runDir: string;
  readonly artifacts: string;
  readonly boards: Board[] = [];
  #owner: Owner;
  #steps: Steps;
  #timeouts: BoardTimeouts;
  #lan: Promise<LabLan> | undefined;
  #seed: string;

  constructor(o: { owner: Owner; steps: Steps; runDir: string; artifacts: string; timeouts: BoardTimeouts; seed: string }) {
    this.#owner = o.owner;
    this.#steps = o.steps;
    this.runDir = o.runDir;
    this.artifacts = o.artifacts;
    this.#timeouts = o.timeouts;
    this.#seed = o.seed;
  }

  /**
   * The lab LAN: created on first use, with the given addressing (default 192.168.1.0/24, server .10).
   * Options only count on the first call.
   */
  lan(opts: LanOptions = {}): Promise<LabLan> {
    this.#lan ??= LabLan.create({ owner: this.#owner, artifacts: this.artifacts, seed: this.#seed, opts })
      .then((lan) => (this.#lanNow = lan));
    return this.#lan;
  }

  /** Frames seen on the lab LAN so far (empty until the LAN exists). */
  get frames(): readonly FrameEvent[] {
    return this.#lanNow?.frames ?? [];
  }

  #lanNow: LabLan | undefined;

  /** Powers on a machine of `target` with the given boot media. */
  async boot(target: Target, opts: BootOptions = {}): Promise<Board> {
    const name = opts.name ?? target.name;
    if (this.boards.some((b) => b.name === name)) throw new Error(`a machine named "${name}" is already in this lab`);
    return this.#steps.run(`power on ${name}`, async () => {
      const artifacts = this.boards.length === 0 && !opts.name ? this.artifacts : join(this.artifacts, name);
      mkdirSync(artifacts, { recursive: true });
      const mac = macFor(`${this.#seed}/${name}`);
      const nics: NicPlan[] = [{ id: "n0", mac }];
      if (opts.lan === "slirp") nics[0]!.slirp = { tftpRoot: opts.slirpTftpRoot };
      else if (opts.lan !== false) {
        const lan = await this.lan();
        const sock = join(this.runDir, `${name}-lan0.sock`);
        await lan.segment.addSocketPort(name, sock);
        nics[0]!.lanSocket = sock;
      }
      const media: BootMedia = { firmware: opts.firmware, kernel: opts.kernel, initrd: opts.initrd, append: opts.append };
      writeRepro(artifacts, qemuArgs({ target, media, nics, consoles: [], interactive: true }));
      const machine = await Machine.start({
        name, target, media, nics, artifacts, runDir: this.runDir, owner: this.#owner,
        // Under firmware, one U-Boot banner per power-on is the normal start; a second is a reset.
        badPatterns: linuxBadPatterns({ bootloaderBanners: opts.firmware ? 1 : 0 }),
      });
      const board = new Board(name, machine, mac, this.#steps, this.#timeouts, () => this.#lanNow);
      this.boards.push(board);
      return board;
    });
  }
}

function writeRepro(dir: string, argv: string[]): void {
  const path = join(dir, "repro.sh");
  writeFileSync(path, [
    "#!/bin/sh",
    "# Brings the same machine back up with its serial console on this terminal (Ctrl-A X quits QEMU).",
    "# The NIC is present but unplugged: the lab LAN lives only while bootlab runs.",
    `exec ${shellQuote(argv)} "$@"`,
    "",
  ].join("\n"));
  chmodSync(path, 0o755);
}
