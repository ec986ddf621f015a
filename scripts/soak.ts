// npm run soak -- [N] [--runtime node|deno|both] [--jobs J] [--target T[,T]] [--grep P] [--out DIR] [--keep] [-- PATHS…]
// Runs a scenario library (default: scenarios/) N times (default 3) under each runtime, each run a real
// `bootlab run` in a child process with its own --out folder, and reads every pair's result from the
// timeline.json files it wrote. Prints per scenario × target × runtime: passes, failures by kind, and the
// spread of durations; writes soak.json. Exit status: 1 on any flake (a pair that passed and failed), 3 when
// a pair failed every time and nothing was flaky, 2 on bad arguments, 0 when every pair passed every run.
// Folders of passed pairs are removed after each run unless --keep; failed pairs keep their artifacts.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "../harness/cli/args.ts";
import { BootlabFailure } from "../harness/errors/failures.ts";
import { projectRoot } from "../harness/paths.ts";
import { readTimelines } from "../harness/ci/shard.ts";
import { type SoakRun, soakExitCode, soakRows, soakTable } from "../harness/ci/soak.ts";

const USAGE = "npm run soak -- [N] [--runtime node|deno|both] [--jobs J] [--target T[,T]] [--grep P] [--out DIR] [--keep] [-- PATHS…]";

interface SoakOptions {
  n: number;
  runtimes: ("node" | "deno")[];
  jobs: number;
  paths: string[];
  runArgs: string[];
  out: string;
  keep: boolean;
}

function parse(argv: string[]): SoakOptions {
  const dd = argv.indexOf("--");
  const own = dd < 0 ? argv : argv.slice(0, dd);
  const a = parseArgs(own, { runtime: "value", jobs: "value", target: "value", grep: "value", out: "value", keep: "switch" });
  const [count, ...morePaths] = a.positional;
  const paths = [...(count !== undefined && !/^\d+$/.test(count) ? [count] : []), ...morePaths, ...(dd < 0 ? [] : argv.slice(dd + 1))];
  const n = count !== undefined && /^\d+$/.test(count) ? Number(count) : 3;
  if (!(n >= 1 && n <= 1000)) throw new Error(`N ${count} is not a number of runs (1–1000)`);
  const rt = (a.flags.runtime as string | undefined) ?? "both";
  if (!["node", "deno", "both"].includes(rt)) throw new Error(`--runtime ${rt}: expected node, deno or both`);
  const jobs = a.flags.jobs === undefined ? 1 : Number(a.flags.jobs);
  if (!(Number.isInteger(jobs) && jobs >= 1 && jobs <= 16)) throw new Error(`--jobs ${a.flags.jobs}: expected 1–16`);
  const runArgs = [
    ...(typeof a.flags.target === "string" ? ["--target", a.flags.target] : ["--target", "all"]),
    ...(typeof a.flags.grep === "string" ? ["--grep", a.flags.grep] : []),
  ];
  return {
    n, runtimes: rt === "both" ? ["node", "deno"] : [rt as "node" | "deno"], jobs, paths: paths.length ? paths : ["scenarios"], runArgs,
    out: resolve((a.flags.out as string | undefined) ?? "out/soak"), keep: !!a.flags.keep,
  };
}

/** The command line of `bootlab ARGS` under a runtime. */
function bootlab(runtime: "node" | "deno", args: string[]): [string, string[]] {
  return runtime === "node"
    ? [process.execPath, [join(projectRoot, "bin/bootlab.mjs"), ...args]]
    : [join(projectRoot, "node_modules/.bin/deno"), ["run", "-A", join(projectRoot, "harness/cli/main.ts"), ...args]];
}

let child: ReturnType<typeof spawn> | undefined;

/** Runs a child to its end; its output goes to `log` (and nowhere else), or is returned. */
function run(cmd: [string, string[]], logFile?: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolveRun, reject) => {
    const c = spawn(cmd[0], cmd[1], { cwd: process.cwd(), env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    child = c;
    let stdout = "";
    const chunks: Buffer[] = [];
    c.stdout!.on("data", (b: Buffer) => { stdout += b.toString(); chunks.push(b); });
    c.stderr!.on("data", (b: Buffer) => chunks.push(b));
    c.on("error", reject);
    c.on("close", (code, signal) => {
      child = undefined;
      if (logFile) writeFileSync(logFile, Buffer.concat(chunks));
      resolveRun({ code: code ?? (signal ? 128 : 1), stdout });
    });
  });
}

/** Removes the artifact folders of passed pairs (and the folders left empty). */
function prunePassed(dir: string): void {
  for (const t of readTimelines(dir)) if (t.status === "passed") rmSync(join(t.file, ".."), { recursive: true, force: true });
  const sweep = (d: string): boolean => {
    let empty = true;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory() && sweep(join(d, e.name))) rmdirSync(join(d, e.name));
      else empty = false;
    }
    return empty;
  };
  if (existsSync(dir)) sweep(dir);
}

async function soak(o: SoakOptions): Promise<number> {
  mkdirSync(o.out, { recursive: true });
  const runs: SoakRun[] = [];
  const expected = new Map<string, string[]>();
  for (const rt of o.runtimes) {
    const listed = await run(bootlab(rt, ["run", ...o.paths, ...o.runArgs, "--list"]));
    if (listed.code !== 0) {
      process.stderr.write(`soak: \`bootlab run --list\` under ${rt} exited ${listed.code}\n${listed.stdout}`);
      return 2;
    }
    expected.set(rt, listed.stdout.trim().split("\n").filter(Boolean));
  }
  const pairs = expected.get(o.runtimes[0]!)!.length;
  process.stdout.write(`soak: ${o.n} runs × ${o.runtimes.join(" + ")} of ${pairs} pairs (${o.paths.join(" ")} ${o.runArgs.join(" ")}), --jobs ${o.jobs}; artifacts in ${o.out}\n`);
  const t0 = performance.now();
  for (let i = 1; i <= o.n; i++) {
    for (const rt of o.runtimes) {
      const dir = join(o.out, `run-${String(i).padStart(3, "0")}`, rt);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const started = performance.now();
      const r = await run(bootlab(rt, ["run", ...o.paths, ...o.runArgs, "--jobs", String(o.jobs), "--out", dir]), join(dir, "bootlab-run.log"));
      const timelines = readTimelines(dir);
      const wallMs = performance.now() - started;
      runs.push({ iteration: i, runtime: rt, expected: expected.get(rt)!, timelines, exitCode: r.code, wallMs });
      const failed = timelines.filter((t) => t.status !== "passed").length;
      const missing = expected.get(rt)!.length - timelines.length;
      process.stdout.write(`run ${i}/${o.n} ${rt.padEnd(4)}: ${timelines.length - failed} passed, ${failed} failed${missing ? `, ${missing} without a result` : ""}, ` +
        `exit ${r.code}, ${(wallMs / 1000).toFixed(1)} s\n`);
      if (!o.keep) prunePassed(dir);
    }
  }
  const rows = soakRows(runs);
  process.stdout.write("\n" + soakTable(rows));
  const flaky = rows.filter((r) => r.flaky).length;
  const red = rows.filter((r) => !r.flaky && r.passes < r.runs).length;
  process.stdout.write(`\n${rows.length} scenario × target × runtime rows, ${runs.length} runs, ${((performance.now() - t0) / 60000).toFixed(1)} min: ` +
    `${flaky} flaky, ${red} failing every run, ${rows.length - flaky - red} passing every run\n`);
  writeFileSync(join(o.out, "soak.json"), JSON.stringify({
    n: o.n, runtimes: o.runtimes, jobs: o.jobs, paths: o.paths, runArgs: o.runArgs,
    runs: runs.map((r) => ({ iteration: r.iteration, runtime: r.runtime, exitCode: r.exitCode, wallMs: Math.round(r.wallMs), pairs: r.expected.length, results: r.timelines.length })),
    rows,
  }, null, 2) + "\n");
  return soakExitCode(rows);
}

// Ctrl-C: stop the running bootlab (it stops its machines), then go.
for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  process.on(sig, () => {
    process.stderr.write(`\nsoak: ${sig}: stopping the running bootlab…\n`);
    if (!child) process.exit(code);
    child.once("close", () => process.exit(code));
    child.kill("SIGTERM");
  });
}

let opts: SoakOptions;
try {
  opts = parse(process.argv.slice(2));
} catch (e) {
  const expected = e instanceof BootlabFailure && e.context.expected ? ` (expected ${e.context.expected})` : "";
  process.stderr.write(`soak: ${(e as Error).message}${expected}\nusage: ${USAGE}\n`);
  process.exit(2);
}
process.exitCode = await soak(opts);
