// Reads untrusted data (target JSON, scenario headers, lock files) field by field and collects every
// problem with its file and field path, so a bad input is reported whole, before any machine starts.

import { ScenarioError } from "../errors/failures.ts";

export class FieldReader {
  readonly source: string;
  readonly problems: string[];
  readonly #obj: Record<string, unknown>;
  readonly #prefix: string;
  readonly #seen = new Set<string>();

  constructor(source: string, value: unknown, prefix = "", problems: string[] = []) {
    this.source = source;
    this.problems = problems;
    this.#prefix = prefix;
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      this.#obj = value as Record<string, unknown>;
    } else {
      this.#obj = {};
      this.problems.push(`${prefix || "(top level)"}: expected an object, got ${describe(value)}`);
    }
  }

  #path(key: string): string {
    return this.#prefix ? `${this.#prefix}.${key}` : key;
  }

  #get(key: string): unknown {
    this.#seen.add(key);
    return this.#obj[key];
  }

  problem(key: string, expected: string, got: unknown): void {
    this.problems.push(`field ${this.#path(key)}: expected ${expected}, got ${describe(got)}`);
  }

  has(key: string): boolean {
    return this.#obj[key] !== undefined;
  }

  string(key: string, opts: { pattern?: RegExp; what?: string } = {}): string {
    const v = this.#get(key);
    const what = opts.what ?? (opts.pattern ? `a string matching ${opts.pattern}` : "a non-empty string");
    if (typeof v !== "string" || v.length === 0 || (opts.pattern && !opts.pattern.test(v))) {
      this.problem(key, what, v);
      return "";
    }
    return v;
  }

  optionalString(key: string, opts: { pattern?: RegExp; what?: string } = {}): string | undefined {
    return this.has(key) ? this.string(key, opts) : (this.#get(key), undefined);
  }

  /** Marks an absent optional field as looked at (it is not an unknown field). */
  ignore(key: string): void {
    this.#seen.add(key);
  }

  boolean(key: string): boolean {
    const v = this.#get(key);
    if (typeof v !== "boolean") {
      this.problem(key, "true or false", v);
      return false;
    }
    return v;
  }

  optionalBoolean(key: string): boolean | undefined {
    const v = this.#get(key);
    if (v === undefined) return undefined;
    if (typeof v !== "boolean") {
      this.problem(key, "true or false", v);
      return undefined;
    }
    return v;
  }

  oneOf<T extends string>(key: string, choices: readonly T[]): T {
    const v = this.#get(key);
    if (typeof v !== "string" || !(choices as readonly string[]).includes(v)) {
      this.problem(key, `one of ${choices.map((c) => JSON.stringify(c)).join(", ")}`, v);
      return choices[0]!;
    }
    return v as T;
  }

  number(key: string, opts: { min?: number; max?: number; integer?: boolean; unit?: string } = {}): number {
    const v = this.#get(key);
    const ok = typeof v === "number" && Number.isFinite(v) &&
      (!opts.integer || Number.isInteger(v)) &&
      (opts.min === undefined || v >= opts.min) && (opts.max === undefined || v <= opts.max);
    if (!ok) {
      const range = [
        opts.min !== undefined ? `≥ ${opts.min}` : "",
        opts.max !== undefined ? `≤ ${opts.max}` : "",
      ].filter(Boolean).join(" and ");
      const kind = opts.integer ? "a whole number" : "a number";
      this.problem(key, `${kind}${range ? " " + range : ""}${opts.unit ? ` (${opts.unit})` : ""}`, v);
      return opts.min ?? 0;
    }
    return v as number;
  }

  optionalNumber(key: string, opts: { min?: number; max?: number; integer?: boolean; unit?: string } = {}): number | undefined {
    return this.has(key) ? this.number(key, opts) : (this.#get(key), undefined);
  }

  stringArray(key: string, opts: { nonEmpty?: boolean; optional?: boolean } = {}): string[] {
    const v = this.#get(key);
    if (v === undefined && opts.optional) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string" || x.length === 0) || (opts.nonEmpty && v.length === 0)) {
      this.problem(key, `a${opts.nonEmpty ? " non-empty" : "n"} array of non-empty strings`, v);
      return [];
    }
    return v as string[];
  }

  /** The length of an optional array field (undefined when absent); anything else is a problem. */
  optionalArrayLength(key: string): number | undefined {
    const v = this.#get(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) {
      this.problem(key, "an array", v);
      return undefined;
    }
    return v.length;
  }

  object(key: string, opts: { optional?: boolean } = {}): FieldReader | undefined {
    const v = this.#get(key);
    if (v === undefined && opts.optional) return undefined;
    return new FieldReader(this.source, v, this.#path(key), this.problems);
  }

  /** An array of objects, each read by its own reader (field paths like `chips[1].bytes`). */
  objectArray(key: string, opts: { optional?: boolean; nonEmpty?: boolean } = {}): FieldReader[] {
    const v = this.#get(key);
    if (v === undefined && opts.optional) return [];
    if (!Array.isArray(v) || (opts.nonEmpty && v.length === 0)) {
      this.problem(key, `a${opts.nonEmpty ? " non-empty" : "n"} array of objects`, v);
      return [];
    }
    return v.map((e, i) => new FieldReader(this.source, e, `${this.#path(key)}[${i}]`, this.problems));
  }

  /** Flags keys that no reader asked for: a typo in a field name must not be silently ignored. */
  noOtherFields(): void {
    for (const k of Object.keys(this.#obj)) {
      if (!this.#seen.has(k)) this.problems.push(`field ${this.#path(k)}: unknown field (misspelt?)`);
    }
  }

  /** Throws one ScenarioError listing every problem found so far. */
  throwIfProblems(what: string): void {
    if (this.problems.length === 0) return;
    throw new ScenarioError(
      `${this.source}: invalid ${what}:\n  - ${this.problems.join("\n  - ")}`,
      { expected: `a valid ${what}` },
    );
  }
}

export function describe(v: unknown): string {
  if (v === undefined) return "nothing (the field is missing)";
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? v.slice(0, 57) + "..." : v);
  if (typeof v === "function") return "a function";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v === null) return "null";
  if (typeof v === "object") return "an object";
  return String(v);
}
