// Reading a stack to decide whose code is at fault. An exception's first frame that is neither the
// runtime's own (node:, Deno's ext:, native) nor a dependency's (node_modules) is the code that called
// into the runtime: in bootlab's harness/ or bin/ it is bootlab's, anywhere else it is the scenario's
// (or a test's or a benchmark's: the user of the library). Both Node and Deno print V8's format.

import { isAbsolute, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { projectRoot } from "../paths.ts";

export interface StackFrame {
  /** An absolute path for a file, else the location as printed (node:fs, ext:deno_fs/…, <anonymous>). */
  file: string;
  line: number;
  column: number;
}

// "    at fn (file:///x.ts:1:2)", "    at async fn (/x.ts:1:2)", "    at file:///x.ts:1:2", "    at new Promise (<anonymous>)"
const FRAME = /^\s*at (?:async )?(?:.*? \()?(.+?):(\d+):(\d+)\)?\s*$/;

export function stackFrames(stack: string | undefined): StackFrame[] {
  const out: StackFrame[] = [];
  for (const line of (stack ?? "").split("\n")) {
    const m = FRAME.exec(line);
    if (!m) continue;
    let file = m[1]!;
    if (file.startsWith("file://")) {
      try {
        file = fileURLToPath(file);
      } catch {
        // Not a path after all: keep it as printed.
      }
    }
    out.push({ file, line: Number(m[2]), column: Number(m[3]) });
  }
  return out;
}

/** The runtime's own code or a dependency's: never where the blame lands. */
export function isRuntimeFrame(f: StackFrame): boolean {
  return !isAbsolute(f.file) || f.file.includes(`${sep}node_modules${sep}`);
}

const OWN = [`${projectRoot}${sep}harness${sep}`, `${projectRoot}${sep}bin${sep}`];

/** bootlab's own code: the library and its command line. */
export function isBootlabFrame(f: StackFrame): boolean {
  return OWN.some((p) => f.file.startsWith(p));
}

/** The first frame that is not the runtime's or a dependency's: whose code did this. */
export function firstOwnFrame(stack: string | undefined): StackFrame | undefined {
  return stackFrames(stack).find((f) => !isRuntimeFrame(f));
}

/** "scenarios/lan/x.ts:12:5": relative to the working folder when under it, else absolute. */
export function describeFrame(f: StackFrame): string {
  const rel = relative(process.cwd(), f.file);
  return `${rel.startsWith("..") ? f.file : rel}:${f.line}:${f.column}`;
}

/**
 * Where the scenario called into bootlab: the first frame of the current stack outside bootlab and the
 * runtime. Library code calls it where it refuses a request, so the error names the scenario's line.
 * Async frames count ("at async body (…)"): a call awaited through several layers is still found.
 */
export function callSite(): string | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 64;
  const stack = new Error().stack;
  Error.stackTraceLimit = limit;
  return userSite(stack);
}

/** The first frame of a stack in the user's code (neither bootlab's nor the runtime's), described. */
export function userSite(stack: string | undefined): string | undefined {
  const f = stackFrames(stack).find((x) => !isRuntimeFrame(x) && !isBootlabFrame(x));
  return f && describeFrame(f);
}

/** The frames of a stack worth showing in a bug report: bootlab's and the caller's, not the runtime's. */
export function ownFrames(stack: string | undefined, max = 12): string[] {
  return stackFrames(stack).filter((f) => !isRuntimeFrame(f)).slice(0, max).map(describeFrame);
}
