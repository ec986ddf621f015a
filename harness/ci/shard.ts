// CI at scale: which scenario × target pairs one CI job runs. A run's pairs are filtered (--grep) and split
// into N shards (--shard K/N) by a pure function of the pair list and, when given, the durations a previous
// run recorded — so every job of a matrix, computing on its own, takes a disjoint part and together they take
// every pair exactly once. Nothing here starts a machine.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ScenarioError } from "../errors/failures.ts";

/** Shard K of N, K counted from 1 (as GitLab's CI_NODE_INDEX and a matrix of 1…N). */
export interface ShardSpec {
  index: number;
  total: number;
}

/** Parses `K/N` (1 ≤ K ≤ N), or throws a ScenarioError naming the flag. */
export function parseShard(text: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const total = m ? Number(m[2]) : NaN;
  if (!(total >= 1 && index >= 1 && index <= total && total <= 1000)) {
    throw new ScenarioError(`--shard ${text} is not a shard`, { expected: "K/N with 1 ≤ K ≤ N, e.g. --shard 2/4 (K counts from 1)" });
  }
  return { index, total };
}

/** The key of a scenario × target pair: the scenario id and the target, as `bootlab run --list` prints them. */
export function pairKey(scenarioId: string, target: string): string {
  return `${scenarioId} ${target}`;
}

/**
 * The shard (1…total) of each item, in the items' order. Without durations, items are dealt in turn (item i to
 * shard i mod N + 1): shards differ by at most one pair. With durations (milliseconds by key), the longest
 * pair goes first to the shard with the least work so far (ties: the lower shard), so shards end close
 * together; a pair with no recorded duration counts as the mean of those recorded. Deterministic: the same
 * items and durations give the same split on every machine.
 */
export function assignShards(keys: readonly string[], total: number, durations?: ReadonlyMap<string, number>): number[] {
  if (!durations || durations.size === 0) return keys.map((_, i) => (i % total) + 1);
  const known = keys.map((k) => durations.get(k)).filter((d): d is number => d !== undefined);
  const dflt = known.length ? known.reduce((a, b) => a + b, 0) / known.length : 1;
  const order = keys.map((k, i) => ({ i, k, ms: durations.get(k) ?? dflt }))
    .sort((a, b) => b.ms - a.ms || (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i));
  const load = new Array<number>(total).fill(0);
  const out = new Array<number>(keys.length);
  for (const { i, ms } of order) {
    let best = 0;
    for (let s = 1; s < total; s++) if (load[s]! < load[best]!) best = s;
    load[best]! += ms;
    out[i] = best + 1;
  }
  return out;
}

/** The items of shard `spec`, in their listed order. */
export function shardOf<T>(items: readonly T[], key: (t: T) => string, spec: ShardSpec, durations?: ReadonlyMap<string, number>): T[] {
  const shards = assignShards(items.map(key), spec.total, durations);
  return items.filter((_, i) => shards[i] === spec.index);
}

/** A --grep pattern: a regular expression (JavaScript syntax), or a ScenarioError naming the flag. */
export function parseGrep(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (e) {
    throw new ScenarioError(`--grep ${pattern} is not a regular expression: ${(e as Error).message}`, {
      expected: "a JavaScript regular expression matched against \"SCENARIO-ID TARGET\" and the scenario's name",
    });
  }
}

/** What a timeline.json holds that CI tooling reads (harness/scenario/runner.ts writes it). */
export interface TimelineSummary {
  scenario: string;
  target: string;
  status: "passed" | "failed";
  durationMs: number;
  failure?: { kind: string; message: string };
  expectedFailureSeen?: boolean;
  /** The file it was read from. */
  file: string;
}

/** Every timeline.json under `dir` (any depth: a run's out folder, or a folder of shards' out folders). */
export function readTimelines(dir: string): TimelineSummary[] {
  if (!existsSync(dir)) throw new ScenarioError(`${dir}: no such folder`, { expected: "a folder holding a run's timeline.json files" });
  const out: TimelineSummary[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === "timeline.json") {
        try {
          const t = JSON.parse(readFileSync(p, "utf8")) as Partial<TimelineSummary>;
          if (typeof t.scenario === "string" && typeof t.target === "string" && typeof t.durationMs === "number") {
            out.push({ scenario: t.scenario, target: t.target, status: t.status === "passed" ? "passed" : "failed",
              durationMs: t.durationMs, failure: t.failure, expectedFailureSeen: t.expectedFailureSeen, file: p });
          }
        } catch { /* a half-written timeline (a killed run) says nothing about durations */ }
      }
    }
  };
  if (statSync(dir).isDirectory()) walk(dir);
  return out;
}

/** Mean recorded duration (ms) of each pair, by pairKey, from the timeline.json files under the folders. */
export function readDurations(dirs: readonly string[]): Map<string, number> {
  const sums = new Map<string, { total: number; n: number }>();
  for (const dir of dirs) {
    for (const t of readTimelines(dir)) {
      const k = pairKey(t.scenario, t.target);
      const s = sums.get(k) ?? { total: 0, n: 0 };
      s.total += t.durationMs;
      s.n++;
      sums.set(k, s);
    }
  }
  return new Map([...sums].map(([k, s]) => [k, s.total / s.n]));
}
