#!/usr/bin/env node
// One-step set-up for a fresh Debian 12 machine, run by `npm start` and `npm test` before anything else.
// Plain JavaScript (it must run before npm dependencies exist). Idempotent: a ready machine costs ~1 s.
//  1. host tools from Debian (installed when root, otherwise the exact apt-get line is printed);
//  2. npm dependencies (installed when node_modules is missing or older than the lock file);
//  3. the preflight (`bootlab doctor`): every target's QEMU really started, paused, with all its devices —
//     a host that lacks anything QEMU loads at start-up stops here, in QEMU's words, with the fix;
//  4. guest fixtures: locked Debian packages downloaded, verified by sha256 and unpacked into the cache.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const req = JSON.parse(readFileSync(join(root, "harness/host/requirements.json"), "utf8"));
const say = (s) => process.stdout.write(`setup: ${s}\n`);

function have(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

const missing = new Set();
for (const t of req.tools) if (!have(t.command)) missing.add(t.package);
for (const f of req.files) if (!existsSync(f.path)) missing.add(f.package);
if (missing.size > 0) {
  const pkgs = [...missing].sort();
  const line = `apt-get install -y --no-install-recommends ${pkgs.join(" ")}`;
  if (process.getuid && process.getuid() === 0) {
    say(`installing host packages: ${pkgs.join(" ")}`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    execFileSync("apt-get", ["update", "-q"], { stdio: ["ignore", "inherit", "inherit"], env });
    execFileSync("sh", ["-c", line], { stdio: ["ignore", "inherit", "inherit"], env });
  } else {
    process.stderr.write(`setup: missing host packages. As root, run:\n\n  sudo ${line}\n\nthen run this command again.\n`);
    process.exit(1);
  }
}

const lock = join(root, "package-lock.json");
const stamp = join(root, "node_modules", ".package-lock.json");
if (!existsSync(stamp) || statSync(stamp).mtimeMs < statSync(lock).mtimeMs) {
  // `npm install`, not `npm ci`: the lock holds only the deno binary package for this platform (the other
  // platforms' optional packages do not resolve here), which `npm ci` refuses as "out of sync". Versions
  // still come from package-lock.json.
  say("installing npm dependencies (npm install, versions from package-lock.json)");
  execFileSync("npm", ["install", "--no-audit", "--no-fund"], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
}

const bootlab = (...args) =>
  spawnSync(process.execPath, ["--import", "tsx", join(root, "harness/cli/main.ts"), ...args], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });

say("preflight: starting every target's QEMU, paused, with all its devices");
const pre = bootlab("doctor");
if (pre.status !== 0) {
  process.stderr.write("setup: the preflight failed (above: QEMU's own words and the fix); nothing else was run\n");
  process.exit(pre.status ?? 1);
}

say("fetching guest fixtures (cached, sha256-pinned)");
const r = bootlab("fixtures", "fetch");
if (r.status !== 0) process.exit(r.status ?? 1);
// Reports (JUnit from the test runners, scenario artifacts) go to out/.
mkdirSync(join(root, "out"), { recursive: true });
say("ready");
