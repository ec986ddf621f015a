// Every ```ts sample in README.md and docs/*.md type-checks against harness/mod.ts, so the guide cannot
// teach an API that is not there. A sample that exports is a module; any other is a fragment of a scenario
// body, checked inside an async function that has the scenario context's names in scope (PREAMBLE), its
// import lines hoisted. Imports of harness/ are pointed at this checkout.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { projectRoot } from "../../harness/paths.ts";

/** What a fragment may use without defining it: the scenario context, and the names the guides use for its usual objects. */
const PREAMBLE = (mod: string) => `import type { Board, LabLan, LinuxShell, ScenarioContext, UBootConsole } from "${mod}";
declare const ctx: ScenarioContext;
declare const lab: ScenarioContext["lab"], target: ScenarioContext["target"], fixtures: ScenarioContext["fixtures"];
declare const step: ScenarioContext["step"], log: ScenarioContext["log"];
declare const board: Board, lan: LabLan, sh: LinuxShell, ub: UBootConsole;
declare const kernel: string, initrd: string, bytes: Uint8Array;
export {};
`;

interface Sample {
  file: string;
  line: number;
  code: string;
}

/** A sample that exports is a module as written; any other is a fragment of a scenario body (its imports hoisted). */
const isModule = (code: string) => /^\s*export\b/m.test(code);

function docSamples(): Sample[] {
  const docs = ["README.md", ...readdirSync(join(projectRoot, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
  const out: Sample[] = [];
  for (const file of docs) {
    const text = readFileSync(join(projectRoot, file), "utf8");
    for (const m of text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) {
      out.push({ file, line: text.slice(0, m.index).split("\n").length + 1, code: m[1]! });
    }
  }
  return out;
}

test("doc samples: every ```ts sample of README.md and docs/*.md type-checks against harness/mod.ts", () => {
  const samples = docSamples();
  assert.ok(samples.length >= 5, `found ${samples.length} samples`);
  mkdirSync(join(projectRoot, "out"), { recursive: true });
  const dir = mkdtempSync(join(projectRoot, "out", "doc-samples-"));
  try {
    const rel = relative(dir, projectRoot);
    const names: string[] = [];
    samples.forEach((s, i) => {
      const name = `sample-${String(i).padStart(2, "0")}.ts`;
      names.push(name);
      const code = s.code.replace(/(from\s+")((?:\.\.\/)+)(harness\/[^"]+")/g, `$1${rel}/$3`);
      // Keep line numbers: the sample's first line is line `s.line` of its document. A fragment's imports
      // move up to the preamble's line, leaving their lines empty.
      const imports = code.split("\n").filter((l) => /^import\s/.test(l));
      const body = isModule(s.code)
        ? code
        : `${PREAMBLE(`${rel}/harness/mod.ts`).replace(/\n/g, " ")} ${imports.join(" ")}\nasync function sample(): Promise<void> {\n` +
          `${code.split("\n").map((l) => (/^import\s/.test(l) ? "" : l)).join("\n")}}\n`;
      writeFileSync(join(dir, name), `// ${s.file}:${s.line}\n${body}`);
    });
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
      extends: `${rel}/tsconfig.json`,
      compilerOptions: { noUnusedLocals: false, noUnusedParameters: false },
      include: ["*.ts"],
    }));
    const tsc = join(projectRoot, "node_modules/typescript/bin/tsc");
    const node = "Deno" in globalThis ? "node" : process.execPath;
    const r = spawnSync(node, [tsc, "--noEmit", "-p", dir], { encoding: "utf8" });
    // Point each error at the document's line.
    const report = (r.stdout + r.stderr).replace(/[^\s(]*(sample-(\d+)\.ts)\((\d+),(\d+)\)/g, (_all, _f, i: string, line: string, col: string) => {
      const s = samples[Number(i)]!;
      return `${s.file}:${s.line + Number(line) - (isModule(s.code) ? 2 : 4)}:${col}`;
    });
    assert.equal(r.status, 0, `doc samples do not type-check:\n${report}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
