// CI at scale: --shard splits the pairs so that N jobs, each computing on its own, take every pair exactly
// once (dealt in turn, or balanced by recorded durations); --grep filters them; report merge joins the
// shards' JUnit and TAP; the fixture cache key follows exactly the files the cache depends on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { assignShards, pairKey, parseGrep, parseShard, readDurations, shardOf } from "../../harness/ci/shard.ts";
import { type Pair, pickPairs } from "../../harness/ci/pairs.ts";
import type { ValidScenario } from "../../harness/scenario/define.ts";
import { duplicateCases, findReports, junitCases, mergedExitCode, mergeJunit, mergeTap, tapPoints } from "../../harness/report/merge.ts";
import { junitXml, tap } from "../../harness/report/junit.ts";
import type { ScenarioResult } from "../../harness/scenario/runner.ts";
import { InfrastructureError, ProductFailure } from "../../harness/errors/failures.ts";
import { FIXTURE_CACHE_INPUTS, fixtureCacheKey } from "../../harness/fixtures/cache-key.ts";
import { projectRoot } from "../../harness/paths.ts";
import { tempDir } from "../helpers.ts";

const keys = Array.from({ length: 23 }, (_, i) => `s/${String(i).padStart(2, "0")} ${["malta-mipsel", "virt-arm64"][i % 2]}`);

/** Every key lands in exactly one of the N shards. */
function assertPartition(all: readonly string[], shards: string[][]): void {
  const seen = shards.flat();
  assert.equal(seen.length, all.length, "no pair taken twice");
  assert.deepEqual([...seen].sort(), [...all].sort(), "every pair taken");
}

test("shard: --shard K/N is parsed with K from 1; 0/N, K>N and words are refused as scenario errors", () => {
  assert.deepEqual(parseShard("2/4"), { index: 2, total: 4 });
  assert.deepEqual(parseShard("1/1"), { index: 1, total: 1 });
  for (const bad of ["0/4", "5/4", "2", "a/b", "1/0", "-1/2"]) assert.throws(() => parseShard(bad), { name: "ScenarioError" }, bad);
});

test("shard: without durations the pairs are dealt in turn; every N from 1 to 30 covers each pair exactly once", () => {
  for (let n = 1; n <= 30; n++) {
    const shards = Array.from({ length: n }, (_, k) => shardOf(keys, (x) => x, { index: k + 1, total: n }));
    assertPartition(keys, shards);
    const sizes = shards.map((s) => s.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `n=${n}: sizes ${sizes}`);
  }
  // Listed order is kept inside a shard.
  assert.deepEqual(shardOf(keys, (x) => x, { index: 2, total: 5 }), [keys[1], keys[6], keys[11], keys[16], keys[21]]);
});

test("shard: recorded durations balance the shards (longest first to the least loaded); a pair with none counts as the mean", () => {
  // Two long pairs listed next to each other: dealt in turn they would share shard 1 of 2.
  const ms = new Map<string, number>(keys.map((k, i) => [k, i === 0 || i === 2 ? 300_000 : 10_000 + i * 100]));
  ms.delete(keys[5]!);
  for (let n = 1; n <= 12; n++) {
    const shards = Array.from({ length: n }, (_, k) => shardOf(keys, (x) => x, { index: k + 1, total: n }, ms));
    assertPartition(keys, shards);
  }
  const mean = [...ms.values()].reduce((a, b) => a + b, 0) / ms.size;
  const load = (n: number, d?: Map<string, number>) => {
    const a = assignShards(keys, n, d);
    const per = new Array<number>(n).fill(0);
    a.forEach((s, i) => (per[s - 1]! += ms.get(keys[i]!) ?? mean));
    return Math.max(...per);
  };
  assert.ok(load(2, ms) < load(2), `balanced ${load(2, ms)} ms < dealt ${load(2)} ms`);
  assert.notEqual(assignShards(keys, 2, ms)[0], assignShards(keys, 2, ms)[2], "the two long pairs go to different shards");
  // Deterministic: the same inputs, the same split (every job of a matrix computes it alone).
  assert.deepEqual(assignShards(keys, 4, new Map(ms)), assignShards(keys, 4, ms));
});

test("shard: readDurations averages the timeline.json files of earlier runs, at any depth", () => {
  const d = tempDir();
  try {
    const put = (dir: string, scenario: string, target: string, durationMs: number) => {
      mkdirSync(join(d.path, dir), { recursive: true });
      writeFileSync(join(d.path, dir, "timeline.json"), JSON.stringify({ scenario, target, status: "passed", durationMs, steps: [] }));
    };
    put("shard-1/smoke/boot-to-shell/malta-mipsel", "smoke/boot-to-shell", "malta-mipsel", 6000);
    put("shard-2/smoke/boot-to-shell/malta-mipsel", "smoke/boot-to-shell", "malta-mipsel", 8000);
    put("shard-2/lan/cable/virt-arm64", "lan/cable", "virt-arm64", 20000);
    mkdirSync(join(d.path, "broken"));
    writeFileSync(join(d.path, "broken", "timeline.json"), "{ half-writ");
    const ms = readDurations([d.path]);
    assert.deepEqual([...ms].sort(), [[pairKey("lan/cable", "virt-arm64"), 20000], [pairKey("smoke/boot-to-shell", "malta-mipsel"), 7000]]);
    assert.throws(() => readDurations([join(d.path, "nope")]), { name: "ScenarioError" });
  } finally {
    d.remove();
  }
});

test("grep: --grep keeps pairs whose \"SCENARIO-ID TARGET\" or name matches, before the shard split", () => {
  const sc = (id: string, name: string) => ({ id, header: { name } }) as unknown as ValidScenario;
  const pairs: Pair[] = [
    { scenario: sc("smoke/boot-to-shell", "the kernel boots to a shell"), target: "malta-mipsel" },
    { scenario: sc("smoke/boot-to-shell", "the kernel boots to a shell"), target: "virt-arm64" },
    { scenario: sc("lan/cable", "a pulled cable"), target: "virt-arm64" },
    { scenario: sc("netboot/tftp-faults", "TFTP survives loss"), target: "malta-mipsel" },
  ];
  const ids = (ps: Pair[]) => ps.map((p) => pairKey(p.scenario.id, p.target));
  assert.deepEqual(ids(pickPairs(pairs, { grep: parseGrep("virt-arm64$") })), ["smoke/boot-to-shell virt-arm64", "lan/cable virt-arm64"]);
  assert.deepEqual(ids(pickPairs(pairs, { grep: parseGrep("TFTP survives") })), ["netboot/tftp-faults malta-mipsel"]);
  assert.deepEqual(ids(pickPairs(pairs, { grep: parseGrep("^smoke/") , shard: { index: 2, total: 2 } })), ["smoke/boot-to-shell virt-arm64"]);
  assert.throws(() => parseGrep("(unclosed"), { name: "ScenarioError" });
});

function result(id: string, target: string, failure?: Error & { kind?: string }): ScenarioResult {
  return {
    id, name: `${id} works`, file: `scenarios/${id}.ts`, target, status: failure ? "failed" : "passed",
    ...(failure ? { failure: failure as never } : {}), durationMs: 1234, steps: [], summary: "power on 0.1 s", artifacts: `out/${id}/${target}`,
  };
}

test("report merge: shards' JUnit and TAP become one report; failures, counts and the run's exit status are kept", () => {
  const shard1 = [result("smoke/boot-to-shell", "malta-mipsel"), result("lan/cable", "virt-arm64", new ProductFailure("no carrier <eth0> & \"x\"", { step: "cable" }))];
  const shard2 = [result("smoke/boot-to-shell", "virt-arm64", new InfrastructureError("QEMU died"))];
  const empty: ScenarioResult[] = [];
  const j = mergeJunit([junitXml(shard1), junitXml(empty), junitXml(shard2)]);
  assert.equal(j.cases.length, 3);
  assert.match(j.xml, /<testsuites tests="3" failures="2" time="3\.702">/);
  assert.deepEqual(junitCases(j.xml).map((c) => [c.classname, c.failureType]), [["malta-mipsel", undefined], ["virt-arm64", "product"], ["virt-arm64", "infrastructure"]]);
  assert.ok(j.xml.includes("no carrier &lt;eth0&gt; &amp; &quot;x&quot;"), "escaped text is carried over unchanged");
  assert.equal(mergedExitCode(j.cases), 3, "the worst failure decides, as in one run");
  assert.equal(mergedExitCode(junitCases(junitXml(shard1))), 1);
  assert.equal(mergedExitCode([]), 0);
  assert.deepEqual(duplicateCases(j.cases), []);
  assert.deepEqual(duplicateCases(mergeJunit([junitXml(shard1), junitXml(shard1)]).cases).length, 2);

  const t = mergeTap([tap(shard1), tap(empty), tap(shard2)]);
  assert.equal(t.points.length, 3);
  const lines = t.tap.split("\n");
  assert.deepEqual(lines.slice(0, 3), ["TAP version 13", "1..3", "ok 1 - malta-mipsel smoke/boot-to-shell: smoke/boot-to-shell works"]);
  assert.ok(lines.includes("not ok 3 - virt-arm64 smoke/boot-to-shell: smoke/boot-to-shell works"));
  assert.ok(lines.includes("  kind: infrastructure"), "YAML blocks follow their point");
  assert.deepEqual(tapPoints(t.tap).map((p) => p.ok), [true, false, false]);
  // A foreign JUnit's self-closing cases merge too.
  assert.equal(mergeJunit(['<testsuite><testcase classname="a" name="b" time="1"/></testsuite>']).cases.length, 1);
});

test("report merge: folders are searched for junit.xml and results.tap at any depth; named files are taken as they are", () => {
  const d = tempDir();
  try {
    for (const s of ["shard-1", "shard-2"]) {
      mkdirSync(join(d.path, "dl", s, "out"), { recursive: true });
      writeFileSync(join(d.path, "dl", s, "out", "junit.xml"), junitXml([]));
      writeFileSync(join(d.path, "dl", s, "out", "results.tap"), tap([]));
      writeFileSync(join(d.path, "dl", s, "out", "junit-node.xml"), "not ours");
    }
    writeFileSync(join(d.path, "extra.xml"), junitXml([]));
    const found = findReports([join(d.path, "dl"), join(d.path, "extra.xml")]);
    assert.deepEqual(found.junit.map((f) => f.slice(d.path.length)), ["/dl/shard-1/out/junit.xml", "/dl/shard-2/out/junit.xml", "/extra.xml"]);
    assert.equal(found.tap.length, 2);
    assert.throws(() => findReports([join(d.path, "missing")]), { name: "ScenarioError" });
  } finally {
    d.remove();
  }
});

test("cache-key: one hash of the fixture lock, kernel configs, targets and host requirements; any change to them changes it, nothing else does", () => {
  const d = tempDir();
  try {
    for (const p of FIXTURE_CACHE_INPUTS) cpSync(join(projectRoot, p), join(d.path, p), { recursive: true });
    const here = fixtureCacheKey();
    const copy = fixtureCacheKey(d.path);
    assert.match(here.key, /^[0-9a-f]{64}$/);
    assert.equal(copy.key, here.key, "the same files on another path give the same key");
    assert.ok(here.files.some((f) => f.path === "fixtures/debian-packages.lock.json"));
    assert.ok(here.files.some((f) => f.path.startsWith("fixtures/kernel/")));
    assert.ok(here.files.some((f) => f.path === "targets/malta-mipsel.json"));
    assert.ok(here.files.some((f) => f.path === "harness/host/requirements.json"));
    mkdirSync(join(d.path, "scenarios"));
    writeFileSync(join(d.path, "scenarios", "new.ts"), "// a scenario is no fixture input");
    assert.equal(fixtureCacheKey(d.path).key, here.key);
    writeFileSync(join(d.path, "fixtures", "kernel", "malta-kexec.config"), "CONFIG_X=y\n", { flag: "a" });
    assert.notEqual(fixtureCacheKey(d.path).key, here.key);
  } finally {
    d.remove();
  }
});

test("report merge: the CLI merges shard folders into --out and exits with the whole run's status", () => {
  const isDeno = "Deno" in globalThis;
  const cli = (...args: string[]) => {
    const argv = isDeno ? ["run", "-A", join(projectRoot, "harness/cli/main.ts")] : [join(projectRoot, "bin/bootlab.mjs")];
    return spawnSync(process.execPath, [...argv, ...args], { cwd: projectRoot, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  };
  const d = tempDir();
  try {
    const shards = [[result("smoke/boot-to-shell", "malta-mipsel")], [result("lan/cable", "virt-arm64", new ProductFailure("no carrier"))]];
    shards.forEach((rs, i) => {
      mkdirSync(join(d.path, `shard-${i + 1}`));
      writeFileSync(join(d.path, `shard-${i + 1}`, "junit.xml"), junitXml(rs));
      writeFileSync(join(d.path, `shard-${i + 1}`, "results.tap"), tap(rs));
    });
    // A pair's timeline.json, as `bootlab run` leaves it in the shard's folder: the merged HTML report shows it.
    mkdirSync(join(d.path, "shard-1", "smoke", "boot-to-shell", "malta-mipsel"), { recursive: true });
    writeFileSync(join(d.path, "shard-1", "smoke", "boot-to-shell", "malta-mipsel", "timeline.json"), JSON.stringify({
      scenario: "smoke/boot-to-shell", name: "boots", target: "malta-mipsel", status: "passed", durationMs: 1234, steps: [],
    }));
    const out = join(d.path, "merged");
    const r = cli("report", "merge", join(d.path, "shard-1"), join(d.path, "shard-2"), "--out", out);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /merged 2 JUnit and 2 TAP reports: 2 pairs, 1 passed, 1 failed/);
    assert.equal(junitCases(readFileSync(join(out, "junit.xml"), "utf8")).length, 2);
    assert.match(r.stdout, /index\.html \(1 timelines\)/);
    assert.match(readFileSync(join(out, "index.html"), "utf8"), /smoke\/boot-to-shell/);
    assert.match(readFileSync(join(out, "results.tap"), "utf8"), /^TAP version 13\n1\.\.2\nok 1 - [^\n]*\nnot ok 2 - virt-arm64 lan\/cable/);
    // Merging the parent folder again does not take the merged report as a shard.
    const again = cli("report", "merge", d.path, "--out", out);
    assert.match(again.stdout, /2 pairs/);
    assert.equal(cli("report", "merge", join(d.path, "nothing-here")).status, 2);
    const key = cli("cache-key");
    assert.equal(key.stdout.trim(), fixtureCacheKey().key);
  } finally {
    d.remove();
  }
});
