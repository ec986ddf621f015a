// A broken host says exactly what is broken. The fault is real: in a private mount namespace an empty
// folder hides the NICs' option ROMs (Debian's ipxe-qemu), as on a machine set up without QEMU's
// Recommends; the real `bootlab` command then runs inside it. Both the preflight and a scenario run
// must quote QEMU's own message and name the package to install — never a socket error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../../harness/paths.ts";
import { qemuProcesses, tempDir } from "../helpers.ts";

const isDeno = "Deno" in globalThis;
const cli = isDeno ? ["run", "-A", join(projectRoot, "harness/cli/main.ts")] : [join(projectRoot, "bin/bootlab.mjs")];
const ROMS = "/usr/lib/ipxe/qemu";

// Root (CI) makes the namespace directly; elsewhere a user namespace maps us to root inside it.
const unshare = process.getuid?.() === 0 ? ["unshare", "--mount"] : ["unshare", "--mount", "--map-root-user"];
const canUnshare = spawnSync(unshare[0]!, [...unshare.slice(1), "true"]).status === 0;

/** Runs `bootlab ARGS` with the option ROMs hidden; resolves with its exit code and all it printed. */
function bootlabWithoutRoms(args: string[]): Promise<{ code: number | null; output: string }> {
  const empty = tempDir("bootlab-no-roms-");
  const hide = existsSync(ROMS) ? `mount --bind ${empty.path} ${ROMS} && ` : "";
  const child = spawn(unshare[0]!, [...unshare.slice(1), "sh", "-c", `${hide}exec "$@"`, "sh", process.execPath, ...cli, ...args], {
    cwd: projectRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (b) => (output += b));
  child.stderr!.on("data", (b) => (output += b));
  return new Promise((resolve) => child.on("exit", (code) => {
    empty.remove();
    resolve({ code, output });
  }));
}

test("host faults: without the option ROMs, `bootlab doctor` fails each target's preflight in QEMU's words and names ipxe-qemu", { skip: !canUnshare && "no mount namespace here (unshare refused)" }, async () => {
  const r = await bootlabWithoutRoms(["doctor"]);
  assert.equal(r.code, 1, r.output);
  assert.match(r.output, /^✘ malta-mipsel +QEMU for malta-mipsel exited with code 1 during start-up: qemu-system-mipsel: -device pcnet,[^\n]*failed to find romfile "efi-pcnet\.rom"$/m);
  assert.match(r.output, /^✘ virt-arm64 +QEMU for virt-arm64 exited with code 1 during start-up: [^\n]*failed to find romfile "efi-virtio\.rom"$/m);
  assert.match(r.output, /^✘ virt-armhf +[^\n]*failed to find romfile "efi-virtio\.rom"$/m);
  assert.match(r.output, /^ {4}fix: QEMU cannot find efi-pcnet\.rom, an option ROM from Debian's ipxe-qemu: apt-get install -y --no-install-recommends ipxe-qemu/m);
  assert.match(r.output, /^ {2}apt-get install -y --no-install-recommends ipxe-qemu$/m);
  assert.doesNotMatch(r.output, /ECONNRESET|QMP/);
});

test("host faults: without the option ROMs, a scenario run is an infrastructure error quoting QEMU and naming ipxe-qemu, and leaves no QEMU", { skip: !canUnshare && "no mount namespace here (unshare refused)" }, async () => {
  const out = tempDir("bootlab-no-roms-run-");
  try {
    const r = await bootlabWithoutRoms(["run", join(projectRoot, "scenarios/smoke/boot-to-shell.ts"), "--target", "malta-mipsel", "--out", out.path, "--no-snapshots"]);
    assert.notEqual(r.code, 0, r.output);
    assert.match(r.output, /INFRASTRUCTURE ERROR: QEMU for malta-mipsel exited with code 1 during start-up: qemu-system-mipsel: -device pcnet,[^\n]*failed to find romfile "efi-pcnet\.rom"/);
    assert.match(r.output, /step "power on malta-mipsel"/);
    assert.match(r.output, /fix: +QEMU cannot find efi-pcnet\.rom, an option ROM from Debian's ipxe-qemu: apt-get install -y --no-install-recommends ipxe-qemu/);
    assert.doesNotMatch(r.output, /ECONNRESET|QMP qmp_capabilities/);
    assert.deepEqual(qemuProcesses(out.path), []);
  } finally {
    out.remove();
  }
});
