// The scenario × target pairs of a run, and the part of them one CI job takes (--grep, --shard): the same
// function serves `bootlab run` (through runScenarios' `pick`) and `bootlab run --list`, so the list is
// exactly what the run would take.

import { ScenarioError } from "../errors/failures.ts";
import type { ValidScenario } from "../scenario/define.ts";
import { selectTargets } from "../scenario/runner.ts";
import { pairKey, type ShardSpec, shardOf } from "./shard.ts";

/** One scenario on one target: the unit a run runs, reports and shards. */
export interface Pair {
  scenario: ValidScenario;
  target: string;
}

/** Every pair of the scenarios on the wanted targets, in run order; an unknown target is a ScenarioError. */
export function listPairs(scenarios: readonly ValidScenario[], targets: string[] | "all" | undefined): Pair[] {
  if (targets && targets !== "all") {
    const known = new Set(scenarios.flatMap((s) => s.targets.map((t) => t.name)));
    const unknown = targets.filter((t) => !known.has(t));
    if (unknown.length) {
      throw new ScenarioError(`--target ${unknown.join(",")}: no scenario in this run has that target`, {
        expected: `one of: ${[...known].join(", ")}, or all`,
      });
    }
  }
  return scenarios.flatMap((s) => selectTargets(s, targets).map((target) => ({ scenario: s, target })));
}

export interface PickOptions {
  /** Keeps the pairs whose "SCENARIO-ID TARGET" or scenario name matches. */
  grep?: RegExp;
  shard?: ShardSpec;
  /** Recorded durations by pairKey (readDurations), to balance the shards. */
  durations?: ReadonlyMap<string, number>;
}

/** The pairs a job takes: those matching --grep, then its shard of them; listed order kept. */
export function pickPairs<P extends Pair>(pairs: readonly P[], o: PickOptions): P[] {
  const g = o.grep;
  const matching = g ? pairs.filter((p) => g.test(pairKey(p.scenario.id, p.target)) || g.test(p.scenario.header.name)) : [...pairs];
  return o.shard ? shardOf(matching, (p) => pairKey(p.scenario.id, p.target), o.shard, o.durations) : matching;
}
