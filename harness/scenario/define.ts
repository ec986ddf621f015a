// What a scenario file exports: `export default scenario({ name, targets, timeouts }, async (ctx) => {…})`.
// The header is data and is validated, for every scenario of a run, before any machine starts.

import { FieldReader } from "../validation/fields.ts";
import { type FailureKind, ScenarioError } from "../errors/failures.ts";
import { loadCatalogue, type Target } from "../targets/catalogue.ts";
import type { ScenarioContext } from "./context.ts";

/** A scenario's header: data, validated for every scenario of a run before any machine starts. */
export interface ScenarioHeader {
  /** One line: what the device must do. */
  name: string;
  /** Target names from targets/, or "all". */
  targets: string[] | "all";
  /** Deadlines; every wait is also a step with its own. */
  timeouts?: {
    /** The whole scenario on one target (default 180 s). */
    scenarioSeconds?: number;
    /** Kernel start to a shell (default 60 s). */
    bootSeconds?: number;
    /** Any other single wait (default 30 s). */
    stepSeconds?: number;
  };
  /**
   * The scenario reproduces a failure: it passes only if it fails this way (kind, a text in the report
   * and, if given, the step the failure happened in).
   */
  expectFailure?: { kind: FailureKind; message: string; step?: string };
}

/** A scenario's body: runs once per target with its own lab. */
export type ScenarioBody = (ctx: ScenarioContext) => Promise<void>;

/** What `scenario()` returns and a scenario file default-exports. */
export interface ScenarioDefinition {
  /** Marks the default export as a scenario (format version). */
  readonly bootlabScenario: 1;
  /** The header as written. */
  readonly header: ScenarioHeader;
  /** The body. */
  readonly body: ScenarioBody;
}

/**
 * Defines a scenario: `export default scenario({ name, targets }, async ({ lab, target, fixtures, step }) => { …
 * })`.
 */
export function scenario(header: ScenarioHeader, body: ScenarioBody): ScenarioDefinition {
  return { bootlabScenario: 1, header, body };
}

export interface ValidScenario {
  file: string;
  /** Path below the scenarios folder without .ts, e.g. "smoke/boot-to-shell". */
  id: string;
  header: Required<Omit<ScenarioHeader, "expectFailure">> & {
    timeouts: Required<NonNullable<ScenarioHeader["timeouts"]>>;
    expectFailure?: ScenarioHeader["expectFailure"];
  };
  targets: Target[];
  body: ScenarioBody;
}

/** Checks what a scenario module exports; every problem is reported with the file and field. */
export function validateScenario(file: string, id: string, mod: Record<string, unknown>): ValidScenario {
  const def = mod.default as Partial<ScenarioDefinition> | undefined;
  if (!def || typeof def !== "object" || def.bootlabScenario !== 1) {
    throw new ScenarioError(`${file}: the default export is not a scenario`, {
      expected: "export default scenario({ name, targets }, async (ctx) => { … })",
    });
  }
  if (typeof def.body !== "function") {
    throw new ScenarioError(`${file}: the scenario body is not a function`, { expected: "an async function (ctx) => { … }" });
  }
  const r = new FieldReader(file, def.header, "header");
  const name = r.string("name");
  const catalogue = loadCatalogue();
  let targets: Target[] = [];
  const rawTargets = (def.header as { targets?: unknown } | undefined)?.targets;
  if (rawTargets === "all") {
    r.string("targets");
    targets = [...catalogue.values()];
  } else {
    const names = r.stringArray("targets", { nonEmpty: true });
    for (const n of names) {
      const t = catalogue.get(n);
      if (t) targets.push(t);
      else r.problems.push(`field header.targets: unknown target "${n}"; expected one of: ${[...catalogue.keys()].join(", ")}, or "all"`);
    }
  }
  const t = r.object("timeouts", { optional: true });
  const timeouts = {
    scenarioSeconds: t?.optionalNumber("scenarioSeconds", { min: 1, max: 5400, unit: "seconds" }) ?? 180,
    bootSeconds: t?.optionalNumber("bootSeconds", { min: 1, max: 3600, unit: "seconds" }) ?? 60,
    stepSeconds: t?.optionalNumber("stepSeconds", { min: 0.1, max: 3600, unit: "seconds" }) ?? 30,
  };
  t?.noOtherFields();
  let expectFailure: ScenarioHeader["expectFailure"];
  const ef = r.object("expectFailure", { optional: true });
  if (ef) {
    expectFailure = { kind: ef.oneOf("kind", ["product", "scenario", "infrastructure", "timeout"] as const), message: ef.string("message") };
    const step = ef.optionalString("step");
    if (step) expectFailure.step = step;
    ef.noOtherFields();
  }
  r.noOtherFields();
  r.throwIfProblems("scenario header");
  return { file, id, header: { name, targets: rawTargets === "all" ? "all" : targets.map((x) => x.name), timeouts, expectFailure }, targets, body: def.body };
}
