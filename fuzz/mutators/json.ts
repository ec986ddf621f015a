// Structure-aware mutations for JSON documents (flash layouts, QMP messages): parse, change one node — another
// type, a missing or unknown key, a repeated element, a value of the format's vocabulary — and print it again.
// Inputs that are not JSON (any more) come back unchanged; the text and byte mutations take care of those.

import type { Mutator } from "../area.ts";
import type { Rng } from "../prng.ts";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface Slot {
  parent: Json[] | { [k: string]: Json };
  key: string | number;
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

function parse(b: Uint8Array): Json | undefined {
  try {
    return JSON.parse(dec.decode(b)) as Json;
  } catch {
    return undefined;
  }
}

function slots(root: Json): Slot[] {
  const out: Slot[] = [];
  const walk = (v: Json) => {
    if (Array.isArray(v)) v.forEach((x, i) => (out.push({ parent: v, key: i }), walk(x)));
    else if (v && typeof v === "object") for (const k of Object.keys(v)) out.push({ parent: v, key: k }), walk(v[k]!);
  };
  walk(root);
  return out;
}

function get(s: Slot): Json {
  return (s.parent as Record<string | number, Json>)[s.key]!;
}

function set(s: Slot, v: Json): void {
  (s.parent as Record<string | number, Json>)[s.key] = v;
}

function remove(s: Slot): void {
  if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
  else delete s.parent[s.key as string];
}

function deep(n: number): Json {
  let v: Json = [];
  for (let i = 0; i < n; i++) v = [v];
  return v;
}

function oddValue(rng: Rng, words: readonly string[]): Json {
  const r = rng.int(20);
  if (r < 6 && words.length) return rng.pick(words);
  return rng.pick<Json>([
    null, true, false, 0, -1, 1, 0.5, 1e308, -0, 2 ** 53 + 2, 4294967296, 65535, "", "x", "0", [], {}, [null], { "": null },
    "a".repeat(300), "\u0000", "\ud800", deep(40),
  ]);
}

export function jsonMutators(words: readonly string[]): Mutator[] {
  const apply = (name: string, f: (root: Json, ss: Slot[], rng: Rng) => Json) => ({
    name: `json: ${name}`,
    mutate(input: Uint8Array, { rng }: { rng: Rng }) {
      const root = parse(input);
      if (root === undefined) return input;
      const out = f(root, slots(root), rng);
      return enc.encode(rng.chance(0.8) ? JSON.stringify(out) : JSON.stringify(out, null, rng.pick([1, 2, "\t"])));
    },
  });
  return [
    apply("another value", (root, ss, rng) => {
      if (!ss.length) return oddValue(rng, words);
      set(rng.pick(ss), oddValue(rng, words));
      return root;
    }),
    apply("drop a key or element", (root, ss, rng) => {
      if (ss.length) remove(rng.pick(ss));
      return root;
    }),
    apply("repeat an element", (root, ss, rng) => {
      const arrays = ss.filter((s) => Array.isArray(s.parent));
      if (!arrays.length) return root;
      const s = rng.pick(arrays);
      const a = s.parent as Json[];
      a.splice(s.key as number, 0, ...Array.from({ length: 1 + rng.small(5) }, () => structuredClone(get(s))));
      return root;
    }),
    apply("add a key", (root, ss, rng) => {
      const objects: { [k: string]: Json }[] = [];
      if (root && typeof root === "object" && !Array.isArray(root)) objects.push(root);
      for (const s of ss) {
        const v = get(s);
        if (v && typeof v === "object" && !Array.isArray(v)) objects.push(v);
      }
      if (!objects.length) return root;
      const o = rng.pick(objects);
      o[words.length && rng.chance(0.8) ? rng.pick(words) : "unknown"] = oddValue(rng, words);
      return root;
    }),
    apply("swap two values", (root, ss, rng) => {
      if (ss.length < 2) return root;
      const a = rng.pick(ss), b = rng.pick(ss);
      // Copies: one may hold the other, and a copy of a node inside itself must not become a cycle.
      const va = structuredClone(get(a)), vb = structuredClone(get(b));
      set(a, vb);
      set(b, va);
      return root;
    }),
    apply("wrap or unwrap", (root, ss, rng) => {
      if (!ss.length) return [root];
      const s = rng.pick(ss);
      const v = get(s);
      if (Array.isArray(v) && v.length && rng.chance(0.5)) set(s, v[0]!);
      else set(s, rng.chance(0.5) ? [v] : { value: v });
      return root;
    }),
  ];
}
