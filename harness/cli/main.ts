// The bootlab command line. The same file runs under Node (bin/bootlab.mjs, through tsx) and Deno
// (`deno task bootlab`).

import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "./args.ts";
import { asFailure, BootlabFailure, EXIT_CODE, ScenarioError } from "../errors/failures.ts";
import { closeAllOwners } from "../lifecycle/owner.ts";
import { loadScenarios, runExitCode, runScenarios, type ScenarioResult } from "../scenario/runner.ts";
import { junitXml, tap } from "../report/junit.ts";
import { writeHtmlReport } from "../report/html.ts";
import { loadCatalogue } from "../targets/catalogue.ts";
import { DebianArchive, readLock, relock } from "../fixtures/debian.ts";
import { Fixtures } from "../fixtures/fixtures.ts";
import { SERVE_TFTP_USAGE, serveTftp } from "../services/tftp/serve.ts";
import { defaultMaxBytes, SnapshotCache } from "../snapshot/cache.ts";
import { SERVE_DHCP_USAGE, serveDhcpCommand } from "../services/dhcp/serve.ts";
import { aptInstallLine, hostRequirements, missingRequirements } from "../host/requirements.ts";
import { preflightAll } from "../machine/preflight.ts";
import { cmdFlash, FLASH_USAGE } from "./flash.ts";
import { cmdConsole, CONSOLE_USAGE } from "./console.ts";
import { attachTerminal } from "./interactive.ts";
import { cmdTour, TOUR_USAGE } from "./tour.ts";
import { LiveProgress } from "./progress.ts";
import type { Board } from "../lab/board.ts";
import type { Lab } from "../lab/lab.ts";
import { listPairs, type Pair, pickPairs } from "../ci/pairs.ts";
import { pairKey, parseGrep, parseShard, readDurations } from "../ci/shard.ts";
import { duplicateCases, findReports, JUNIT_FILE, mergedExitCode, mergeJunit, mergeTap, readAll, TAP_FILE } from "../report/merge.ts";
import { fixtureCacheKey } from "../fixtures/cache-key.ts";

const USAGE = `bootlab — test how a device boots, without the device

  bootlab run <files or folders> [--target NAME[,NAME]|all] [--out DIR] [--junit FILE] [--tap FILE]
                                  [--jobs N] [--no-snapshots] [--html FILE] [--grep PATTERN] [--shard K/N [--durations DIR]] [--list]
                                  [--attach-on-failure]
                                  every run writes DIR/index.html (default out/), an HTML report of
                                  the pairs it ran; --html FILE writes it there too
      --grep: only pairs whose "SCENARIO-ID TARGET" or scenario name matches (a regular expression)
      --shard K/N: this CI job's part of the pairs (K from 1); --durations DIR balances the shards by the
      durations in a previous run's timeline.json files; --list prints the pairs (SCENARIO-ID TARGET),
      one per line, without running them. The --out folder also gets junit.xml and results.tap
${FLASH_USAGE.trimEnd()}
${CONSOLE_USAGE.trimEnd()}
${TOUR_USAGE.trimEnd()}
  bootlab report <folders or timeline.json files> [--html FILE]
                                  the HTML report made afterwards from timeline.json files (default
                                  FILE: index.html in the first folder)
  bootlab report merge DIR… [--out DIR]
                                  one JUnit (junit.xml), TAP (results.tap) and HTML (index.html) report
                                  from CI shards' --out folders; exits as the whole run would (0, or the
                                  worst failure's status)
  bootlab cache-key [--files]     a hash of everything the fixture cache depends on (fixture lock, kernel
                                  configs, targets, host requirements): the key of a CI cache
  bootlab cache [list|prune|clear]  the snapshot cache (machines saved at named points)
  bootlab targets                 the machine catalogue
  bootlab doctor [--packages] [--no-preflight]
                                  what is missing on this host, and how to get it; starts every
                                  target's QEMU (paused, all its devices) and says ✔ or QEMU's words
  bootlab fixtures fetch          download, verify and unpack the locked Debian packages
  bootlab fixtures lock [--update]  lock what the manifest adds; --update moves everything to Debian's current versions
  ${SERVE_TFTP_USAGE.trim()}
                                  bootlab's TFTP server on a host UDP socket (real boards, side-by-side tests)
  ${SERVE_DHCP_USAGE.trim()}
                                  bootlab's BOOTP/DHCP server on a host UDP socket
`;

const useColour = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string, s: string) => (useColour ? `\x1b[${code}m${s}\x1b[0m` : s);

function printResult(r: ScenarioResult): void {
  const mark = r.status === "passed" ? paint("32", "✔") : paint("31", "✘");
  const secs = `${(r.durationMs / 1000).toFixed(1)} s`.padStart(7);
  const expected = r.expectedFailureSeen ? "  (failed as expected)" : "";
  process.stdout.write(`${mark} ${r.target.padEnd(13)} ${r.id.padEnd(28)} ${secs}   (${r.summary})${expected}\n`);
  if (r.status === "failed" && r.failure) {
    process.stdout.write(r.failure.report().split("\n").map((l) => "    " + l).join("\n") + "\n");
    process.stdout.write(`    artifacts: ${r.artifacts}\n`);
  }
}

async function cmdRun(argv: string[]): Promise<number> {
  const a = parseArgs(argv, {
    target: "value", out: "value", junit: "value", tap: "value", jobs: "value", "no-snapshots": "switch", html: "value",
    grep: "value", shard: "value", durations: "value", list: "switch", "attach-on-failure": "switch",
  });
  if (a.positional.length === 0) {
    process.stderr.write("bootlab run: name at least one scenario file or folder\n");
    return 2;
  }
  const t = a.flags.target as string | undefined;
  const targets = !t || t === "all" ? "all" as const : t.split(",");
  const jobs = a.flags.jobs === undefined ? 1 : Number(a.flags.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 16) {
    process.stderr.write(`bootlab run: --jobs ${a.flags.jobs} is not a number of parallel runs (1–16)\n`);
    return 2;
  }
  const grep = typeof a.flags.grep === "string" ? parseGrep(a.flags.grep) : undefined;
  const shard = typeof a.flags.shard === "string" ? parseShard(a.flags.shard) : undefined;
  if (a.flags.durations !== undefined && !shard) {
    process.stderr.write("bootlab run: --durations balances shards: give --shard K/N with it\n");
    return 2;
  }
  const durations = typeof a.flags.durations === "string" ? readDurations([a.flags.durations]) : undefined;
  // The same choice for --list and for the run: --grep's matches, then this shard of them.
  const pick = <P extends Pair>(pairs: P[]): P[] => {
    if (grep && pairs.length && !pickPairs(pairs, { grep }).length) {
      throw new ScenarioError(`--grep ${a.flags.grep}: no scenario × target pair matches`, {
        expected: "a pattern matching \"SCENARIO-ID TARGET\" or a scenario's name (see --list)",
      });
    }
    return pickPairs(pairs, { grep, shard, durations });
  };
  if (a.flags.list) {
    for (const p of pick(listPairs(await loadScenarios(a.positional), targets))) process.stdout.write(pairKey(p.scenario.id, p.target) + "\n");
    return 0;
  }
  const attach = !!a.flags["attach-on-failure"];
  if (attach && (jobs > 1 || !process.stdin.isTTY)) {
    throw new ScenarioError("bootlab run --attach-on-failure: one terminal sits at one board", { expected: "--jobs 1, run from a terminal" });
  }
  // A live block of running pairs on a terminal (not while a terminal may be handed to a failed board).
  const progress = new LiveProgress(process.stdout, { live: !!process.stdout.isTTY && !attach });
  const results = await runScenarios({
    paths: a.positional, targets, outDir: a.flags.out as string | undefined, jobs,
    onStart: (s, t) => progress.start(s.id, t),
    onStep: (s, t, r) => r.status === "running" && progress.step(s.id, t, r.name),
    onResult: (r) => progress.result(r.id, r.target, () => printResult(r)),
    ...(attach ? { onFailure: attachOnFailure } : {}),
    ...(a.flags["no-snapshots"] ? { snapshots: false } : {}),
    ...(grep || shard ? {
      pick: (pairs) => {
        const kept = pick(pairs);
        if (shard) {
          const basis = durations?.size ? `balanced by ${durations.size} recorded durations` : "dealt in turn";
          process.stdout.write(`shard ${shard.index}/${shard.total}: ${kept.length} of ${pairs.length} pairs (${basis})\n`);
        }
        return kept;
      },
    } : {}),
  });
  const passed = results.filter((r) => r.status === "passed").length;
  process.stdout.write(`${passed} passed, ${results.length - passed} failed\n`);
  const outDir = resolve((a.flags.out as string | undefined) ?? "out");
  for (const [file, render] of [[a.flags.junit, junitXml], [a.flags.tap, tap], [join(outDir, JUNIT_FILE), junitXml], [join(outDir, TAP_FILE), tap]] as const) {
    if (typeof file === "string") {
      mkdirSync(dirname(resolve(file)), { recursive: true });
      writeFileSync(file, render(results));
    }
  }
  // Always a report in the output folder, of this run's pairs; --html puts one where CI keeps artifacts.
  const timelines = results.map((r) => join(r.artifacts, "timeline.json"));
  for (const file of [join(outDir, "index.html"), ...(typeof a.flags.html === "string" ? [a.flags.html] : [])]) {
    writeHtmlReport(file, timelines, { title: `bootlab: ${a.positional.join(" ")}` });
    process.stdout.write(`report: ${resolve(file)}\n`);
  }
  return runExitCode(results);
}

function cmdReport(argv: string[]): number {
  const a = parseArgs(argv, { html: "value" });
  if (a.positional.length === 0) {
    process.stderr.write("bootlab report: name the output folders (or timeline.json files) to report on\n");
    return 2;
  }
  const file = typeof a.flags.html === "string" ? a.flags.html : join(a.positional[0]!, "index.html");
  const n = writeHtmlReport(file, a.positional, { title: `bootlab: ${a.positional.join(" ")}` });
  if (n === 0) {
    process.stderr.write(`bootlab report: no timeline.json in ${a.positional.join(", ")}\n`);
    return 2;
  }
  process.stdout.write(`report of ${n} runs: ${resolve(file)}\n`);
  return 0;
}

function cmdReportMerge(argv: string[]): number {
  const a = parseArgs(argv, { out: "value" });
  if (a.positional.length === 0) {
    process.stderr.write(`bootlab report merge: name the shards' output folders (or their ${JUNIT_FILE} / ${TAP_FILE} files)\n`);
    return 2;
  }
  const outDir = resolve((a.flags.out as string | undefined) ?? "out/merged");
  // The merged report lands in --out; a shard folder that holds it (merge out/* --out out/merged) is not an input.
  const inputs = findReports(a.positional);
  const own = (f: string) => resolve(f).startsWith(outDir + "/");
  const junitIn = inputs.junit.filter((f) => !own(f));
  const tapIn = inputs.tap.filter((f) => !own(f));
  if (!junitIn.length && !tapIn.length) {
    process.stderr.write(`bootlab report merge: no ${JUNIT_FILE} or ${TAP_FILE} in ${a.positional.join(", ")}\n`);
    return 2;
  }
  mkdirSync(outDir, { recursive: true });
  const j = mergeJunit(readAll(junitIn));
  const tp = mergeTap(readAll(tapIn));
  writeFileSync(join(outDir, JUNIT_FILE), j.xml);
  writeFileSync(join(outDir, TAP_FILE), tp.tap);
  // The HTML report of every shard's pairs, from their timeline.json files (links relative to --out).
  const html = join(outDir, "index.html");
  const shown = writeHtmlReport(html, a.positional.filter((p) => statSync(p).isDirectory()), { title: `bootlab: ${a.positional.join(" ")}` });
  const failed = j.cases.filter((c) => c.failureType !== undefined).length;
  process.stdout.write(`merged ${junitIn.length} JUnit and ${tapIn.length} TAP reports: ${j.cases.length} pairs, ` +
    `${j.cases.length - failed} passed, ${failed} failed → ${join(outDir, JUNIT_FILE)}, ${join(outDir, TAP_FILE)}` +
    `${shown ? `, ${html} (${shown} timelines)` : ""}\n`);
  if (junitIn.length && tapIn.length && j.cases.length !== tp.points.length) {
    process.stderr.write(`bootlab report merge: the JUnit reports hold ${j.cases.length} pairs, the TAP reports ${tp.points.length}\n`);
  }
  for (const d of duplicateCases(j.cases)) process.stderr.write(`bootlab report merge: ${d} is in more than one input (shards overlap?)\n`);
  // Without JUnit, the TAP points decide: a failed point counts as a product failure.
  return junitIn.length ? mergedExitCode(j.cases) : tp.points.some((p) => !p.ok) ? 1 : 0;
}

function cmdCacheKey(argv: string[]): number {
  const a = parseArgs(argv, { files: "switch" });
  const k = fixtureCacheKey();
  if (a.flags.files) for (const f of k.files) process.stdout.write(`${f.sha256}  ${f.path}\n`);
  process.stdout.write(k.key + "\n");
  return 0;
}

/** --attach-on-failure: the failure told, then the terminal on the failed board until the person quits. */
async function attachOnFailure({ failure, board, lab }: { failure: BootlabFailure; board: Board | undefined; lab: Lab }): Promise<void> {
  process.stdout.write(failure.report().split("\n").map((l) => "    " + l).join("\n") + "\n");
  if (!board || !board.machine.running) {
    process.stdout.write(`[bootlab] ${board ? `${board.name} is no longer running` : "no board to attach to"}; nothing to attach\n`);
    return;
  }
  await board.allowing(["kernel-panic", "oops", "bug", "kernel-reset", "bootloader-reset"], () => attachTerminal(board, lab.lanIfMade, { input: process.stdin, output: process.stdout }));
  process.stdout.write("\r\n[bootlab] detached; stopping the run's machines\r\n");
}

function cmdTargets(): number {
  for (const t of loadCatalogue().values()) {
    process.stdout.write(`${t.name.padEnd(14)} ${t.machine.qemu.binary} -M ${t.machine.qemu.machine}${t.machine.qemu.cpu ? " -cpu " + t.machine.qemu.cpu : ""} -m ${t.machine.qemu.memoryMiB}  ` +
      `NIC ${t.machine.nic.device}  console ${t.machine.console.linuxDevice}  kernel ${t.guest.kernel.package} (${t.guest.debianArch})\n    ${t.description}\n`);
  }
  return 0;
}

async function cmdDoctor(argv: string[]): Promise<number> {
  const a = parseArgs(argv, { packages: "switch", "no-preflight": "switch" });
  const req = hostRequirements();
  const missing = missingRequirements(req);
  for (const t of missing.tools) process.stdout.write(`✘ host tool ${t.command} is missing (${t.package}: ${t.why})\n`);
  for (const f of missing.files) process.stdout.write(`✘ host file ${f.path} is missing (${f.package}: ${f.why})\n`);
  const packages = [...missing.tools, ...missing.files].map((m) => m.package);
  if (!packages.length) process.stdout.write(`✔ host: all ${req.tools.length} tools and ${req.files.length} files present\n`);
  if (a.flags.packages) {
    for (const [arch, pkgs] of Object.entries(readLock())) {
      for (const e of Object.values(pkgs)) process.stdout.write(`  locked  ${arch.padEnd(7)} ${e.package}=${e.version}\n`);
    }
  }
  let failed = 0;
  // A QEMU that is not installed cannot be started: its line is the missing tool above.
  const startable = [...loadCatalogue().values()].filter((t) => !missing.tools.some((m) => m.command === t.machine.qemu.binary));
  if (!a.flags["no-preflight"]) {
    for (const r of await preflightAll(startable)) {
      if (r.ok) process.stdout.write(`✔ ${r.target.padEnd(13)} ${r.detail}, all devices (${(r.ms / 1000).toFixed(2)} s)\n`);
      else {
        failed++;
        process.stdout.write(`✘ ${r.target.padEnd(13)} ${r.detail}\n${r.fix ? `    fix: ${r.fix}\n` : ""}`);
      }
    }
  }
  if (packages.length) {
    process.stdout.write(`\nTo install what is missing (as root; \`npm start\` does it):\n  ${aptInstallLine(packages)}\n`);
    return 1;
  }
  return failed ? 1 : 0;
}

function cmdCache(argv: string[]): number {
  const cache = new SnapshotCache();
  const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
  const sub = argv[0] ?? "list";
  if (sub === "list") {
    const all = cache.list();
    for (const m of all) {
      process.stdout.write(`${m.key.slice(0, 12)}  ${m.target.padEnd(13)} ${`"${m.name}"`.padEnd(16)} at ${m.point.padEnd(6)} ${mb(m.bytes).padStart(9)}  ` +
        `cold ${(m.coldMs / 1000).toFixed(1)} s  last used ${m.lastUsedAt}\n`);
    }
    process.stdout.write(`${all.length} snapshots, ${mb(all.reduce((n, m) => n + m.bytes, 0))} in ${cache.dir} (bound ${mb(defaultMaxBytes())}, BOOTLAB_SNAPSHOT_CACHE_MB)\n`);
    return 0;
  }
  if (sub === "prune") {
    const gone = cache.prune();
    process.stdout.write(`pruned ${gone.length} snapshots\n`);
    return 0;
  }
  if (sub === "clear") {
    process.stdout.write(`removed ${cache.clear()} snapshots\n`);
    return 0;
  }
  process.stderr.write(`bootlab cache: unknown subcommand "${sub}" (list, prune, clear)\n`);
  return 2;
}

async function cmdFixtures(argv: string[]): Promise<number> {
  const sub = argv[0];
  const log = (l: string) => process.stdout.write(l + "\n");
  if (sub === "lock") {
    await relock(new DebianArchive(), log, argv.includes("--update"));
    return 0;
  }
  if (sub === "fetch") {
    await new Fixtures().prefetch(log);
    return 0;
  }
  process.stderr.write(USAGE);
  return 2;
}

/** The lines of USAGE about one command (its line and the indented lines that follow it). */
function usageOf(cmd: string): string | undefined {
  const lines = USAGE.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.startsWith(`  bootlab ${cmd} `) && lines[i] !== `  bootlab ${cmd}`) continue;
    out.push(lines[i]!);
    while (i + 1 < lines.length && /^ {4,}\S/.test(lines[i + 1]!) && !lines[i + 1]!.startsWith("  bootlab ")) out.push(lines[++i]!);
  }
  return out.length ? out.join("\n") + "\n" : undefined;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  // `bootlab CMD --help` (or -h): that command's usage, before its options are checked.
  if (cmd && (rest.includes("--help") || rest.includes("-h"))) {
    const usage = usageOf(cmd);
    if (usage) {
      process.stdout.write(usage);
      return 0;
    }
  }
  switch (cmd) {
    case "run": return await cmdRun(rest);
    case "targets": return cmdTargets();
    case "doctor": return await cmdDoctor(rest);
    case "fixtures": return await cmdFixtures(rest);
    case "cache": return cmdCache(rest);
    case "flash": return await cmdFlash(rest, printResult);
    case "console": return await cmdConsole(rest);
    case "tour": return await cmdTour(rest, printResult);
    case "cache-key": return cmdCacheKey(rest);
    case "report": return rest[0] === "merge" ? cmdReportMerge(rest.slice(1)) : cmdReport(rest);
    case "serve":
      if (rest[0] === "tftp") return await serveTftp(rest.slice(1));
      if (rest[0] === "dhcp") return await serveDhcpCommand(rest.slice(1));
      process.stderr.write(`bootlab serve: which service?\n  ${SERVE_TFTP_USAGE}  ${SERVE_DHCP_USAGE}`);
      return 2;
    case undefined: case "help": case "--help": case "-h":
      process.stdout.write(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`bootlab: unknown command "${cmd}"\n\n${USAGE}`);
      return 2;
  }
}

// Ctrl-C and kill: stop every machine and socket this process owns, then exit with the signal's code.
// (`serve` handles its own signals: stopping a server on request is a clean exit.)
let stopping = false;
for (const [sig, code] of process.argv[2] === "serve" ? [] : [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\nbootlab: ${sig}: stopping machines…\n`);
    void closeAllOwners().finally(() => {
      process.stderr.write("bootlab: all machines stopped\n");
      process.exit(code);
    });
  });
}

try {
  const code = await main(process.argv.slice(2));
  process.exit(code);
} catch (e) {
  const f = asFailure(e);
  process.stderr.write((f instanceof BootlabFailure ? f.report() : String(e)) + "\n");
  await closeAllOwners();
  // Before anything ran, a product failure cannot be the reason: at least 2.
  process.exit(Math.max(2, EXIT_CODE[f.kind]));
}
