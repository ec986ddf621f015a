// The failure taxonomy. CI must tell apart "the firmware is broken" from "the scenario is wrong" from
// "the host or emulator broke" from "something did not happen in time": each is its own class, and each
// carries where it happened (scenario, target, step), what was expected, and what the console showed.

export type FailureKind = "product" | "scenario" | "infrastructure" | "timeout";

export interface FailureContext {
  scenario?: string;
  target?: string;
  step?: string;
  /** What the step waited for or required, in words a person reads. */
  expected?: string;
  /** The line or value that decided the failure (e.g. the panic line). */
  seen?: string;
  /** The last console lines before the failure. */
  consoleTail?: string[];
  /** What to do about it, when the cause is known (the package to install, the field to correct). */
  fix?: string;
}

export abstract class BootlabFailure extends Error {
  abstract readonly kind: FailureKind;
  readonly context: FailureContext;

  constructor(message: string, context: FailureContext = {}, options?: { cause?: unknown }) {
    super(message, options);
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
    const where = [c.scenario, c.target, c.step && `step "${c.step}"`].filter(Boolean).join(" · ");
    const lines = [`${KIND_TITLE[this.kind]}: ${this.message}`];
    if (where) lines.push(`  where:    ${where}`);
    if (c.expected) lines.push(`  expected: ${c.expected}`);
    if (c.seen) lines.push(`  seen:     ${c.seen}`);
    if (c.fix) lines.push(`  fix:      ${c.fix}`);
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
};

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

/** Wraps anything thrown into the taxonomy: unknown errors count as infrastructure (a harness bug). */
export function asFailure(err: unknown): BootlabFailure {
  if (err instanceof BootlabFailure) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new InfrastructureError(`unexpected error: ${message}`, {}, { cause: err });
}
