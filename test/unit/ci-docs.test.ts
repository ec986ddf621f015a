// docs/ci.md's pipelines are real: both YAML documents parse, their shard job runs `bootlab run --shard` with
// the numbers its engine gives (a GitHub matrix 1…N with strategy.job-total, GitLab's parallel: N with
// CI_NODE_INDEX/CI_NODE_TOTAL), and those N jobs take every pair of the shipped library exactly once —
// dealt in turn and balanced by durations, through the pure split and through the CLI's --list.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { projectRoot } from "../../harness/paths.ts";
import { loadScenarios } from "../../harness/scenario/runner.ts";
import { listPairs, pickPairs } from "../../harness/ci/pairs.ts";
import { pairKey, parseShard, readDurations } from "../../harness/ci/shard.ts";
import { tempDir } from "../helpers.ts";

const doc = readFileSync(join(projectRoot, "docs/ci.md"), "utf8");
const yamlBlocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]!) as Record<string, any>);

/** The `bootlab run` command of a job's script lines, with each job's index and the total substituted. */
function shardCommands(lines: string[], subst: (k: number) => Record<string, string>, total: number): string[][] {
  const run = lines.find((l) => /bootlab run .*--shard /.test(l));
  assert.ok(run, "the shard job runs bootlab run --shard");
  return Array.from({ length: total }, (_, i) => {
    let line = run;
    for (const [from, to] of Object.entries(subst(i + 1))) line = line.split(from).join(to);
    return line.slice(line.indexOf("bootlab run ") + "bootlab run ".length).split(/\s+/);
  });
}

const flag = (argv: string[], name: string) => argv[argv.indexOf(name) + 1]!;

async function assertCoversLibrary(commands: string[][], durationsDir: string): Promise<void> {
  const targets = flag(commands[0]!, "--target") === "all" ? "all" as const : flag(commands[0]!, "--target").split(",");
  const pairs = listPairs(await loadScenarios([join(projectRoot, commands[0]![0]!)]), targets);
  const all = pairs.map((p) => pairKey(p.scenario.id, p.target));
  assert.ok(all.length > 50, `the library has ${all.length} pairs`);
  const durations = readDurations([durationsDir]);
  for (const d of [undefined, durations]) {
    const taken = commands.map((argv, i) => {
      const shard = parseShard(flag(argv, "--shard"));
      assert.deepEqual(shard, { index: i + 1, total: commands.length }, `job ${i + 1} runs shard ${i + 1}/${commands.length}`);
      return pickPairs(pairs, { shard, ...(d ? { durations: d } : {}) }).map((p) => pairKey(p.scenario.id, p.target));
    }).flat();
    assert.equal(taken.length, all.length, "no pair is taken twice");
    assert.deepEqual([...taken].sort(), [...all].sort(), "every pair is taken");
  }
  // Every shard writes its own folder.
  assert.equal(new Set(commands.map((argv) => flag(argv, "--out"))).size, commands.length);
}

/** A durations folder as a previous run leaves it: one timeline.json for a few pairs. */
function fakeDurations(dir: string): void {
  for (const [id, target, ms] of [["smoke/boot-to-shell", "malta-mipsel", 7000], ["flash-recovery/recover-bricked", "virt-arm64", 95000],
    ["usbboot/nbd-root", "malta-mipsel", 60000], ["lan/cable", "virt-arm64", 20000]] as const) {
    mkdirSync(join(dir, "shard-1", id, target), { recursive: true });
    writeFileSync(join(dir, "shard-1", id, target, "timeline.json"), JSON.stringify({ scenario: id, target, status: "passed", durationMs: ms, steps: [] }));
  }
}

test("docs/ci.md: two YAML pipelines that parse, installing with npm install (npm ci refuses the one-platform lock)", () => {
  assert.equal(yamlBlocks.length, 2);
  assert.doesNotMatch(JSON.stringify(yamlBlocks), /npm ci\b/);
});

test("docs/ci.md: the GitHub Actions matrix shards cover every pair of the library exactly once, and the report job merges them", async () => {
  const gh = yamlBlocks.find((y) => y.jobs)!;
  const job = gh.jobs.scenarios;
  const matrix = job.strategy.matrix.shard as number[];
  assert.deepEqual(matrix, Array.from({ length: matrix.length }, (_, i) => i + 1), "the matrix is 1…N");
  const steps = job.steps as { run?: string; uses?: string; with?: Record<string, string> }[];
  const lines = steps.flatMap((s) => (s.run ? s.run.split("\n") : []));
  const commands = shardCommands(lines, (k) => ({ "${{ matrix.shard }}": String(k), "${{ strategy.job-total }}": String(matrix.length) }), matrix.length);
  // The durations every shard balances on are the one copy the plan job uploaded.
  assert.ok(job.needs === "plan" || job.needs?.includes?.("plan"));
  const down = steps.find((s) => s.uses?.startsWith("actions/download-artifact") && s.with?.name === "durations")!;
  assert.equal(flag(commands[0]!, "--durations"), down.with!.path);
  assert.ok(gh.jobs.plan.steps.some((s: { uses?: string; with?: Record<string, string> }) => s.uses?.startsWith("actions/upload-artifact") && s.with?.name === "durations"));
  const up = steps.find((s) => s.uses?.startsWith("actions/upload-artifact"))!;
  assert.equal(up.with!.path, "out/shard-${{ matrix.shard }}");
  assert.equal(flag(commands[0]!, "--out"), "out/shard-1");
  const merge = (gh.jobs.report.steps as { run?: string }[]).find((s) => s.run?.includes("bootlab report merge"))!;
  const pulled = (gh.jobs.report.steps as { uses?: string; with?: Record<string, string> }[]).find((s) => s.uses?.startsWith("actions/download-artifact"))!;
  assert.equal(pulled.with!.pattern, "shard-*");
  assert.match(merge.run!, new RegExp(`bootlab report merge ${pulled.with!.path}\\b`));
  const d = tempDir();
  try {
    fakeDurations(d.path);
    await assertCoversLibrary(commands, d.path);
  } finally {
    d.remove();
  }
});

test("docs/ci.md: GitLab's parallel: N job covers every pair exactly once, and the report job merges the shards", async () => {
  const gl = yamlBlocks.find((y) => y.stages)!;
  const job = gl.scenarios;
  const n = job.parallel as number;
  assert.ok(Number.isInteger(n) && n >= 2);
  const commands = shardCommands(job.script as string[], (k) => ({ $CI_NODE_INDEX: String(k), $CI_NODE_TOTAL: String(n) }), n);
  assert.deepEqual(job.needs, ["plan"]);
  assert.ok((gl.plan.artifacts.paths as string[]).includes(flag(commands[0]!, "--durations") + "/"));
  assert.ok((job.artifacts.paths as string[]).includes("out/shard-$CI_NODE_INDEX/"));
  assert.match((gl.report.script as string[]).join("\n"), /bootlab report merge out\b/);
  for (const stage of [gl.plan.stage, job.stage, gl.report.stage]) assert.ok((gl.stages as string[]).includes(stage));
  const d = tempDir();
  try {
    fakeDurations(d.path);
    await assertCoversLibrary(commands, d.path);
  } finally {
    d.remove();
  }
});

test("docs/ci.md: the CLI's --list for shards 1…N of the library, balanced by durations, is a partition of --list", () => {
  const isDeno = "Deno" in globalThis;
  const cli = (...args: string[]) => {
    const argv = isDeno ? ["run", "-A", join(projectRoot, "harness/cli/main.ts")] : [join(projectRoot, "bin/bootlab.mjs")];
    const r = spawnSync(process.execPath, [...argv, ...args], { cwd: projectRoot, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim().split("\n").filter(Boolean);
  };
  const d = tempDir();
  try {
    fakeDurations(d.path);
    const all = cli("run", "scenarios", "--target", "all", "--list");
    const n = 3;
    const shards = Array.from({ length: n }, (_, i) => cli("run", "scenarios", "--target", "all", "--list", "--shard", `${i + 1}/${n}`, "--durations", d.path));
    assert.deepEqual(shards.flat().sort(), [...all].sort());
    assert.ok(shards.every((s) => s.length > 0));
    // The two longest recorded pairs start two different shards.
    const at = (key: string) => shards.findIndex((s) => s.includes(key));
    assert.notEqual(at("flash-recovery/recover-bricked virt-arm64"), at("usbboot/nbd-root malta-mipsel"));
  } finally {
    d.remove();
  }
});
