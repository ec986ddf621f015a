// bench/frame-echo: where a lock-step round trip through the lab LAN goes. One guest (bare QEMU, the
// target's kernel and initramfs, serial on stdio) has three NICs and pings, in turn:
//   slirp      QEMU's own user-mode network (its gateway 10.0.2.2 answers inside QEMU);
//   responder  a minimal responder in this process on a stream socket, as the lab's switch port listens:
//              it answers ARP and ICMP echo by swapping bytes and nothing else — the floor of a frame's
//              trip between QEMU and another process (QEMU's main loop, the socket, node's event loop);
//   dgram      the same responder on UDP (QEMU's -netdev dgram, one frame per datagram): is the stream
//              netdev's framing or its read path part of the cost?
//   lab        the lab LAN's server host, on the same kind of socket: switch, capture (lan.pcap), fault
//              engine, the lab host's ARP/IPv4/ICMP.
// Then the lab's JavaScript alone: one of the guest's own echo requests, as captured, replayed into a
// fresh lab LAN from an in-process port, lock-step (no sockets, no QEMU): its CPU time per round trip.
// busybox ping -A sends the next request as soon as the reply is back: lock-step, like U-Boot's TFTP.
// Prints per target and payload size the median round trip of each, and the two differences that
// split the lab's cost: responder - slirp (the process hop) and lab - responder (the lab's own work).
// Usage: npm run bench:echo [-- ROUNDS [COUNT]]   (BENCH_TARGETS=malta-mipsel,… to choose targets)

import { spawn } from "node:child_process";
import { createServer, type Socket } from "node:net";
import { createSocket } from "node:dgram";
import { join } from "node:path";
import { Fixtures } from "../harness/fixtures/fixtures.ts";
import { loadCatalogue, type Target } from "../harness/targets/catalogue.ts";
import { kernelCommandLine } from "../harness/machine/qemu-args.ts";
import { FrameStream, frameForStream } from "../harness/lan/frame-stream.ts";
import { LabLan } from "../harness/lab/lan.ts";
import { Owner } from "../harness/lifecycle/owner.ts";
import { median } from "./stats.ts";
import { tempDir } from "../test/helpers.ts";

const rounds = Number(process.argv[2] ?? 5);
const count = Number(process.argv[3] ?? 500);
const SIZES = [56, 1400];

const RESPONDER_MAC = Uint8Array.of(0x52, 0x54, 0x00, 0xee, 0x00, 0x01);
const RESPONDER_IPS = [Uint8Array.of(10, 9, 0, 1), Uint8Array.of(10, 8, 0, 1)];
const PATHS = [
  { name: "slirp", mac: "52:54:00:12:34:01", guestIp: "10.0.2.15/24", peer: "10.0.2.2" },
  { name: "responder", mac: "52:54:00:12:34:02", guestIp: "10.9.0.2/24", peer: "10.9.0.1" },
  { name: "dgram", mac: "52:54:00:12:34:04", guestIp: "10.8.0.2/24", peer: "10.8.0.1" },
  { name: "lab", mac: "52:54:00:12:34:03", guestIp: "192.168.1.20/24", peer: "192.168.1.10" },
] as const;

const sameBytes = (a: Uint8Array, off: number, b: Uint8Array) => b.every((x, i) => a[off + i] === x);

/**
 * The minimal responder's whole work on a frame: an ARP request for its address gets the reply, an ICMP
 * echo request to it gets the echo reply (addresses swapped, type 0, checksum adjusted); anything else, nothing.
 */
export function echoReply(f: Uint8Array): Uint8Array | undefined {
  if (f.length < 42) return undefined;
  const type = (f[12]! << 8) | f[13]!;
  const RESPONDER_IP = RESPONDER_IPS.find((ip) => sameBytes(f, type === 0x0806 ? 38 : 30, ip));
  if (!RESPONDER_IP) return undefined;
  if (type === 0x0806 && f[21] === 1) {
    const r = f.slice(0, 42);
    r.set(f.subarray(6, 12), 0);
    r.set(RESPONDER_MAC, 6);
    r[21] = 2;
    r.set(RESPONDER_MAC, 22);
    r.set(RESPONDER_IP, 28);
    r.set(f.subarray(22, 28), 32);
    r.set(f.subarray(28, 32), 38);
    return r;
  }
  const ihl = (f[14]! & 0x0f) * 4;
  if (type !== 0x0800 || f[23] !== 1 || f[14 + ihl] !== 8) return undefined;
  const r = f.slice();
  r.set(f.subarray(6, 12), 0);
  r.set(RESPONDER_MAC, 6);
  r.set(f.subarray(26, 30), 30);
  r.set(RESPONDER_IP, 26);
  const icmp = 14 + ihl;
  r[icmp] = 0;
  // RFC 1624: type 8 -> 0 adds 0x0800 to the one's-complement checksum.
  let sum = ((r[icmp + 2]! << 8) | r[icmp + 3]!) + 0x0800;
  sum = (sum & 0xffff) + (sum >>> 16);
  r[icmp + 2] = sum >> 8;
  r[icmp + 3] = sum & 0xff;
  return r;
}

/** Listens on `path` for QEMU's stream netdev and answers with echoReply; returns the closer. */
async function responder(path: string): Promise<() => Promise<void>> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    const frames = new FrameStream();
    s.on("data", (b: Buffer) => {
      for (const f of frames.push(new Uint8Array(b.buffer, b.byteOffset, b.length))) {
        const r = echoReply(f);
        if (r) s.write(frameForStream(r));
      }
    });
    s.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(path, () => r()));
  return () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); });
}

/** One captured frame replayed lock-step through a fresh lab LAN from an in-process port: µs per round trip. */
async function labJsRoundTrip(request: Uint8Array, n: number, dir: string): Promise<number> {
  const owner = new Owner("bench-echo-js");
  try {
    const lan = await LabLan.create({ owner, artifacts: dir, seed: "bench-echo-js", opts: {} });
    let replied: (() => void) | undefined;
    const isEchoReply = (f: Uint8Array) => f[12] === 0x08 && f[13] === 0 && f[23] === 1 && f[14 + (f[14]! & 0x0f) * 4] === 0;
    const port = lan.segment.addHostPort("guest", (f) => { if (isEchoReply(f)) replied?.(); });
    const once = () => new Promise<void>((r) => { replied = r; port.send(request.slice()); });
    for (let i = 0; i < 1000; i++) await once();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await once();
    return ((performance.now() - t0) * 1000) / n;
  } finally {
    await owner.close();
  }
}

/** The responder on UDP: QEMU's dgram netdev sends each frame as one datagram from `qemuPort`. */
async function dgramResponder(): Promise<{ port: number; qemuPort: number; close: () => Promise<void> }> {
  const sock = createSocket("udp4");
  sock.on("message", (b: Buffer, from) => {
    const r = echoReply(new Uint8Array(b.buffer, b.byteOffset, b.length));
    if (r) sock.send(r, from.port, from.address);
  });
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  // A free port for QEMU's end: bound and released (QEMU binds it a moment later).
  const probe = createSocket("udp4");
  await new Promise<void>((r) => probe.bind(0, "127.0.0.1", () => r()));
  const qemuPort = probe.address().port;
  await new Promise<void>((r) => probe.close(() => r()));
  return { port: sock.address().port, qemuPort, close: () => new Promise<void>((r) => sock.close(() => r())) };
}

/** A guest on the serial console: types a command, resolves with its output once its marker is printed. */
class Guest {
  #out = "";
  #n = 0;
  #proc: ReturnType<typeof spawn>;
  constructor(proc: ReturnType<typeof spawn>) {
    this.#proc = proc;
    proc.stdout!.on("data", (b: Buffer) => { this.#out += b.toString("latin1"); });
  }
  async waitFor(text: string, ms: number): Promise<string> {
    const t0 = Date.now();
    while (!this.#out.includes(text)) {
      if (Date.now() - t0 > ms) throw new Error(`guest: no "${text}" in ${ms} ms; last output:\n${this.#out.slice(-600)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const at = this.#out.indexOf(text);
    const before = this.#out.slice(0, at);
    this.#out = this.#out.slice(at + text.length);
    return before;
  }
  async run(cmd: string, ms = 120_000): Promise<string> {
    const marker = `BENCH-${++this.#n}-DONE`;
    this.#proc.stdin!.write(`${cmd}; echo ${marker.slice(0, 6)}""${marker.slice(6)}$?\n`);
    const out = await this.waitFor(marker, ms);
    const status = /^(\d+)/.exec(this.#out)?.[1];
    if (status !== "0") throw new Error(`guest: \`${cmd}\` failed (${status}):\n${out.slice(-600)}`);
    return out;
  }
}

async function benchTarget(target: Target, fixtures: Fixtures, dir: string): Promise<void> {
  const kernel = await fixtures.directBootKernel(target);
  const initrd = await fixtures.initramfs(target, { modules: target.machine.nic.linuxModules });
  const owner = new Owner(`bench-echo-${target.name}`);
  const responderSock = join(dir, `${target.name}-responder.sock`);
  const labSock = join(dir, `${target.name}-lab.sock`);
  const stopResponder = await responder(responderSock);
  owner.adopt("responder", stopResponder);
  const udp = await dgramResponder();
  owner.adopt("dgram responder", udp.close);
  const lan = await LabLan.create({ owner, artifacts: dir, seed: "bench-echo", opts: {} });
  await lan.segment.addSocketPort("guest", labSock);
  const t = target.machine.qemu;
  const nics = [
    ["-netdev", "user,id=n0"],
    ["-netdev", `stream,id=n1,server=off,addr.type=unix,addr.path=${responderSock}`],
    ["-netdev", `dgram,id=n2,local.type=inet,local.host=127.0.0.1,local.port=${udp.qemuPort},remote.type=inet,remote.host=127.0.0.1,remote.port=${udp.port}`],
    ["-netdev", `stream,id=n3,server=off,addr.type=unix,addr.path=${labSock}`],
  ].flatMap((nd, i) => [...nd, "-device", `${target.machine.nic.device},netdev=n${i},mac=${PATHS[i]!.mac}`]);
  const q = spawn(t.binary, ["-M", t.machine, ...(t.cpu ? ["-cpu", t.cpu] : []), "-m", String(t.memoryMiB), "-nodefaults", "-no-user-config",
    "-display", "none", "-serial", "stdio", ...nics, "-kernel", kernel, "-initrd", initrd, "-append", kernelCommandLine(target, {})], { stdio: ["pipe", "pipe", "inherit"] });
  owner.adopt("qemu", () => new Promise<void>((r) => { if (q.exitCode !== null) r(); else { q.once("exit", () => r()); q.kill("SIGKILL"); } }));
  try {
    const g = new Guest(q);
    await g.waitFor("bootlab-init: ready", 120_000);
    await g.run(`for m in ${target.machine.nic.linuxModules.join(" ")}; do modprobe $m; done; dmesg -n 1`);
    const setup = PATHS.map((p) => `${p.mac}) ip addr add ${p.guestIp} dev $n;;`).join(" ");
    await g.run(`for d in /sys/class/net/eth*; do n=\${d##*/}; case $(cat $d/address) in ${setup} esac; ip link set $n up; done`);
    for (const p of PATHS) await g.run(`ping -c 3 -W 5 ${p.peer} >/dev/null`);
    for (const size of SIZES) {
      const rtts = new Map<string, number[]>(PATHS.map((p) => [p.name, []]));
      const mins = new Map<string, number[]>(PATHS.map((p) => [p.name, []]));
      for (let i = 0; i < rounds; i++) {
        const order = i % 2 === 0 ? PATHS : [...PATHS].reverse();
        for (const p of order) {
          const out = await g.run(`ping -A -q -c ${count} -s ${size} ${p.peer}`);
          const m = /min\/avg\/max = ([\d.]+)\/([\d.]+)\//.exec(out);
          if (!m) throw new Error(`ping ${p.peer}: no round-trip line:\n${out.slice(-400)}`);
          rtts.get(p.name)!.push(Number(m[2]) * 1000);
          mins.get(p.name)!.push(Number(m[1]) * 1000);
        }
      }
      const med = Object.fromEntries([...rtts].map(([n, xs]) => [n, median(xs)])) as Record<(typeof PATHS)[number]["name"], number>;
      const request = lan.frames.find((e) => e.port === "guest" && e.frame.length === 14 + 20 + 8 + size && e.frame[23] === 1 && e.frame[34] === 8)?.frame;
      const js = request ? await labJsRoundTrip(request, 20_000, dir) : NaN;
      console.log(`${target.name.padEnd(13)} ${String(size).padStart(4)} B   slirp ${med.slirp.toFixed(0)} µs   responder ${med.responder.toFixed(0)} µs   dgram ${med.dgram.toFixed(0)} µs   lab ${med.lab.toFixed(0)} µs`
        + `   process hop ${(med.responder - med.slirp).toFixed(0)} µs   lab's own ${(med.lab - med.responder).toFixed(0)} µs (its JavaScript ${js.toFixed(0)} µs)   lab/slirp ${(med.lab / med.slirp).toFixed(2)}`
        + `   (fastest: ${PATHS.map((p) => `${p.name} ${Math.min(...mins.get(p.name)!).toFixed(0)}`).join(", ")} µs)`);
    }
  } finally {
    await owner.close();
  }
}

console.log(`bench/frame-echo: busybox ping -A, ${count} round trips per measurement, ${rounds} rounds alternating; median of the guest's average round trip`);
const fixtures = new Fixtures();
const only = process.env.BENCH_TARGETS?.split(",");
const dir = tempDir("bootlab-bench-echo-");
try {
  for (const target of [...loadCatalogue().values()].filter((t) => !only || only.includes(t.name))) await benchTarget(target, fixtures, dir.path);
} finally {
  dir.remove();
}
