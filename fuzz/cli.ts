// The fuzz command: its arguments, and a run of the chosen areas in turn with a line per area as it ends,
// then the table and the failures. Returns the exit status: 1 on any crash, hang or growing heap.

import { fileURLToPath } from "node:url";
import { parseArgs } from "../harness/cli/args.ts";
import { ScenarioError } from "../harness/errors/failures.ts";
import { AREA_NAMES, describeAreas } from "./areas/index.ts";
import { CASES_DIR } from "./cases.ts";
import { failed, findings, line, outcomes, table } from "./report.ts";
import { type AreaResult, fuzzArea } from "./runner.ts";

export const USAGE = "npm run fuzz -- [N] [--seed S] [--area NAME[,NAME]] [--seconds S] [--hang-ms MS] [--list] [--outcomes] [--no-save]";

export interface FuzzCommand {
  areas: string[];
  /** Inputs per area; Infinity when only a time is given. */
  inputs: number;
  seconds?: number;
  seed: number;
  hangMs?: number;
  list: boolean;
  outcomes: boolean;
  save: boolean;
}

const DEFAULT_INPUTS = 10_000;

/** Reads the arguments; a ScenarioError names what is wrong with them. */
export function parseFuzzArgs(argv: string[]): FuzzCommand {
  const a = parseArgs(argv, { seed: "value", area: "value", seconds: "value", "hang-ms": "value", list: "switch", outcomes: "switch", "no-save": "switch" });
  const number = (what: string, v: string | true | undefined, min: number): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (typeof v !== "string" || !Number.isFinite(n) || n < min) throw new ScenarioError(`${what} ${String(v)} is not a number`, { expected: `a number ≥ ${min}` });
    return n;
  };
  if (a.positional.length > 1) throw new ScenarioError(`one count of inputs at most, got ${a.positional.join(" ")}`, { expected: USAGE });
  const seconds = number("--seconds", a.flags.seconds, 0.1);
  const areas = typeof a.flags.area === "string" ? a.flags.area.split(",").filter(Boolean) : AREA_NAMES;
  const unknown = areas.filter((n) => !AREA_NAMES.includes(n));
  if (unknown.length) throw new ScenarioError(`no fuzz area ${unknown.join(", ")}`, { expected: `one of ${AREA_NAMES.join(", ")}` });
  return {
    areas,
    inputs: number("the count of inputs", a.positional[0], 1) ?? (seconds !== undefined ? Infinity : DEFAULT_INPUTS),
    seconds,
    seed: number("--seed", a.flags.seed, 0) ?? 1,
    hangMs: number("--hang-ms", a.flags["hang-ms"], 10),
    list: a.flags.list === true,
    outcomes: a.flags.outcomes === true,
    save: a.flags["no-save"] !== true,
  };
}

export async function fuzzCommand(c: FuzzCommand, print: (s: string) => void = console.log): Promise<number> {
  if (c.list) {
    print(describeAreas());
    return 0;
  }
  const budget = [Number.isFinite(c.inputs) ? `${c.inputs} inputs` : "", c.seconds !== undefined ? `${c.seconds} s` : ""].filter(Boolean).join(" or ");
  print(`fuzz: seed ${c.seed}, ${budget} per area, ${c.areas.length} area${c.areas.length === 1 ? "" : "s"}, hang after ${c.hangMs ?? 5000} ms`);
  const results: AreaResult[] = [];
  for (const name of c.areas) {
    const r = await fuzzArea(name, {
      inputs: c.inputs, seconds: c.seconds, seed: c.seed, hangMs: c.hangMs, saveDir: c.save ? fileURLToPath(CASES_DIR) : undefined, log: (l) => print(`  ${l}`),
    });
    results.push(r);
    print(line(r));
    if (c.outcomes) print(`  ${outcomes(r)}`);
  }
  print("\n" + table(results));
  const f = findings(results);
  if (f) print("\n" + f);
  return results.some(failed) ? 1 : 0;
}
