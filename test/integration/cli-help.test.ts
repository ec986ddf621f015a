// Every subcommand answers --help with its own usage and exit status 0, before its options are checked;
// an unknown option is still a wrong-input error (2). The CLI runs under the same runtime as the test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { projectRoot } from "../../harness/paths.ts";

const isDeno = "Deno" in globalThis;
const cli = (...args: string[]) => {
  const argv = isDeno ? ["run", "-A", join(projectRoot, "harness/cli/main.ts")] : [join(projectRoot, "bin/bootlab.mjs")];
  const r = spawnSync(process.execPath, [...argv, ...args], { cwd: projectRoot, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

test("cli: `bootlab CMD --help` prints that command's usage and exits 0; an unknown option exits 2", () => {
  for (const [cmd, line] of [
    ["run", /^ {2}bootlab run <files or folders> \[--target NAME\[,NAME\]\|all\][^\n]*\n +\[--jobs N\] \[--no-snapshots\] \[--html FILE\] \[--grep PATTERN\] \[--shard K\/N \[--durations DIR\]\] \[--list\]\n +\[--attach-on-failure\]\n +every run writes DIR\/index\.html[^\n]*\n[^\n]*--html FILE writes it there too\n(?: {6}\S[^\n]*\n)+$/],
    ["report", /^ {2}bootlab report <folders or timeline\.json files> \[--html FILE\]\n +the HTML report made afterwards[\s\S]*\n {2}bootlab report merge DIR… \[--out DIR\]\n/],
    ["cache-key", /^ {2}bootlab cache-key \[--files\]/],
    ["doctor", /^ {2}bootlab doctor \[--packages\] \[--no-preflight\]\n/],
    ["serve", /bootlab serve tftp --root DIR[\s\S]*bootlab serve dhcp --config FILE/],
    ["cache", /^ {2}bootlab cache \[list\|prune\|clear\]/],
  ] as const) {
    const r = cli(cmd, "--help");
    assert.equal(r.code, 0, `${cmd} --help: ${r.err}`);
    assert.match(r.out, line);
  }
  const bad = cli("run", "--no-such-option", "scenarios/smoke");
  assert.equal(bad.code, 2);
  assert.match(bad.err, /unknown option --no-such-option/);
});
