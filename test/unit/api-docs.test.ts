// The scenario API reference in docs/api/ is generated from harness/mod.ts's doc comments by the pinned
// TypeDoc (`npm run docs:api`): this test generates it again and fails when the checked-in copy differs (a
// doc comment or an export changed without regenerating), when an exported type refers to one the reference
// leaves out, when a link is broken, or when a top-level export has no doc comment.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { projectRoot } from "../../harness/paths.ts";
import { secondRuntime, tempDir } from "../helpers.ts";

/**
 * Members (nested properties, accessors) still without a doc comment, outside the target schema's fields
 * (harness/targets/catalogue.ts, shown through Target's @interface); lower it as they get one.
 */
const UNDOCUMENTED_MEMBERS_AT_MOST = 98;

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, "utf8"));
    }
  };
  walk(dir);
  return out;
}

// A check of the repository's files, not of a runtime: the second runtime would run the same TypeDoc on the
// same sources (8 s) and could only agree.
test("api docs: docs/api/ is what TypeDoc makes of harness/mod.ts now, with no broken or missing references", { skip: secondRuntime ? "checked under Node" : false }, () => {
  const d = tempDir();
  try {
    // TypeDoc runs under Node (its CLI is a Node program); under Deno, the node on PATH.
    const node = "Deno" in globalThis ? "node" : process.execPath;
    const r = spawnSync(node, [join(projectRoot, "node_modules/typedoc/bin/typedoc"), "--out", d.path], {
      cwd: projectRoot, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
    });
    const log = (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, "");
    assert.equal(r.status, 0, log);
    const warnings = log.split("\n").filter((l) => l.startsWith("[warning]") && !/Found \d+ errors/.test(l));
    const undocumented = warnings.filter((l) => l.includes("does not have any documentation"));
    const other = warnings.filter((l) => !undocumented.includes(l));
    assert.deepEqual(other, [], "no exported type refers to one left out of the reference, and every {@link} resolves");
    const topLevel = undocumented.filter((l) => /^\[warning\] [A-Za-z_]+ \(/.test(l));
    assert.deepEqual(topLevel, [], "every export of harness/mod.ts has a doc comment");
    const members = undocumented.filter((l) => !l.includes("harness/targets/catalogue.ts"));
    assert.ok(members.length <= UNDOCUMENTED_MEMBERS_AT_MOST, `${members.length} members lack a doc comment:\n${members.join("\n")}`);

    const made = files(d.path);
    const kept = files(join(projectRoot, "docs/api"));
    const stale = [...made].filter(([f, text]) => kept.get(f) !== text).map(([f]) => f);
    const extra = [...kept.keys()].filter((f) => !made.has(f));
    assert.deepEqual({ stale, extra }, { stale: [], extra: [] }, "docs/api/ is out of date: run `npm run docs:api` and commit it");
  } finally {
    d.remove();
  }
});
