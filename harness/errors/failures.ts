// The failure taxonomy. CI must tell apart "the firmware is broken" from "the scenario is wrong" from
// "the host or emulator broke" from "something did not happen in time" from "bootlab itself is broken"
// (what LAVA calls a bug): each is its own class, and each carries where it happened (scenario, target,
// step, the scenario's line), what was expected, and what the console showed.

import { describeFrame, firstOwnFrame, isBootlabFrame, ownFrames } from "./stack.ts";

/**
 * The five kinds CI tells apart: the product failed, the scenario is wrong, the host broke, a step timed out,
 * bootlab itself broke.
 */
export type FailureKind = "product" | "scenario" | "infrastructure" | "timeout" | "bug";

/** Where a failure happened and what it saw: filled in as it travels up (the step, then the scenario and target). */
export interface FailureContext {
  /** The scenario id (`smoke/boot-to-shell`). */
  scenario?: string;
  /** The target name. */
  target?: string;
  /** The innermost step that was running. */
  step?: string;
  /** The timeline's id of that step (the innermost one the failure left), and the board it acted on. */
  stepId?: number;
  board?: string;
  /** What the step waited for or required, in words a person reads. */
  expected?: string;
  /** The line or value that decided the failure (e.g. the panic line). */
  seen?: string;
  /** The last console lines before the failure. */
  consoleTail?: string[];
  /** What to do about it, when the cause is known (the package to install, the field to correct). */
  fix?: string;
  /** The scenario's line that caused it ("scenarios/lan/x.ts:12:5"), for a scenario's mistake. */
  at?: string;
  /** bootlab's own frames, for a bug in bootlab. */
  stack?: string[];
  /** What the lab's own services and switch saw of it (the DHCP server's log for the board, its port's frames). */
  lab?: string[];
}

/**
 * A failure of one of the five kinds, with its context. Throw a subclass from a scenario (`throw new
 * ProductFailure("…", { expected, seen })`); anything else thrown is classed by whose code threw it (see README).
 */
export abstract class BootlabFailure extends Error {
  /** Which of the five kinds. */
  abstract readonly kind: FailureKind;
  /** Where it happened and what was seen. */
  readonly context: FailureContext;

  constructor(message: string, context: FailureContext = {}, options?: { cause?: unknown }) {
    // A deep stack, so the scenario's line is in it even when the failure is raised layers below it.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 40;
    super(message, options);
    Error.stackTraceLimit = limit;
    this.context = { ...context };
  }

  /** Returns a copy of this failure with more context filled in (outer layers know scenario/target). */
  withContext(more: FailureContext): this {
    const copy = Object.create(Object.getPrototypeOf(this)) as this;
    Object.assign(copy, this);
    Object.defineProperty(copy, "message", { value: this.message, enumerable: false, writable: true });
    Object.defineProperty(copy, "stack", { value: this.stack, enumerable: false, writable: true });
    (copy as { context: FailureContext }).context = { ...more, ...this.context };
    return copy;
  }

  /** A multi-line report: what failed, where, what was expected, what was seen, the console tail. */
  report(): string {
    const c = this.context;
    // The board, where a lab has several (a board named as its target goes without saying).
    const board = c.board !== undefined && c.board !== c.target ? `board ${c.board}` : undefined;
    const where = [c.scenario, c.target, board, c.step && `step "${c.step}"`].filter(Boolean).join(" · ");
    const lines = [`${KIND_TITLE[this.kind]}: ${this.message}`];
    if (where) lines.push(`  where:    ${where}`);
    if (c.at) lines.push(`  at:       ${c.at}`);
    if (c.expected) lines.push(`  expected: ${c.expected}`);
    if (c.seen) lines.push(`  seen:     ${c.seen}`);
    if (c.fix) lines.push(`  fix:      ${c.fix}`);
    if (c.stack && c.stack.length > 0) {
      lines.push("  stack:");
      for (const l of c.stack) lines.push(`    at ${l}`);
    }
    if (c.lab && c.lab.length > 0) {
      lines.push("  the lab saw:");
      for (const l of c.lab) lines.push(`    ${l}`);
    }
    if (c.consoleTail && c.consoleTail.length > 0) {
      lines.push("  last console lines:");
      for (const l of c.consoleTail) lines.push(`    | ${l}`);
    }
    return lines.join("\n");
  }
}

const KIND_TITLE: Record<FailureKind, string> = {
  product: "PRODUCT FAILURE",
  scenario: "SCENARIO ERROR",
  infrastructure: "INFRASTRUCTURE ERROR",
  timeout: "STEP TIMEOUT",
  bug: "BOOTLAB BUG",
};

/**
 * The exit status of `bootlab run` for a failure of each kind. When a run has several, the highest wins:
 * 1 means the product failed and nothing else went wrong, so CI can trust it.
 */
export const EXIT_CODE: Record<FailureKind, number> = { product: 1, timeout: 1, scenario: 2, infrastructure: 3, bug: 4 };

/** The device under test did something wrong: panicked, printed an error, answered the wrong thing. */
export class ProductFailure extends BootlabFailure {
  readonly kind = "product" as const;
  override name = "ProductFailure";
}

/** The scenario (or target/fixture data) is wrong: found before or while running, never the device's fault. */
export class ScenarioError extends BootlabFailure {
  readonly kind = "scenario" as const;
  override name = "ScenarioError";
}

/** The host or emulator broke: QEMU missing or crashed, a socket failed, a download failed. */
export class InfrastructureError extends BootlabFailure {
  readonly kind = "infrastructure" as const;
  override name = "InfrastructureError";
}

/** A step's deadline passed before what it waited for was seen. */
export class StepTimeout extends BootlabFailure {
  readonly kind = "timeout" as const;
  override name = "StepTimeout";
}

/** bootlab's own code broke: an exception it did not mean to throw. Neither the product's fault nor the scenario's. */
export class BootlabBug extends BootlabFailure {
  readonly kind = "bug" as const;
  override name = "BootlabBug";
}

export const REPORT_BUG = "this is a bug in bootlab, not in the firmware or the scenario: please report it with this report and the run's artifacts folder";

/**
 * Puts anything thrown into the taxonomy, by whose code threw it (the stack's first frame that is not the
 * runtime's): the scenario's own code (a readFileSync of a missing file) is a scenario error at its line;
 * an operating-system error inside bootlab (a socket reset, a full disk) is the host's; anything else
 * thrown inside bootlab is a bug in bootlab, reported with its stack.
 */
export function asFailure(err: unknown): BootlabFailure {
  if (err instanceof BootlabFailure) return err;
  const e = err instanceof Error ? err : undefined;
  const message = e ? e.message : String(err);
  const own = firstOwnFrame(e?.stack);
  if (own && !isBootlabFrame(own) && e?.name === "AssertionError") {
    // node:assert (or Deno's std assert) in the scenario: its check of what the device did failed.
    const a = e as Error & { expected?: unknown; actual?: unknown };
    return new ProductFailure(`assertion failed: ${message.split("\n")[0]}`, {
      at: describeFrame(own),
      ...("expected" in a ? { expected: show(a.expected), seen: show(a.actual) } : {}),
    }, { cause: err });
  }
  if (own && !isBootlabFrame(own)) {
    return new ScenarioError(`the scenario's own code threw ${e?.name ?? "a value"}: ${message}`, { at: describeFrame(own) }, { cause: err });
  }
  if (isSystemError(err)) {
    return new InfrastructureError(`unexpected error: ${message}`, {}, { cause: err });
  }
  return new BootlabBug(`${e?.name ?? "thrown"}: ${message}`, { stack: ownFrames(e?.stack), fix: REPORT_BUG }, { cause: err });
}

function show(v: unknown): string {
  let s: string;
  try {
    s = typeof v === "string" || (typeof v === "object" && v !== null) ? JSON.stringify(v) : String(v);
  } catch {
    s = String(v);
  }
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

/** An error the operating system gave (errno-style code, or a syscall named): the host's side. */
function isSystemError(err: unknown): boolean {
  const x = err as { code?: unknown; syscall?: unknown } | undefined;
  return typeof x?.syscall === "string" || (typeof x?.code === "string" && /^E[A-Z0-9]+$/.test(x.code));
}
