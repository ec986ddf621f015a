// bench/boot-overhead: what bootlab adds to a boot. The same kernel + initramfs is booted to the same
// console marker ("bootlab-init: ready") by bare QEMU (serial on stdio, no sockets, no QMP) and by a
// bootlab scenario (scenario load, sockets, QMP handshake, expect engine), alternating, several runs.
// Prints per-target medians and the ratio bootlab / bare; where bootlab boots Debian's kernel unpacked
// (guest.kernel.directBoot), also bare QEMU with the kernel as shipped. Usage: npm run bench:boot [-- RUNS]

import { spawn } from "node:child_process";
import { join } from "node:path";
import { Fixtures } from "../harness/fixtures/fixtures.ts";
import { loadCatalogue, type Target } from "../harness/targets/catalogue.ts";
import { kernelCommandLine } from "../harness/machine/qemu-args.ts";
import { loadScenarios, runOne } from "../harness/scenario/runner.ts";
import { projectRoot } from "../harness/paths.ts";
import { median, seconds } from "./stats.ts";
import { tempDir } from "../test/helpers.ts";

const runs = Number(process.argv[2] ?? 5);
const fixtures = new Fixtures();
const [bench] = await loadScenarios([join(projectRoot, "bench/scenarios/boot-to-marker.ts")]);
const out = tempDir("bootlab-bench-");

/** Bare QEMU: the target's own machine options, serial on stdio; time from spawn to the marker. */
async function bare(target: Target, kernel: string, initrd: string): Promise<number> {
  const t = target.machine.qemu;
  const argv = ["-M", t.machine, ...(t.cpu ? ["-cpu", t.cpu] : []), "-m", String(t.memoryMiB), "-nodefaults", "-no-user-config",
    "-display", "none", "-serial", "stdio", "-kernel", kernel, "-initrd", initrd, "-append", kernelCommandLine(target, {})];
  const t0 = performance.now();
  const q = spawn(t.binary, argv, { stdio: ["ignore", "pipe", "ignore"] });
  return await new Promise<number>((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => (q.kill("SIGKILL"), reject(new Error("bare QEMU: no marker in 120 s"))), 120_000);
    q.stdout!.on("data", (b: Buffer) => {
      text += b.toString("latin1");
      if (text.includes("bootlab-init: ready")) {
        const dt = performance.now() - t0;
        clearTimeout(timer);
        q.kill("SIGKILL");
        q.on("exit", () => resolve(dt));
      }
    });
  });
}

async function viaBootlab(target: Target): Promise<number> {
  const g = globalThis as { bootlabBenchMarkerAt?: number };
  g.bootlabBenchMarkerAt = undefined;
  const t0 = performance.now();
  const r = await runOne(bench!, target.name, fixtures, out.path);
  if (r.status !== "passed" || g.bootlabBenchMarkerAt === undefined) throw new Error(r.failure?.report() ?? "no marker");
  return g.bootlabBenchMarkerAt - t0;
}

console.log(`bench/boot-overhead: ${runs} runs per side per target, alternating; time from start to "bootlab-init: ready"`);
const rows: string[] = [];
const only = process.env.BENCH_TARGETS?.split(",");
for (const target of [...loadCatalogue().values()].filter((t) => !only || only.includes(t.name))) {
  const kernel = await fixtures.directBootKernel(target);
  const shipped = (await fixtures.kernel(target)).image;
  const initrd = await fixtures.initramfs(target);
  const b: number[] = [], l: number[] = [], s: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Alternate which side goes first so drift (page cache, thermal) does not favour one.
    if (i % 2 === 0) {
      b.push(await bare(target, kernel, initrd));
      l.push(await viaBootlab(target));
    } else {
      l.push(await viaBootlab(target));
      b.push(await bare(target, kernel, initrd));
    }
    // Where the kernel is booted unpacked (guest.kernel.directBoot), bare QEMU with Debian's file as shipped too:
    // what the unpacking saves.
    if (shipped !== kernel) s.push(await bare(target, shipped, initrd));
  }
  const ratio = median(l) / median(b);
  const unpacked = s.length ? `   (bare QEMU, kernel as shipped ${seconds(median(s))}: unpacked / shipped ${(median(b) / median(s)).toFixed(3)})` : "";
  const row = `${target.name.padEnd(13)} bare QEMU ${seconds(median(b))}   bootlab ${seconds(median(l))}   ratio ${ratio.toFixed(3)} (${((ratio - 1) * 100).toFixed(1)} %)${unpacked}`;
  rows.push(row);
  console.log(row);
}
out.remove();
