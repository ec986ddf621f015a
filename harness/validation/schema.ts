// A schema is one value that is both the parser of untrusted JSON and, through `Infer`, its TypeScript type:
// the interface, the hand-written reader and the spreads that left absent fields out used to be three
// sources of truth that drifted. Reading goes through FieldReader, so every problem still names the file
// and the field path, all problems are reported at once, and an unknown (misspelt) field is one of them.

import { FieldReader } from "./fields.ts";

/** One field: how to read it from an object, and whether the parsed object may lack it. */
export interface Field<T, Optional extends boolean = false> {
  readonly optional: Optional;
  read(r: FieldReader, key: string): T | undefined;
}

/** A field that may be absent; the parsed object then has no such key. */
export interface BaseField<T> extends Field<T, false> {
  optional: false;
  /** Absent is allowed; the parsed object then lacks the key. */
  maybe(): Field<T, true>;
  /** Absent is allowed and reads as `value`. */
  or(value: T): Field<T, false>;
}

export type Shape = Record<string, Field<unknown, boolean>>;

type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends Field<unknown, true> ? K : never }[keyof S];
type Flat<T> = { [K in keyof T]: T[K] } & {};

/** The parsed type of a shape: optional fields become optional properties. */
export type Infer<S extends Shape> = Flat<
  { -readonly [K in keyof S as K extends OptionalKeys<S> ? never : K]: S[K] extends Field<infer T, boolean> ? T : never } & {
    -readonly [K in keyof S as K extends OptionalKeys<S> ? K : never]?: S[K] extends Field<infer T, boolean> ? T : never;
  }
>;

function field<T>(read: (r: FieldReader, key: string) => T): BaseField<T> {
  return {
    optional: false,
    read,
    maybe: () => ({ optional: true, read: (r, key) => (r.has(key) ? read(r, key) : (r.ignore(key), undefined)) }),
    or: (value: T) => ({ optional: false, read: (r, key) => (r.has(key) ? read(r, key) : (r.ignore(key), value)) }),
  };
}

type StringOpts = { pattern?: RegExp; what?: string };
type NumberOpts = { min?: number; max?: number; integer?: boolean; unit?: string };

export const s = {
  string: (opts: StringOpts = {}) => field((r, k) => r.string(k, opts)),
  /** A string such as "0x1fc00000", read as the number it writes (JSON has no hex numbers). */
  hex: () => field((r, k) => Number(r.string(k, { pattern: /^0x[0-9a-fA-F]{1,8}$/, what: "a hex address like \"0x82000000\"" }))),
  number: (opts: NumberOpts = {}) => field((r, k) => r.number(k, opts)),
  boolean: () => field((r, k) => r.boolean(k)),
  oneOf: <const C extends readonly string[]>(choices: C) => field((r, k) => r.oneOf<C[number]>(k, choices)),
  /** An array of non-empty strings; absent reads as an empty array. */
  strings: () => field((r, k) => r.stringArray(k)).or([]),
  object: <S extends Shape>(shape: S) => field((r, k) => readShape(r.object(k)!, shape)),
  objects: <S extends Shape>(shape: S, opts: { nonEmpty?: boolean } = {}) =>
    field((r, k) => r.objectArray(k, opts).map((e) => readShape(e, shape))),
};

/** Reads every field of `shape` from `r` (absent optional fields left out) and flags any other field. */
export function readShape<S extends Shape>(r: FieldReader, shape: S): Infer<S> {
  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(shape)) {
    const v = f.read(r, key);
    if (v !== undefined) out[key] = v;
  }
  r.noOtherFields();
  return out as Infer<S>;
}

/** Parses `raw` from `source` with `shape`; throws one ScenarioError listing every problem. */
export function parseWith<S extends Shape>(source: string, raw: unknown, shape: S, what: string): Infer<S> {
  const r = new FieldReader(source, raw);
  const out = readShape(r, shape);
  r.throwIfProblems(what);
  return out;
}
