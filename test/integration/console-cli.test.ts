// `bootlab console` through a real pseudo-terminal: util-linux `script` gives the command a pty (as a person's
// terminal would), the test types into it. The board boots to a shell, a typed command runs on it, the bench
// prompt (Ctrl-]) pulls the cable and plugs a USB stick the guest then sees, `quit` switches the board off —
// and nothing is left running.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../../harness/paths.ts";
import { buildVfat } from "../../harness/images/vfat.ts";
import { qemuProcesses, secondRuntime, tempDir } from "../helpers.ts";

const isDeno = "Deno" in globalThis;
const bootlab = isDeno ? `${process.execPath} run -A ${join(projectRoot, "harness/cli/main.ts")}` : `${process.execPath} ${join(projectRoot, "bin/bootlab.mjs")}`;

/** `bootlab ARGS` on a pty of its own (util-linux script), as a person's terminal runs it: what it shows, typing, its exit. */
function terminal(args: string, env: Record<string, string> = {}) {
  const child = spawn("script", ["-qfec", `${bootlab} ${args}`, "/dev/null"], {
    cwd: projectRoot, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1", TERM: "dumb", ...env },
  });
  const t = { seen: "" };
  child.stdout.on("data", (b: Buffer) => (t.seen += b.toString("utf8")));
  child.stderr.on("data", (b: Buffer) => (t.seen += b.toString("utf8")));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const waitFor = async (re: RegExp, what: string, ms = 120_000) => {
    const t0 = Date.now();
    while (!re.test(t.seen)) {
      if (Date.now() - t0 > ms) throw new Error(`no ${what} within ${ms / 1000} s; the terminal showed:\n${t.seen.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { get seen() { return t.seen; }, type: (text: string) => child.stdin.write(text), waitFor, exited, kill: () => child.kill("SIGKILL") };
}

test("console: a board at the terminal through a pty — type, bench prompt (cable, USB stick), quit leaves nothing running", async () => {
  const d = tempDir("bootlab-console-");
  const target = secondRuntime ? "virt-arm64" : "virt-armhf";
  const stick = join(d.path, "stick.img");
  await buildVfat(stick, [{ path: "HELLO.TXT", data: "from the bench\n" }], { sizeMiB: 8 });
  const term = terminal(`console ${target} --out ${join(d.path, "out")}`);
  const { type, waitFor } = term;
  try {
    await waitFor(/Ctrl-\] for the bench prompt/, "the attach line");
    type("echo typed-$((6*7))\r");
    // The person sees what they type: bootlab drove the shell with the tty's echo off and turned it back on.
    await waitFor(/echo typed-\$\(\(6\*7\)\)/, "the typed command echoed");
    await waitFor(/typed-42/, "the typed command's output");
    type("\x1dcable down\r");
    await waitFor(/\[bootlab\] cable pulled/, "the cable pulled");
    type("\x1dusb plug " + stick + "\r");
    await waitFor(/\[bootlab\] USB stick hotstick0 plugged in/, "the stick plugged");
    type("i=0; while [ ! -b /dev/sda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; mount -t vfat /dev/sda /mnt && cat /mnt/HELLO.TXT\r");
    await waitFor(/^from the bench/m, "the stick's file read by the guest");
    type("\x1dno such thing\r");
    await waitFor(/not a command: "no such thing"/, "the bench prompt refusing a bad command");
    type("\x1dquit\r");
    await waitFor(/detached; the board is switched off/, "the detach line");
    assert.equal(await term.exited, 0, term.seen.slice(-2000));
    assert.deepEqual(qemuProcesses(d.path), [], "no QEMU left running");
  } finally {
    term.kill();
    d.remove();
  }
});

test("run --attach-on-failure: the failure is told, the terminal sits at the failed board while it still runs, quit ends the run with the failure's status", async () => {
  const d = tempDir("bootlab-attach-");
  const target = secondRuntime ? "virt-arm64" : "virt-armhf";
  const scenarioFile = join(projectRoot, "test/scenarios/failing/wrong-machine-alive.ts");
  const term = terminal(`run ${scenarioFile} --target ${target} --attach-on-failure --out ${join(d.path, "out")}`);
  const { type, waitFor } = term;
  try {
    await waitFor(/PRODUCT FAILURE: .*the machine this board should be/, "the failure, told before attaching");
    await waitFor(/Ctrl-\] for the bench prompt/, "the attach line");
    type("echo still-here-$((40+2))\r");
    await waitFor(/still-here-42/, "the failed board answering");
    type("\x1dquit\r");
    await waitFor(/detached; stopping the run's machines/, "the detach line");
    assert.equal(await term.exited, 1, "the run's status is the product failure's");
    assert.deepEqual(qemuProcesses(d.path), [], "no QEMU left running");
  } finally {
    term.kill();
    d.remove();
  }
});

test("console --snapshot: the first session saves the board at its shell, the next is restored from it (same machine, a moment instead of a boot)", async () => {
  const d = tempDir("bootlab-console-snap-");
  const target = "virt-arm64";
  try {
    for (const round of [1, 2]) {
      // A snapshot cache of the test's own: the first round must find nothing saved.
      const term = terminal(`console ${target} --snapshot --out ${join(d.path, "out")}`, { BOOTLAB_SNAPSHOT_CACHE: join(d.path, "snapshots") });
      try {
        await term.waitFor(/Ctrl-\] for the bench prompt/, "the attach line");
        term.type(`echo round-${round}-$((2*3))\r`);
        await term.waitFor(new RegExp(`round-${round}-6`), "the typed command's output");
        term.type("\x1dquit\r");
        assert.equal(await term.exited, 0, term.seen.slice(-1500));
      } finally {
        term.kill();
      }
      const log = readFileSync(join(d.path, "out", "console", target, "run.log"), "utf8");
      if (round === 2) assert.match(log, /snapshot "console" \([0-9a-f]+\) restored in \d+ ms/, "the second session was restored");
      else assert.doesNotMatch(log, /restored in/);
    }
    assert.deepEqual(qemuProcesses(d.path), []);
  } finally {
    d.remove();
  }
});
