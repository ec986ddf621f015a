// bench/tftp-throughput: bootlab's TFTP server (host UDP, in this process) against tftpd-hpa (in.tftpd,
// started here in the foreground on a loopback high port), both serving the same 64 MB file to curl at
// blksize 1428, alternating, several runs; then atftp with windowsize 16 (RFC 7440), which tftpd-hpa 5.2
// ignores (it answers lock-step). All traffic stays on 127.0.0.1.
// Usage: node --import tsx bench/tftp-throughput.ts [RUNS]   (needs curl, atftp, tftpd-hpa)

import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { HostUdpNetwork } from "../harness/net/host-udp.ts";
import { TftpServer } from "../harness/services/tftp/server.ts";
import { describeTransfer } from "../harness/services/tftp/transfer.ts";
import { tempDir } from "../test/helpers.ts";
import { median, seconds } from "./stats.ts";

const HOST = "127.0.0.1";
const SIZE = 64 * 1024 * 1024;
const runs = Number(process.argv[2] ?? 5);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`bench/tftp-throughput: RUNS must be a positive integer, not "${process.argv[2]}"`);

function run(argv: string[]): Promise<{ ms: number; code: number | null; err: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr!.on("data", (b: Buffer) => (err += b.toString()));
    p.on("error", (e) => reject(new Error(`${argv[0]} could not run: ${e.message} (apt-get install curl atftp tftpd-hpa)`)));
    p.on("close", (code) => resolve({ ms: performance.now() - t0, code, err }));
  });
}

async function freePort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((ok) => s.bind(0, HOST, ok));
  const port = s.address().port;
  await new Promise<void>((ok) => s.close(ok));
  return port;
}

async function fetchOk(argv: string[], what: string): Promise<number> {
  const r = await run(argv);
  if (r.code !== 0) throw new Error(`${what}: \`${argv.join(" ")}\` failed (exit ${r.code}): ${r.err.trim()}`);
  return r.ms;
}

const dir = tempDir("bootlab-bench-tftp-");
let tftpd: ChildProcess | undefined;
let server: TftpServer | undefined;
try {
  // tftpd-hpa drops to its own user when started as root: the folder must be readable by it.
  chmodSync(dir.path, 0o755);
  const data = randomBytes(SIZE);
  writeFileSync(join(dir.path, "big.bin"), data);
  const want = createHash("sha256").update(data).digest("hex");

  server = await TftpServer.start({ network: new HostUdpNetwork({ host: HOST }), port: 0, root: dir.path });
  const hpaPort = await freePort();
  const user = process.getuid?.() === 0 ? [] : ["-u", userInfo().username];
  tftpd = spawn("in.tftpd", ["-L", "-s", dir.path, "-a", `${HOST}:${hpaPort}`, ...user], { stdio: ["ignore", "ignore", "pipe"] });
  let tftpdErr = "";
  tftpd.stderr!.on("data", (b: Buffer) => (tftpdErr += b.toString()));
  tftpd.on("error", (e) => (tftpdErr += `in.tftpd could not run: ${e.message} (apt-get install tftpd-hpa)`));
  await new Promise((r) => setTimeout(r, 300));
  if (tftpd.exitCode !== null || tftpdErr.includes("could not run")) throw new Error(`tftpd-hpa did not start: ${tftpdErr.trim()}`);

  const servers = { bootlab: server.port, "tftpd-hpa": hpaPort } as const;
  const curl = (port: number, out = "/dev/null") => ["curl", "-sS", "--tftp-blksize", "1428", "-o", out, `tftp://${HOST}:${port}/big.bin`];
  const atftp = (port: number) => ["atftp", "--option", "blksize 1428", "--option", "windowsize 16", "-g", "-r", "big.bin", "-l", "/dev/null", HOST, String(port)];

  // Both serve the same bytes (checked once, outside the timed runs).
  for (const [name, port] of Object.entries(servers)) {
    const out = join(dir.path, `check-${name}.bin`);
    await fetchOk(curl(port, out), `check ${name}`);
    const got = createHash("sha256").update(readFileSync(out)).digest("hex");
    rmSync(out);
    if (got !== want) throw new Error(`${name} served different bytes (sha256 ${got}, want ${want})`);
  }

  console.log(`bench/tftp-throughput: 64 MiB file, ${runs} runs per side, alternating, 127.0.0.1`);
  for (const [label, argv] of [["curl blksize 1428", curl], ["atftp blksize 1428 windowsize 16", atftp]] as const) {
    const times: Record<keyof typeof servers, number[]> = { bootlab: [], "tftpd-hpa": [] };
    for (let i = 0; i < runs; i++) {
      // Alternate which side goes first so drift (page cache, CPU frequency) favours neither.
      const order = i % 2 === 0 ? (["bootlab", "tftpd-hpa"] as const) : (["tftpd-hpa", "bootlab"] as const);
      for (const name of order) times[name].push(await fetchOk(argv(servers[name]), `${label} from ${name}`));
    }
    const b = median(times.bootlab), h = median(times["tftpd-hpa"]);
    const rate = (ms: number) => `${(SIZE / 1048576 / (ms / 1000)).toFixed(1)} MiB/s`;
    console.log(`${label.padEnd(34)} bootlab ${seconds(b)} (${rate(b)})   tftpd-hpa ${seconds(h)} (${rate(h)})   ratio bootlab/tftpd-hpa ${(b / h).toFixed(2)}`);
  }
  const last = server.log.at(-1);
  if (last) console.log(`last bootlab transfer: ${describeTransfer(last)}`);
  console.log("(tftpd-hpa 5.2 does not implement windowsize: it answers atftp's windowsize 16 lock-step)");
} finally {
  tftpd?.kill("SIGTERM");
  await server?.close();
  dir.remove();
}
