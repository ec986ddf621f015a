// The netboot scenario library (scenarios/netboot) on every target it names: U-Boot from Debian's
// u-boot-qemu, our DHCP and TFTP on the lab LAN, Debian kernels. Beyond "every scenario passed": the
// reproduced failures failed where they should, and the capture shows U-Boot's own exchanges.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runScenarios } from "../../harness/scenario/runner.ts";
import { projectRoot } from "../../harness/paths.ts";
import { libraryRun, qemuProcesses, SECOND_RUNTIME_PAIRS, secondRuntime, tempDir } from "../helpers.ts";

test("netboot: every U-Boot flow passes on its targets; the seed-000 failure is a product failure in the kernel's step; U-Boot's TFTP is in the capture", async () => {
  const out = tempDir("bootlab-netboot-");
  try {
    const results = await runScenarios({ paths: [join(projectRoot, "scenarios/netboot")], outDir: out.path, ...libraryRun("netboot") });
    for (const r of results) assert.equal(r.status, "passed", `${r.id} on ${r.target}:\n${r.failure?.report()}`);
    assert.ok(results.length >= (secondRuntime ? SECOND_RUNTIME_PAIRS.netboot!.length : 25), `${results.length} runs`);
    assert.equal(new Set(results.map((r) => r.target)).size, 3, "every target ran");

    const vfs = results.filter((r) => r.id === "netboot/no-initramfs");
    assert.equal(vfs.length, secondRuntime ? 1 : 3);
    for (const r of vfs) {
      assert.equal(r.expectedFailureSeen, true);
      assert.equal(r.failure?.kind, "product");
      assert.equal(r.failure?.context.step, "kernel boots to the shell");
      assert.match(r.failure?.context.seen ?? "", /VFS: Unable to mount root fs/);
    }

    for (const r of results.filter((x) => x.id === "netboot/tftp-to-ram")) {
      // U-Boot's RRQs as tshark decodes them: octet mode, its blksize and timeout options.
      const rrq = execFileSync("tshark", ["-r", join(r.artifacts, "lan.pcap"), "-Y", "tftp.opcode == 1", "-T", "fields", "-e", "tftp.source_file", "-e", "tftp.option.name"], {
        encoding: "utf8", stdio: ["ignore", "pipe", "ignore"],
      }).trim().split("\n");
      assert.equal(rrq.length, 2, `${r.target}: ${rrq}`);
      assert.match(rrq[0]!, new RegExp(`^${r.target}/kernel\\t.*blksize`));
      const log = JSON.parse(readFileSync(join(r.artifacts, "lan-log.json"), "utf8"));
      assert.deepEqual(log.tftp.map((t: { outcome: string }) => t.outcome), ["ok", "ok"]);
      const timeline = JSON.parse(readFileSync(join(r.artifacts, "timeline.json"), "utf8"));
      const names = timeline.steps.map((s: { name: string }) => s.name);
      for (const stage of ["U-Boot starts", `U-Boot: tftpboot kernel ${r.target}/kernel`, "kernel boots to the shell", "shell answers"]) {
        assert.ok(names.includes(stage), `${r.target}: timeline has "${stage}": ${names}`);
      }
    }
    assert.deepEqual(qemuProcesses(out.path), []);
  } finally {
    out.remove();
  }
});
