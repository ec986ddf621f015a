// bench/netboot: the U-Boot TFTP-to-RAM flow (seed 000) from power-on to the first userspace line, on
// each target, through the lab LAN and through QEMU's slirp (`-netdev user,tftp=`), alternating, several
// runs; medians and ratios lab / slirp. On the ARM targets the lab also runs with U-Boot's
// tftpwindowsize 16 (slirp ignores windowsize; malta's U-Boot fails with it, see recipes.md).
// Usage: npm run bench:netboot [-- RUNS]   (BENCH_TARGETS=virt-arm64,… to choose targets)

import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { Fixtures } from "../harness/fixtures/fixtures.ts";
import { loadScenarios, runOne } from "../harness/scenario/runner.ts";
import { projectRoot } from "../harness/paths.ts";
import { median, seconds } from "./stats.ts";
import { tempDir } from "../test/helpers.ts";

const runs = Number(process.argv[2] ?? 3);
const dir = tempDir("bootlab-bench-netboot-");
const root = join(dir.path, "tftp");
mkdirSync(root);
const [s] = await loadScenarios([join(projectRoot, "bench/scenarios/uboot-netboot.ts")]);
const fixtures = new Fixtures();
const only = process.env.BENCH_TARGETS?.split(",");
const targets = s!.targets.filter((t) => !only || only.includes(t.name));
for (const t of targets) {
  copyFileSync((await fixtures.bootloaderKernel(t)).path, join(root, `kernel-${t.name}`));
  copyFileSync(await fixtures.initramfs(t), join(root, `initramfs-${t.name}.cpio.gz`));
}
Object.assign(process.env, { BENCH_TFTP_ROOT: root });

/** Power-on to the first userspace line, in ms, read from the run's own step timeline. */
async function once(target: string, net: "lab" | "slirp", window = 1): Promise<number> {
  Object.assign(process.env, { BENCH_NET: net, BENCH_WINDOW: String(window) });
  const r = await runOne(s!, target, fixtures, join(dir.path, "out"));
  if (r.status !== "passed") throw new Error(r.failure?.report());
  const on = r.steps.find((x) => x.name.startsWith("power on"))!;
  const user = r.steps.find((x) => x.name === "first userspace line")!;
  return user.endMs! - on.startMs;
}

console.log(`bench/netboot: power-on → U-Boot tftpboot kernel + initramfs → first userspace line; ${runs} runs per side, alternating`);
for (const t of targets) {
  const variants: [string, "lab" | "slirp", number][] = [["slirp", "slirp", 1], ["lab", "lab", 1]];
  if (t.firmware.uboot?.kernel.format !== "uImage") variants.push(["lab ws16", "lab", 16]);
  const times = new Map<string, number[]>(variants.map(([n]) => [n, []]));
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? variants : [...variants].reverse();
    for (const [name, net, w] of order) times.get(name)!.push(await once(t.name, net, w));
  }
  const base = median(times.get("slirp")!);
  const line = [...times].map(([n, xs]) => `${n} ${seconds(median(xs))}${n === "slirp" ? "" : ` (ratio ${(median(xs) / base).toFixed(2)})`}`);
  console.log(`${t.name.padEnd(13)} ${line.join("   ")}`);
}
dir.remove();
