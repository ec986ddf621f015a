// Runs scenario files: finds them, validates every header before any machine starts, then runs each
// scenario on each of its targets with its own lab, deadline and artifact folder. A run never leaves
// anything behind: each scenario × target has an Owner that is closed whatever happens.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { asFailure, type BootlabFailure, EXIT_CODE, ScenarioError, StepTimeout } from "../errors/failures.ts";
import { Owner } from "../lifecycle/owner.ts";
import { watchEventLoop } from "../lifecycle/loop-watch.ts";
import { userSite } from "../errors/stack.ts";
import { type ValidScenario, validateScenario } from "./define.ts";
import { Steps, type StepRecord } from "./steps.ts";
import { Lab } from "../lab/lab.ts";
import type { Board } from "../lab/board.ts";
import { makeContext } from "./context.ts";
import { Fixtures } from "../fixtures/fixtures.ts";
import { Transcript } from "../console/transcript.ts";
import { projectRoot } from "../paths.ts";
import { boardOfFailure, type Timeline } from "../timeline/model.ts";

/** How one scenario × target ended (also in timeline.json, junit.xml, results.tap). */
export interface ScenarioResult {
  /** The scenario id: its path under scenarios/ without .ts. */
  id: string;
  /** The header's name. */
  name: string;
  /** The scenario file, absolute. */
  file: string;
  /** The target name. */
  target: string;
  /** passed also when an expectFailure failed as declared. */
  status: "passed" | "failed";
  /** The failure, for failed runs; for an expected failure that happened, kept as information. */
  failure?: BootlabFailure;
  /** For an expectFailure scenario: whether the declared failure happened. */
  expectedFailureSeen?: boolean;
  /** Wall time of the run on this target. */
  durationMs: number;
  /** The step timeline. */
  steps: StepRecord[];
  /** The steps in one line, with their times (failed steps marked ✘). */
  summary: string;
  /** The artifact folder: out/<scenario id>/<target>/. */
  artifacts: string;
}

/** What `runScenarios` runs and how. */
export interface RunOptions {
  /** Files or folders of scenarios. */
  paths: string[];
  /** Target names to run on (intersected with each scenario's), or "all". */
  targets?: string[] | "all";
  /** Where artifact folders go (default out/). */
  outDir?: string;
  /** The fixture store (default: the cache in ~/.cache/bootlab). */
  fixtures?: Fixtures;
  /** Called with each result as soon as it is known. */
  onResult?: (r: ScenarioResult) => void;
  /** Called when a scenario × target starts. */
  onStart?: (s: ValidScenario, target: string) => void;
  /** false: no machine is restored from or saved to the snapshot cache (default: on, unless BOOTLAB_NO_SNAPSHOTS=1). */
  snapshots?: boolean;
  /** How many scenario × target runs go at once (default 1). Results keep the listed order. */
  jobs?: number;
  /**
   * Each scenario runs on one of its selected targets, taken in turn (the first scenario with several on
   * the first, the next on the second, …): a library still runs every scenario and every target, without
   * proving each scenario on each target again (the second runtime's pass in CI).
   */
  oneTargetEach?: boolean;
  /**
   * Keeps some of the scenario × target pairs, in the listed order (a CI shard, --grep: harness/ci/pairs.ts).
   * Called with every pair the run would take.
   */
  pick?: (pairs: { scenario: ValidScenario; target: string }[]) => { scenario: ValidScenario; target: string }[];
  /** See RunOneOptions.onFailure. */
  onFailure?: RunOneOptions["onFailure"];
  /** Called when a step of a running pair starts or ends (live progress). */
  onStep?: (s: ValidScenario, target: string, r: StepRecord) => void;
}

export interface RunOneOptions {
  snapshots?: boolean;
  /**
   * Called when the run failed, before anything is stopped: the board whose step failed is still running
   * (unless it died), so a person can sit at it (`bootlab run --attach-on-failure`).
   */
  onFailure?: (o: { failure: BootlabFailure; board: Board | undefined; lab: Lab }) => Promise<void>;
  /** Called when a step starts or ends (live progress). */
  onStep?: (r: StepRecord) => void;
}

function snapshotsDefault(): boolean {
  return !["1", "true", "yes"].includes((process.env.BOOTLAB_NO_SNAPSHOTS ?? "").toLowerCase());
}

/** Expands files and folders to scenario files (*.ts, sorted), relative ids under scenarios/. */
export function findScenarioFiles(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const abs = resolve(p);
    if (!existsSync(abs)) throw new ScenarioError(`${p}: no such file or folder`, { expected: "a scenario file (.ts) or a folder of them" });
    if (statSync(abs).isDirectory()) {
      const walk = (d: string) => {
        for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
          if (e.isDirectory()) walk(join(d, e.name));
          else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(join(d, e.name));
        }
      };
      walk(abs);
    } else if (abs.endsWith(".ts")) out.push(abs);
    else throw new ScenarioError(`${p}: not a scenario file`, { expected: "a .ts file" });
  }
  return [...new Set(out)];
}

export function scenarioId(file: string): string {
  const base = join(projectRoot, "scenarios");
  const rel = file.startsWith(base + "/") ? relative(base, file) : relative(process.cwd(), file);
  return rel.replace(/\.ts$/, "").replace(/^(\.\.\/)+/, "");
}

/** Imports and validates every scenario; all problems of all files are reported together. */
export async function loadScenarios(paths: string[]): Promise<ValidScenario[]> {
  const files = findScenarioFiles(paths);
  if (files.length === 0) throw new ScenarioError(`no scenario files in ${paths.join(", ")}`);
  const valid: ValidScenario[] = [];
  const problems: string[] = [];
  for (const f of files) {
    try {
      const mod = await import(pathToFileURL(f).href) as Record<string, unknown>;
      valid.push(validateScenario(f, scenarioId(f), mod));
    } catch (e) {
      problems.push(e instanceof ScenarioError ? e.message : `${f}: cannot be loaded: ${(e as Error).message}`);
    }
  }
  if (problems.length) throw new ScenarioError(problems.join("\n"), { expected: "valid scenario files; nothing was started" });
  return valid;
}

/** 0 all passed; else the highest EXIT_CODE of the failures, so a 1 always means only the product failed. */
export function runExitCode(results: readonly ScenarioResult[]): number {
  return Math.max(0, ...results.filter((r) => r.status === "failed").map((r) => (r.failure ? EXIT_CODE[r.failure.kind] : 1)));
}

export function selectTargets(s: ValidScenario, wanted: string[] | "all" | undefined): string[] {
  const mine = s.targets.map((t) => t.name);
  if (!wanted || wanted === "all") return mine;
  return mine.filter((t) => wanted.includes(t));
}

/**
 * Loads and validates the scenarios, then runs each on its selected targets, each with its own lab, deadline and
 * artifact folder; results in listed order.
 */
export async function runScenarios(opts: RunOptions): Promise<ScenarioResult[]> {
  const scenarios = await loadScenarios(opts.paths);
  if (opts.targets && opts.targets !== "all") {
    const known = new Set(scenarios.flatMap((s) => s.targets.map((t) => t.name)));
    const unknown = opts.targets.filter((t) => !known.has(t));
    if (unknown.length) {
      throw new ScenarioError(`--target ${unknown.join(",")}: no scenario in this run has that target`, {
        expected: `one of: ${[...known].join(", ")}, or all`,
      });
    }
  }
  const fixtures = opts.fixtures ?? new Fixtures();
  const outDir = resolve(opts.outDir ?? "out");
  let turn = 0;
  const work = scenarios.flatMap((s) => {
    const all = selectTargets(s, opts.targets);
    const chosen = opts.oneTargetEach && all.length > 1 ? [all[turn++ % all.length]!] : all;
    return chosen.map((t) => ({ s, t }));
  });
  if (opts.pick) {
    const kept = opts.pick(work.map(({ s, t }) => ({ scenario: s, target: t })));
    work.splice(0, work.length, ...kept.map((p) => ({ s: p.scenario, t: p.target })));
  }
  const results: ScenarioResult[] = new Array(work.length);
  let next = 0;
  const worker = async () => {
    while (next < work.length) {
      const i = next++;
      const { s, t } = work[i]!;
      opts.onStart?.(s, t);
      results[i] = await runOne(s, t, fixtures, outDir, { snapshots: opts.snapshots, ...(opts.onFailure ? { onFailure: opts.onFailure } : {}), ...(opts.onStep ? { onStep: (r: StepRecord) => opts.onStep!(s, t, r) } : {}) });
      opts.onResult?.(results[i]!);
    }
  };
  const jobs = Math.max(1, Math.min(opts.jobs ?? 1, work.length));
  await Promise.all(Array.from({ length: jobs }, worker));
  return results;
}

/** The innermost step that was running at some point between `fromMs` and `toMs` (ms since the run began). */
function stepDuring(records: readonly StepRecord[], fromMs: number, toMs: number): StepRecord | undefined {
  let best: StepRecord | undefined;
  for (const r of records) {
    if (r.startMs <= toMs && (r.endMs ?? Infinity) >= fromMs && (!best || r.depth >= best.depth)) best = r;
  }
  return best;
}

/** Runs one scenario on one target with its own lab, deadline and artifact folder. */
export async function runOne(s: ValidScenario, targetName: string, fixtures: Fixtures, outDir: string, o: RunOneOptions = {}): Promise<ScenarioResult> {
  const target = s.targets.find((t) => t.name === targetName)!;
  const artifacts = join(outDir, s.id, targetName);
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  // Unix socket paths are limited to 108 bytes: keep them in a short temp folder, not in out/.
  const runDir = mkdtempSync(join(tmpdir(), "bootlab-"));
  const owner = new Owner(`${s.id}@${targetName}`);
  owner.adopt("run folder", () => rmSync(runDir, { recursive: true, force: true }));
  const steps = new Steps(undefined, o.onStep);
  const log = new Transcript(join(artifacts, "run.log"), steps.t0);
  // Every board of the process waits while the event loop is held (another pair's synchronous work, bootlab's
  // own): say so in this pair's log, with the step it fell in, so a timeout there is not read as the board's.
  owner.adopt("event-loop watch", watchEventLoop((ms, endedAt) => {
    const during = stepDuring(steps.records, endedAt - ms - steps.t0, endedAt - steps.t0);
    log.note(`bootlab's event loop was held ${ms.toFixed(0)} ms${during ? ` during "${during.name}"` : ""}: consoles, QMP and the lab LAN of every board in this process waited`);
  }));
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const lab = new Lab({
    owner, steps, runDir, artifacts, seed: `${s.id}@${targetName}`,
    snapshots: o.snapshots ?? snapshotsDefault(), note: (l) => log.note(l),
    timeouts: { bootMs: s.header.timeouts.bootSeconds * 1000, stepMs: s.header.timeouts.stepSeconds * 1000 },
  });
  let failure: BootlabFailure | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const limitMs = s.header.timeouts.scenarioSeconds * 1000;
    await Promise.race([
      s.body(makeContext({ target, lab, fixtures, steps, log })),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StepTimeout(`the scenario did not finish within ${s.header.timeouts.scenarioSeconds} s`, {
          step: steps.current(), expected: "the scenario body to return",
        })), limitMs);
      }),
    ]);
  } catch (e) {
    failure = asFailure(e);
  } finally {
    clearTimeout(timer);
  }
  if (failure) {
    failure = lab.reconsider(failure);
    // A scenario error raised inside bootlab still names the scenario's line that made the call.
    const at = failure.kind === "scenario" && !failure.context.at ? userSite(failure.stack) : undefined;
    // A failure raised outside any step (the scenario's deadline) is blamed on the step it interrupted.
    const interrupted = failure.context.stepId === undefined ? steps.currentRecord() : undefined;
    const stepId = failure.context.stepId ?? interrupted?.id;
    // The console tail comes from the board whose step failed (the last boot of that name), never simply the first board.
    const boardName = boardOfFailure({ board: failure.context.board, stepId }, steps.records, lab.boards.map((b) => b.name));
    const board = [...lab.boards].reverse().find((b) => b.name === boardName);
    failure = failure.withContext({
      ...(at ? { at } : {}),
      scenario: s.id,
      target: targetName,
      ...(interrupted ? { step: interrupted.name, stepId: interrupted.id } : {}),
      ...(boardName !== undefined ? { board: boardName } : {}),
      ...(board ? { consoleTail: board.console.stream.tail() } : {}),
    });
  }
  if (failure && o.onFailure) {
    const board = [...lab.boards].reverse().find((b) => b.name === failure!.context.board) ?? (lab.boards.length === 1 ? lab.boards[0] : undefined);
    try {
      await o.onFailure({ failure, board, lab });
    } catch (e) {
      log.note(`on-failure hook: ${(e as Error).message}`);
    }
  }
  if (failure) steps.cutShort({ kind: failure.kind, message: failure.message });
  const problems = await owner.close();
  for (const p of problems) log.note(`cleanup problem: ${p}`);
  let status: "passed" | "failed" = failure ? "failed" : "passed";
  let expectedFailureSeen: boolean | undefined;
  const ef = s.header.expectFailure;
  if (ef) {
    expectedFailureSeen = !!failure && failure.kind === ef.kind && failure.report().includes(ef.message) &&
      (ef.step === undefined || failure.context.step === ef.step);
    status = expectedFailureSeen ? "passed" : "failed";
    if (failure && !expectedFailureSeen) {
      log.note(`expected a ${ef.kind} failure containing "${ef.message}"${ef.step ? ` in step "${ef.step}"` : ""}; this is not it`);
    }
    if (!failure) {
      failure = new ScenarioError(`expected a ${ef.kind} failure containing "${ef.message}", but the scenario passed`, {
        scenario: s.id, target: targetName, expected: `${ef.kind} failure: ${ef.message}`,
      });
    }
  }
  const result: ScenarioResult = {
    id: s.id, name: s.header.name, file: s.file, target: targetName, status, failure, expectedFailureSeen,
    durationMs: performance.now() - t0, steps: steps.records, summary: steps.summary(), artifacts,
  };
  if (failure) log.note(failure.report());
  let recorded: ReturnType<Lab["timeline"]> = { boards: [] };
  try {
    recorded = lab.timeline();
  } catch (e) {
    // The run's record is written whatever a scenario did to the lab's objects.
    log.note(`timeline.json has no boards: reading them failed: ${String(e)}`);
  }
  const { boards, lan } = recorded;
  await log.close();
  const c = failure?.context;
  const timeline: Timeline = {
    format: 2, scenario: s.id, name: s.header.name, target: targetName, status, startedAt, durationMs: Math.round(result.durationMs),
    ...(failure && c ? {
      failure: {
        kind: failure.kind, message: failure.message, report: failure.report(),
        ...pick(c, ["stepId", "step", "board", "expected", "seen", "consoleTail", "at", "fix", "lab"]),
      },
    } : {}),
    ...(expectedFailureSeen !== undefined ? { expectedFailureSeen } : {}),
    steps: steps.records.map((r) => ({ ...r, startMs: Math.round(r.startMs), ...(r.endMs === undefined ? {} : { endMs: Math.round(r.endMs) }) })),
    boards, ...(lan ? { lan } : {}),
    files: { runLog: "run.log", ...(failure ? { failure: "failure.txt" } : {}) },
  };
  writeFileSync(join(artifacts, "timeline.json"), JSON.stringify(timeline, null, 2) + "\n");
  if (failure) writeFileSync(join(artifacts, "failure.txt"), failure.report() + "\n");
  return result;
}

/** The fields of `o` named in `keys` that are set. */
function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
