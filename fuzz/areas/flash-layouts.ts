// Flash layouts, the two formats bootlab reads: STM32CubeProgrammer's flash.tsv (harness/images/
// flash-layout-tsv.ts: parse, partitions by device, fit against a device table) and the router layouts kept
// as JSON (harness/images/flash.ts: parseFlashLayout). Their contract is to refuse bad input with a
// ScenarioError naming every problem; any other exception is a crash. Token-level mutations of the layouts in
// test/data/flash-layouts and fixtures/flash.

import type { Area } from "../area.ts";
import { readdirSync, readFileSync } from "node:fs";
import { dataFiles } from "../captures.ts";
import { BYTE_MUTATORS } from "../mutators/bytes.ts";
import { jsonMutators } from "../mutators/json.ts";
import { textMutators } from "../mutators/text.ts";
import { ScenarioError } from "../../harness/errors/failures.ts";
import { parseFlashLayout } from "../../harness/images/flash.ts";
import { checkFlashLayoutFits, type FlashDeviceSize, parseFlashLayoutTsv, partitionsByDevice } from "../../harness/images/flash-layout-tsv.ts";

/** As readFileSync(path, "utf8") reads a file: a byte-order mark stays (the TSV parser reports it). */
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
const MIB = 1024 * 1024;

const DEVICES: Record<string, FlashDeviceSize> = {
  mmc0: { bytes: 16 * 1024 * MIB },
  mmc1: { bytes: 4 * 1024 * MIB, hasBootPartitions: true, bootPartitionBytes: 4 * MIB },
  nor0: { bytes: 64 * MIB },
  nand0: { bytes: 512 * MIB },
  "spi-nand0": { bytes: 256 * MIB },
  ram: { bytes: 512 * MIB, base: 0xc0000000 },
};

/** File sizes without a file system: a name's own numbers, a missing file for names with "missing". */
function sizeOf(path: string): number | undefined {
  if (path.includes("missing")) return undefined;
  let h = 0;
  for (let i = 0; i < path.length; i++) h = (h * 31 + path.charCodeAt(i)) >>> 0;
  return h % (8 * MIB);
}

/** The first problem of a refusal, without its file position and values, as the outcome's detail. */
function firstProblem(e: ScenarioError): string {
  const line = e.message.split("\n")[1] ?? e.message;
  return line.replace(/^[^ ]*:\d+:\d+: /, "").replace(/^\s*- /, "").replace(/"[^"]*"/g, "…").split(/,| expected/)[0]!.slice(0, 60);
}

const TSV_WORDS = [
  "#Opt", "-", "P", "PE", "PD", "PED", "E", "D", "PX", "0x01", "0x03", "0x04", "0x05", "0x10", "0x11", "0xF0", "0xF1", "0x00", "0x1G",
  "fsbl1", "fsbl2", "fsbl1-boot", "ssbl-boot", "fip", "u-boot-env", "rootfs", "bootfs", "userfs", "a-name-that-is-too-long",
  "Binary", "Binary(2)", "Binary(0)", "FIP", "System", "FileSystem", "RawImage", "none", "ram", "mmc0", "mmc1", "mmc10", "nor0", "nand0",
  "spi-nand0", "usb0", "boot1", "boot2", "boot3", "0x0", "0x4400", "0x4000", "0x80000", "017", "0x", "sdcard.img", "tf-a.stm32", "missing.bin", "none",
];

const JSON_WORDS = [
  "chip", "eraseBlockKiB", "chipKiB", "partitions", "spans", "name", "sizeKiB", "readOnly", "content", "from", "to", "$comment",
  "fit", "rest", "erased", "factory", "kernel", "rootfs", "data", "bootloader", "u-boot", "rootfs_data", "firmware", "flash",
];

export function flashLayoutTsvArea(): Area {
  const seeds = dataFiles("flash-layouts/", ".tsv").map((f) => f.bytes);
  return {
    name: "flash-layout-tsv",
    corpus: () => seeds,
    mutators: [...textMutators(TSV_WORDS), ...textMutators(TSV_WORDS), ...BYTE_MUTATORS],
    dictionary: TSV_WORDS.map((w) => new TextEncoder().encode(`\t${w}`)),
    maxBytes: 8192,
    expects: ["ok:fits", "refused:parse", "refused:fit"],
    run(input) {
      let layout;
      try {
        layout = parseFlashLayoutTsv("flash.tsv", utf8.decode(input), "/layouts");
      } catch (e) {
        if (e instanceof ScenarioError) return `refused:parse: ${firstProblem(e)}`;
        throw e;
      }
      const devices = partitionsByDevice(layout);
      if (devices.some((d) => d.partitions.some((p) => p.size !== undefined && p.size <= 0))) throw new Error("flash.tsv: a partition of no size in a layout that parsed");
      try {
        checkFlashLayoutFits(layout, DEVICES, sizeOf);
      } catch (e) {
        if (e instanceof ScenarioError) return `refused:fit: ${firstProblem(e)}`;
        throw e;
      }
      return "ok:fits";
    },
  };
}

export function flashLayoutJsonArea(): Area {
  const dir = new URL("../../fixtures/flash/", import.meta.url);
  const seeds = readdirSync(dir).filter((n) => n.endsWith(".json")).sort().map((n) => new Uint8Array(readFileSync(new URL(n, dir))));
  return {
    name: "flash-layout-json",
    corpus: () => seeds,
    mutators: [...Array.from({ length: 6 }, () => jsonMutators(JSON_WORDS)).flat(), ...textMutators(JSON_WORDS), ...BYTE_MUTATORS],
    maxBytes: 8192,
    expects: ["ok", "refused:layout", "refused:not JSON"],
    run(input) {
      let raw: unknown;
      try {
        raw = JSON.parse(utf8.decode(input));
      } catch {
        // readFlashLayout turns this into a ScenarioError before parseFlashLayout sees anything.
        return "refused:not JSON";
      }
      try {
        const l = parseFlashLayout("layout.json", raw);
        if (!l.partitions.length) throw new Error("flash layout: accepted without partitions");
        return "ok:parsed";
      } catch (e) {
        if (e instanceof ScenarioError) return `refused:layout: ${/field [^:]*|^\s*- [^:]*/.exec(e.message.split("\n")[1] ?? "")?.[0].replace(/^\s*- /, "") ?? ""}`;
        throw e;
      }
    },
  };
}
