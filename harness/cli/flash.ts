// `bootlab flash`: the factory line for one emulated board — a flash layout (flash.tsv) and its binaries
// programmed into a blank board through its boot ROM's USB download, the board switched back to its storage
// and booted from it, and the flashed storage kept on request. A way to check a layout before it reaches a
// factory. Everything wrong with the layout is refused (exit 2) before any machine starts.

import { copyFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "./args.ts";
import { ScenarioError } from "../errors/failures.ts";
import { getTarget } from "../targets/catalogue.ts";
import { readFlashLayoutTsv } from "../images/flash-layout-tsv.ts";
import { Fixtures } from "../fixtures/fixtures.ts";
import { runExitCode, runOne, type ScenarioResult } from "../scenario/runner.ts";
import type { ValidScenario } from "../scenario/define.ts";
import { checkLayoutForBoard, type PartitionProgrammed } from "../flows/programmer.ts";
import { blankStorage, bootFromStorage, flashInFactory, storageBytesFor } from "../flows/factory-flash.ts";
import type { KeptMedium } from "../media/store.ts";

export const FLASH_USAGE = `  bootlab flash --layout FILE --target NAME [--storage-mib N] [--keep DIR] [--out DIR]
                                  program a blank board from a flash layout (flash.tsv) through its boot
                                  ROM, boot it from the storage, report; --keep DIR keeps the storage image
`;

export async function cmdFlash(argv: string[], printResult: (r: ScenarioResult) => void): Promise<number> {
  const a = parseArgs(argv, { layout: "value", target: "value", "storage-mib": "value", keep: "value", out: "value" });
  if (typeof a.flags.layout !== "string" || typeof a.flags.target !== "string") {
    throw new ScenarioError("bootlab flash: --layout and --target are both needed", { expected: FLASH_USAGE.trim() });
  }
  const target = getTarget(a.flags.target);
  const mib = a.flags["storage-mib"] === undefined ? storageBytesFor(target) / 1048576 : Number(a.flags["storage-mib"]);
  if (!Number.isInteger(mib) || mib < 1 || mib > 65536) throw new ScenarioError(`bootlab flash: --storage-mib ${a.flags["storage-mib"]} is not a size in MiB`, { expected: "a whole number of MiB, 1–65536" });
  const layoutPath = resolve(a.flags.layout);
  // Refused here, before a machine starts: the layout's own problems, and what does not fit this board.
  const layout = readFlashLayoutTsv(layoutPath);
  checkLayoutForBoard(layout, target, { storageBytes: mib * 1048576 });
  const keep = typeof a.flags.keep === "string" ? resolve(a.flags.keep) : undefined;
  const say = (line: string) => process.stdout.write(line + "\n");
  let partitions: PartitionProgrammed[] = [];
  let storage: KeptMedium | undefined;
  const s: ValidScenario = {
    file: layoutPath, id: "flash",
    header: { name: `flash ${layoutPath} onto a blank ${target.name}`, targets: [target.name], timeouts: { scenarioSeconds: 1800, bootSeconds: 120, stepSeconds: 120 } },
    targets: [target],
    body: async (ctx) => {
      storage = blankStorage(ctx.lab, target, mib * 1048576);
      const lan = await ctx.lab.lan();
      const flashed = await flashInFactory(ctx, { layout, storage, lan, print: say });
      partitions = flashed.partitions;
      say("");
      say("Switch back to SD, reset:");
      const { ready } = await bootFromStorage(ctx, storage);
      say(`  booted from storage: ${ready}`);
      if (keep) {
        mkdirSync(keep, { recursive: true });
        copyFileSync(storage.path, join(keep, "storage.img"));
      }
    },
  };
  const r = await runOne(s, target.name, new Fixtures(), resolve(a.flags.out as string | undefined ?? "out"));
  printResult(r);
  if (partitions.length) {
    say("");
    say("  id    name              bytes   download   write");
    for (const p of partitions) {
      say(`  0x${p.id.toString(16).padStart(2, "0")}  ${p.name.padEnd(12)} ${String(p.bytes).padStart(11)} ${(p.downloadMs / 1000).toFixed(2).padStart(9)} s ${(p.writeMs / 1000).toFixed(2).padStart(6)} s`);
    }
  }
  if (keep && r.status === "passed") say(`\nthe flashed storage: ${join(keep, "storage.img")}`);
  return runExitCode([r]);
}
