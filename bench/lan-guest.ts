// bench/lan-guest: a guest fetches the same 32 MB file over the lab LAN and over QEMU's slirp
// (`-netdev user,tftp=`, and a host HTTP server reached at 10.0.2.2), with busybox tftp (blksize 1428,
// slirp's cap) and busybox wget; alternating, several runs; medians and ratios lab / slirp.
// Usage: npm run bench:lan [-- RUNS]   (BENCH_TARGETS=virt-arm64,malta-mipsel to choose targets)

import { createServer } from "node:http";
import { createReadStream, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { Fixtures } from "../harness/fixtures/fixtures.ts";
import { loadScenarios, runOne } from "../harness/scenario/runner.ts";
import { projectRoot } from "../harness/paths.ts";
import { seededBytes } from "../harness/lan/faults.ts";
import { median, seconds } from "./stats.ts";
import { tempDir } from "../test/helpers.ts";

const runs = Number(process.argv[2] ?? 3);
const dir = tempDir("bootlab-bench-lan-");
const tftpRoot = join(dir.path, "tftp");
mkdirSync(tftpRoot);
const blobPath = join(tftpRoot, "blob.bin");
writeFileSync(blobPath, seededBytes(5, 32 << 20));
// slirp's baseline HTTP server: plain node:http on the host's loopback.
const http = createServer((_req, res) => {
  res.writeHead(200, { "Content-Length": statSync(blobPath).size });
  createReadStream(blobPath).pipe(res);
});
await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
Object.assign(process.env, {
  BENCH_BLOB: blobPath, BENCH_TFTP_ROOT: tftpRoot, BENCH_HTTP_PORT: String((http.address() as AddressInfo).port),
});

const [s] = await loadScenarios([join(projectRoot, "bench/scenarios/guest-fetch.ts")]);
const fixtures = new Fixtures();
const only = process.env.BENCH_TARGETS?.split(",");
const targets = s!.targets.map((t) => t.name).filter((t) => !only || only.includes(t));

async function once(target: string, net: "lab" | "slirp"): Promise<{ tftp: number; wget: number }> {
  process.env.BENCH_NET = net;
  const r = await runOne(s!, target, fixtures, join(dir.path, "out"));
  if (r.status !== "passed") throw new Error(r.failure?.report());
  const ms = (name: string) => {
    const st = r.steps.find((x) => x.name === name)!;
    return st.endMs! - st.startMs;
  };
  return { tftp: ms("tftp 32 MB"), wget: ms("wget 32 MB") };
}

console.log(`bench/lan-guest: 32 MB per fetch, ${runs} runs per side, alternating (lab LAN vs QEMU slirp)`);
for (const t of targets) {
  const lab: { tftp: number; wget: number }[] = [], slirp: typeof lab = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) { lab.push(await once(t, "lab")); slirp.push(await once(t, "slirp")); }
    else { slirp.push(await once(t, "slirp")); lab.push(await once(t, "lab")); }
  }
  for (const k of ["tftp", "wget"] as const) {
    const l = median(lab.map((x) => x[k])), b = median(slirp.map((x) => x[k]));
    console.log(`${t.padEnd(13)} ${k}  lab ${seconds(l)} (${(32 / (l / 1000)).toFixed(1)} MB/s)   slirp ${seconds(b)} (${(32 / (b / 1000)).toFixed(1)} MB/s)   ratio lab/slirp ${(l / b).toFixed(2)}`);
  }
}
http.close();
dir.remove();
