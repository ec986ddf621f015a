// What the runner needs of a fuzz target area: seed inputs, the mutations that know its structure, and a
// `run` that drives bootlab's real decoder or state machine with one input and says what became of it.

import type { Rng } from "./prng.ts";

export interface MutationContext {
  rng: Rng;
  /** The area's inputs so far (seeds and any kept for reaching a new outcome), for splicing. */
  corpus: readonly Uint8Array[];
}

/** One way to change an input; returns a new array (corpus entries are shared and never changed in place). */
export interface Mutator {
  name: string;
  mutate(input: Uint8Array, ctx: MutationContext): Uint8Array;
}

/**
 * What became of one input: `kind:detail`, e.g. "ok:OFFER" or "refused:option cut off". The kind is what the
 * smoke test asserts was reached; the detail (digits folded) tells outcomes apart, and an input that reaches a
 * detail never seen before joins the corpus. Anything `run` throws is a crash: an area catches the
 * exceptions its target's contract allows (a ScenarioError from a layout parser) and returns them as outcomes.
 */
export type Outcome = string;

export interface Area {
  name: string;
  /** Seed inputs: real captured bytes from test/data, or bytes made by bootlab's own encoders. */
  corpus(): Uint8Array[];
  /** Structure-aware mutations; the runner mixes them with byte-level ones. */
  mutators: Mutator[];
  /** Words worth inserting anywhere (option names, prompts, markers…). */
  dictionary?: Uint8Array[];
  /** Largest input the mutations may build. Default 16 KiB. */
  maxBytes?: number;
  /** Outcome kinds a healthy pass reaches; the smoke test fails when one never shows. */
  expects: string[];
  run(input: Uint8Array): Outcome | Promise<Outcome>;
  /** Releases what the area holds across inputs (a server reused between inputs). */
  close?(): void | Promise<void>;
}

/** Makes the area; called in its worker only, so set-up (loading captures, building images) happens there. */
export type AreaFactory = () => Area | Promise<Area>;
