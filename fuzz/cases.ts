// Inputs that crashed or hung, kept as test cases: test/data/fuzz/<area>/<sha256 prefix>.bin, with what
// happened in a .txt next to it. test/unit/fuzz-cases.test.ts replays every one through its area.

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const CASES_DIR = new URL("../test/data/fuzz/", import.meta.url);

export interface SavedCase {
  area: string;
  /** Path of the .bin file. */
  path: string;
  input: Uint8Array;
  /** The .txt next to it: the error and how the input was made. */
  note: string;
}

export function caseName(input: Uint8Array): string {
  return createHash("sha256").update(input).digest("hex").slice(0, 16);
}

/** Writes the case unless it is there already; returns the .bin path. */
export function saveCase(dir: string, area: string, input: Uint8Array, note: string): string {
  const folder = join(dir, area);
  mkdirSync(folder, { recursive: true });
  const bin = join(folder, `${caseName(input)}.bin`);
  if (!existsSync(bin)) {
    writeFileSync(bin, input);
    writeFileSync(bin.replace(/\.bin$/, ".txt"), note.endsWith("\n") ? note : note + "\n");
  }
  return bin;
}

export function loadCases(dir: string): SavedCase[] {
  if (!existsSync(dir)) return [];
  const out: SavedCase[] = [];
  for (const area of readdirSync(dir).sort()) {
    const folder = join(dir, area);
    let names: string[];
    try {
      names = readdirSync(folder).filter((n) => n.endsWith(".bin")).sort();
    } catch {
      continue;
    }
    for (const n of names) {
      const path = join(folder, n);
      const txt = path.replace(/\.bin$/, ".txt");
      out.push({ area, path, input: new Uint8Array(readFileSync(path)), note: existsSync(txt) ? readFileSync(txt, "utf8") : "" });
    }
  }
  return out;
}
