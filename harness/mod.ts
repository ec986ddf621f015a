// The public API for scenario files and for programs that drive bootlab.
export { scenario } from "./scenario/define.ts";
export type { ScenarioHeader, ScenarioDefinition } from "./scenario/define.ts";
export type { ScenarioContext } from "./scenario/context.ts";
export { ProductFailure, ScenarioError, InfrastructureError, StepTimeout } from "./errors/failures.ts";
export type { Board } from "./lab/board.ts";
export type { LinuxShell, CommandResult } from "./console/linux-shell.ts";
export type { Target } from "./targets/catalogue.ts";
export { runScenarios, loadScenarios } from "./scenario/runner.ts";
export type { ScenarioResult } from "./scenario/runner.ts";
