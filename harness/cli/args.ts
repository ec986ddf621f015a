// A small, strict command-line parser: known flags only, values required where a flag takes one, and a
// clear message naming the flag otherwise.

import { ScenarioError } from "../errors/failures.ts";

export interface ParsedArgs {
  positional: string[];
  flags: Record<string, string | true>;
}

export function parseArgs(argv: string[], spec: Record<string, "value" | "switch">): ParsedArgs {
  const out: ParsedArgs = { positional: [], flags: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) {
      out.positional.push(a);
      continue;
    }
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const kind = spec[name];
    if (!kind) throw new ScenarioError(`unknown option --${name}`, { expected: Object.keys(spec).map((k) => `--${k}`).join(", ") || "no options" });
    if (kind === "switch") out.flags[name] = true;
    else {
      const v = inline ?? argv[++i];
      if (v === undefined || v === "") throw new ScenarioError(`option --${name} needs a value`);
      out.flags[name] = v;
    }
  }
  return out;
}

/** A TCP/UDP port from a flag (default when absent), or a ScenarioError naming the flag. */
export function portFlag(name: string, value: string | true | undefined, dflt: number): number {
  const p = typeof value === "string" ? value : String(dflt);
  const n = /^[0-9]{1,5}$/.test(p) ? Number(p) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new ScenarioError(`--${name} ${p} is not a port number`, { expected: "an integer from 1 to 65535" });
  return n;
}

/** A count flag (--max-transfers 64): a whole number from 1 up, or the default when absent. */
export function countFlag(name: string, value: string | true | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  const n = typeof value === "string" && /^[0-9]{1,9}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1)) throw new ScenarioError(`--${name} ${value === true ? "(no value)" : value} is not a count`, { expected: "a whole number from 1 up" });
  return n;
}
