// Types of test/schedule.mjs (a plain module: scripts/test-suite.mjs reads it without a TypeScript loader).
export declare const ALONE: ReadonlyMap<string, string>;
export declare const RUNS_ALONE_BECAUSE: readonly { why: string; pattern: RegExp }[];
export declare function testFiles(root: string): string[];
