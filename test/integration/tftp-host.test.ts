// bootlab's TFTP server on real host UDP (127.0.0.1, a free high port), fetched by real Debian clients:
// curl, atftp and tftp-hpa's tftp. Needs the Debian packages curl, atftp and tftp-hpa.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DatagramNetwork, DatagramSocket, Endpoint } from "../../harness/net/datagram.ts";
import { HostUdpNetwork } from "../../harness/net/host-udp.ts";
import { decodePacket, encodePacket, type TftpPacket } from "../../harness/services/tftp/packets.ts";
import { TftpServer } from "../../harness/services/tftp/server.ts";
import { describeTransfer, type TransferLog } from "../../harness/services/tftp/transfer.ts";
import { projectRoot } from "../../harness/paths.ts";
import { tempDir, waitFor } from "../helpers.ts";

const HOST = "127.0.0.1";
const dir = tempDir("bootlab-tftp-");
const root = join(dir.path, "root");
const outside = join(dir.path, "outside");
const got = join(dir.path, "got");
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const shaFile = (p: string) => sha(readFileSync(p));
const content = new Map<string, Uint8Array>();
let server: TftpServer;

function put(name: string, data: Uint8Array): void {
  writeFileSync(join(root, name), data);
  content.set(name, data);
}

interface Ran {
  code: number | null;
  out: string;
}

/** Runs a client with a deadline; its stdout and stderr together, as a person would read them. */
function run(argv: string[], timeoutMs = 30_000, cwd = got): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0]!, argv.slice(1), { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    p.stderr!.on("data", (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("error", (e) => (clearTimeout(timer), reject(new Error(`${argv[0]} could not run (${e.message}); install the Debian package curl, atftp or tftp-hpa`))));
    p.on("close", (code) => (clearTimeout(timer), resolve({ code, out })));
  });
}

const url = (name: string, port = server.port) => `tftp://${HOST}:${port}/${name}`;
const lastLog = (file: string, s = server): TransferLog => s.log.filter((l) => l.file === file).at(-1) ?? assert.fail(`no transfer of ${file} in the log`);

before(async () => {
  for (const d of [root, outside, got, join(root, "sub")]) mkdirSync(d, { recursive: true });
  put("small.bin", randomBytes(3000));
  put("mid.bin", randomBytes(1_000_000));
  put("lossy.bin", randomBytes(300_000));
  put("big40.bin", randomBytes(40 * 1024 * 1024));
  put("sub/inner.bin", randomBytes(700));
  put("text.txt", new TextEncoder().encode("line one\nline two\r\nbare\rcr\n"));
  writeFileSync(join(outside, "secret"), "not for TFTP clients\n");
  symlinkSync(join(outside, "secret"), join(root, "escape"));
  symlinkSync(outside, join(root, "escape-dir"));
  symlinkSync("sub", join(root, "alias"));
  server = await TftpServer.start({
    network: new HostUdpNetwork({ host: HOST }),
    port: 0,
    root,
    files: (name, client) => (name === "hello.txt" ? new TextEncoder().encode(`hello ${client.address}\n`) : undefined),
  });
});

after(async () => {
  await server?.close();
  dir.remove();
});

test("tftp host: curl fetches byte-exact with its default options, with --tftp-blksize 1428, and with no options", async () => {
  for (const [args, blksize] of [[[], 512], [["--tftp-blksize", "1428"], 1428], [["--tftp-no-options"], 512]] as const) {
    const r = await run(["curl", "-sS", ...args, "-o", "c.bin", url("mid.bin")]);
    assert.equal(r.code, 0, r.out);
    assert.equal(shaFile(join(got, "c.bin")), sha(content.get("mid.bin")!));
    const log = lastLog("mid.bin");
    assert.equal(log.outcome, "ok", describeTransfer(log));
    assert.equal(log.blksize, blksize);
    assert.equal(log.tsize, args[0] === "--tftp-no-options" ? undefined : 1_000_000);
  }
});

test("tftp host: atftp fetches with blksize 1428, tsize and windowsize 8", async () => {
  const r = await run(["atftp", "--option", "blksize 1428", "--option", "tsize enable", "--option", "windowsize 8",
    "-g", "-r", "mid.bin", "-l", "a.bin", HOST, String(server.port)]);
  assert.equal(r.code, 0, r.out);
  assert.equal(shaFile(join(got, "a.bin")), sha(content.get("mid.bin")!));
  const log = lastLog("mid.bin");
  assert.deepEqual([log.blksize, log.windowsize, log.tsize, log.outcome], [1428, 8, 1_000_000, "ok"], describeTransfer(log));
});

test("tftp host: tftp-hpa's client fetches in octet mode, and in netascii mode gets the text back unchanged", async () => {
  let r = await run(["tftp", "-m", "binary", HOST, String(server.port), "-c", "get", "small.bin", "h.bin"]);
  assert.equal(r.code, 0, r.out);
  assert.equal(shaFile(join(got, "h.bin")), sha(content.get("small.bin")!));
  r = await run(["tftp", "-m", "netascii", HOST, String(server.port), "-c", "get", "text.txt", "t.txt"]);
  assert.equal(r.code, 0, r.out);
  assert.equal(readFileSync(join(got, "t.txt"), "utf8"), new TextDecoder().decode(content.get("text.txt")));
  assert.equal(lastLog("text.txt").mode, "netascii");
});

test("tftp host: a 40 MB file at blksize 512 crosses block 65535 and arrives whole (curl lock-step, atftp windowsize 16)", async () => {
  const want = sha(content.get("big40.bin")!);
  const [c, a] = await Promise.all([
    run(["curl", "-sS", "--tftp-blksize", "512", "-o", "big-c.bin", url("big40.bin")], 60_000),
    run(["atftp", "--option", "blksize 512", "--option", "windowsize 16", "-g", "-r", "big40.bin", "-l", "big-a.bin", HOST, String(server.port)], 60_000),
  ]);
  assert.equal(c.code, 0, c.out);
  assert.equal(a.code, 0, a.out);
  assert.equal(shaFile(join(got, "big-c.bin")), want);
  assert.equal(shaFile(join(got, "big-a.bin")), want);
  const logs = server.log.filter((l) => l.file === "big40.bin");
  assert.equal(logs.length, 2);
  for (const l of logs) assert.deepEqual([l.outcome, l.blocks, l.blksize], ["ok", 81_921, 512], describeTransfer(l));
});

test("tftp host: a missing file is error 1 \"File not found\", as each client reports it", async () => {
  const c = await run(["curl", "-v", "-o", "m", url("missing.bin")]);
  assert.equal(c.code, 68, c.out); // CURLE_TFTP_NOTFOUND
  assert.match(c.out, /TFTP error: File not found/);
  const h = await run(["tftp", HOST, String(server.port), "-c", "get", "missing.bin", "m"]);
  assert.match(h.out, /Error code 1: File not found/);
  const a = await run(["atftp", "-g", "-r", "missing.bin", "-l", "m", HOST, String(server.port)]);
  assert.notEqual(a.code, 0);
  assert.match(a.out, /error received from server <File not found>/);
  const log = lastLog("missing.bin");
  assert.equal(log.outcome, "refused");
  assert.match(log.detail!, /missing\.bin does not exist/);
});

test("tftp host: \"../etc/passwd\" and symlinks out of the root are error 2 \"Access violation\"", async () => {
  const c = await run(["curl", "-v", "--path-as-is", "-o", "p", url("../etc/passwd")]);
  assert.equal(c.code, 69, c.out); // CURLE_TFTP_PERM
  assert.match(c.out, /TFTP error: Access violation/);
  const h = await run(["tftp", HOST, String(server.port), "-c", "get", "../etc/passwd", "p"]);
  assert.match(h.out, /Error code 2: Access violation/);
  const a = await run(["atftp", "-g", "-r", "sub/../../etc/passwd", "-l", "p", HOST, String(server.port)]);
  assert.match(a.out, /error received from server <Access violation>/);
  for (const name of ["escape", "escape-dir/secret", "escape-dir/nothing-here"]) {
    const r = await run(["curl", "-sS", "-o", "p", url(name)]);
    assert.equal(r.code, 69, `${name}: ${r.out}`);
    assert.match(lastLog(name).detail!, /outside the root/);
  }
  assert.equal(server.log.filter((l) => l.error?.code === 2).length, 6);
});

test("tftp host: an absolute name is looked up under the root; a symlink that stays inside the root is followed", async () => {
  const h = await run(["tftp", "-m", "binary", HOST, String(server.port), "-c", "get", "/small.bin", "abs.bin"]);
  assert.equal(h.code, 0, h.out);
  assert.equal(shaFile(join(got, "abs.bin")), sha(content.get("small.bin")!));
  const c = await run(["curl", "-sS", "-o", "alias.bin", url("alias/inner.bin")]);
  assert.equal(c.code, 0, c.out);
  assert.equal(shaFile(join(got, "alias.bin")), sha(content.get("sub/inner.bin")!));
});

test("tftp host: a generated file is made per request for the asking client", async () => {
  const c = await run(["curl", "-sS", url("hello.txt")]);
  assert.equal(c.out, `hello ${HOST}\n`);
});

test("tftp host: uploads are refused with error 2 unless the server allows writing", async () => {
  writeFileSync(join(got, "up.bin"), randomBytes(5000));
  const c = await run(["curl", "-sS", "-T", "up.bin", url("up.bin")]);
  assert.equal(c.code, 69, c.out);
  assert.match(lastLog("up.bin").detail!, /uploads are not enabled/);
});

test("tftp host: with writing on, curl, tftp-hpa and atftp upload byte-exact into the root, and not outside it", async () => {
  const w = await TftpServer.start({ network: new HostUdpNetwork(), port: 0, root, write: true, transfer: { dallyMs: 200 } });
  try {
    const data = randomBytes(70_000);
    writeFileSync(join(got, "up.bin"), data);
    const port = String(w.port);
    assert.equal((await run(["curl", "-sS", "--tftp-blksize", "1428", "-T", "up.bin", url("uploads/curl.bin", w.port)])).code, 0);
    assert.equal((await run(["tftp", "-m", "binary", HOST, port, "-c", "put", "up.bin", "uploads/hpa.bin"])).code, 0);
    assert.equal((await run(["atftp", "-p", "-l", "up.bin", "-r", "uploads/atftp.bin", HOST, port])).code, 0);
    for (const f of ["curl", "hpa", "atftp"]) assert.equal(shaFile(join(root, `uploads/${f}.bin`)), sha(data), f);
    const bad = await run(["curl", "-sS", "-T", "up.bin", url("escape-dir/planted", w.port)]);
    assert.equal(bad.code, 69, bad.out);
    assert.match(w.log.at(-1)!.detail!, /outside the root/);
    assert.ok(await waitFor(() => w.active().length === 0, 2000));
  } finally {
    await w.close();
  }
});

// A network that loses and duplicates datagrams in both directions, from a seeded PRNG (mulberry32).
// `spare` exempts some datagrams from both faults.
class LossyNetwork implements DatagramNetwork {
  dropped = 0;
  duplicated = 0;
  #inner: DatagramNetwork;
  #loss: number;
  #dup: number;
  #seed: number;
  #spare: (data: Uint8Array) => boolean;

  constructor(inner: DatagramNetwork, seed: number, loss: number, dup: number, spare: (data: Uint8Array) => boolean = () => false) {
    this.#inner = inner;
    this.#seed = seed;
    this.#loss = loss;
    this.#dup = dup;
    this.#spare = spare;
  }

  #rand(): number {
    let t = (this.#seed = (this.#seed + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  #pass(data: Uint8Array, deliver: () => void): void {
    if (this.#spare(data)) return deliver();
    if (this.#rand() < this.#loss) {
      this.dropped++;
      return;
    }
    deliver();
    if (this.#rand() < this.#dup) (this.duplicated++, deliver());
  }

  async bind(port: number): Promise<DatagramSocket> {
    const s = await this.#inner.bind(port);
    return {
      port: s.port,
      send: (to: Endpoint, data: Uint8Array) => this.#pass(data, () => s.send(to, data)),
      onMessage: (h: (data: Uint8Array, from: Endpoint) => void) => s.onMessage((d, from) => this.#pass(d, () => h(d, from))),
      close: () => s.close(),
    };
  }
}

async function lossyFetch(client: "curl" | "atftp", spare?: (data: Uint8Array) => boolean): Promise<void> {
  const net = new LossyNetwork(new HostUdpNetwork(), 0xb007, 0.1, 0.1, spare);
  // A short first retransmit keeps the test quick on loopback; the loss is what is under test.
  const s = await TftpServer.start({ network: net, port: 0, root, transfer: { initialRetransmitMs: 20 } });
  try {
    const out = `lossy-${client}.bin`;
    const r = client === "curl"
      ? await run(["curl", "-sS", "--tftp-blksize", "1428", "-o", out, url("lossy.bin", s.port)], 60_000)
      : await run(["atftp", "--option", "blksize 1428", "--option", "windowsize 8", "-g", "-r", "lossy.bin", "-l", out, HOST, String(s.port)], 60_000);
    assert.equal(r.code, 0, r.out);
    assert.equal(shaFile(join(got, out)), sha(content.get("lossy.bin")!));
    // If the client's last ACK was lost the transfer is still retransmitting its last block (the client has
    // left: TFTP cannot tell), so look at it among the active ones too.
    const logs = [...s.log, ...s.active()].filter((l) => l.file === "lossy.bin");
    assert.equal(logs.length, 1, logs.map(describeTransfer).join("\n"));
    assert.ok(logs[0]!.retransmits > 0, describeTransfer(logs[0]!));
    assert.ok(logs[0]!.outcome === "ok" || s.active().length === 1, describeTransfer(logs[0]!));
    assert.ok(net.dropped > 5 && net.duplicated > 5, `dropped ${net.dropped}, duplicated ${net.duplicated}`);
  } finally {
    await s.close();
  }
}

test("tftp host: under 10% seeded loss and 10% duplication of datagrams both ways, curl gets every byte", async () => {
  await lossyFetch("curl");
});

test("tftp host: under the same loss and duplication, atftp with windowsize 8 gets every byte", async () => {
  // atftp 0.8.0 aborts when the OACK arrives twice ("tftp: unexpected OACK"), which our retransmit after a
  // lost ACK 0 causes — as tftpd-hpa's would. So the option exchange is spared; every DATA and ACK is not.
  await lossyFetch("atftp", (d) => d[1] === 6 || (d[1] === 4 && d[2] === 0 && d[3] === 0));
});

/** A hand-driven client on a real UDP socket, for what no packaged client does on purpose. */
async function rawClient(): Promise<{ port: number; send(port: number, p: TftpPacket): void; next(ms?: number): Promise<{ p: TftpPacket | string; from: number }>; close(): void }> {
  const sock = createSocket("udp4");
  const queue: { p: TftpPacket | string; from: number }[] = [];
  let wake: (() => void) | undefined;
  sock.on("message", (m: Buffer, r: { port: number }) => {
    queue.push({ p: decodePacket(new Uint8Array(m)), from: r.port });
    wake?.();
  });
  await new Promise<void>((ok) => sock.bind(0, HOST, ok));
  return {
    port: sock.address().port,
    send: (port, p) => sock.send(encodePacket(p), port, HOST),
    next: async (ms = 2000) => {
      const end = Date.now() + ms;
      while (queue.length === 0 && Date.now() < end) await new Promise<void>((r) => ((wake = r), setTimeout(r, 20)));
      return queue.shift() ?? assert.fail(`nothing received in ${ms} ms`);
    },
    close: () => sock.close(),
  };
}

test("tftp host: a repeated RRQ starts one transfer; a stranger writing to its port gets error 5 and the transfer goes on", async () => {
  const c = await rawClient();
  const stranger = await rawClient();
  try {
    const dup = server.stats.duplicateRequests;
    const rrq: TftpPacket = { op: "RRQ", filename: "small.bin", mode: "octet", options: [] };
    c.send(server.port, rrq);
    c.send(server.port, rrq);
    const first = await c.next();
    assert.deepEqual([typeof first.p !== "string" && first.p.op, typeof first.p !== "string" && first.p.op === "DATA" && first.p.block], ["DATA", 1]);
    const tid = first.from;
    stranger.send(tid, { op: "ACK", block: 1 });
    assert.deepEqual((await stranger.next()).p, { op: "ERROR", code: 5, message: "Unknown transfer ID" });
    const received: number[] = [1];
    c.send(tid, { op: "ACK", block: 1 });
    for (let b = 2; b <= 6; b++) {
      const m = await c.next();
      assert.equal(m.from, tid);
      assert.ok(typeof m.p !== "string" && m.p.op === "DATA");
      received.push(m.p.block);
      c.send(tid, { op: "ACK", block: m.p.block });
    }
    assert.deepEqual(received, [1, 2, 3, 4, 5, 6]);
    assert.ok(await waitFor(() => lastLog("small.bin").client.port === c.port, 2000));
    assert.equal(lastLog("small.bin").outcome, "ok");
    assert.equal(server.stats.duplicateRequests, dup + 1);
    assert.deepEqual(server.requests.filter((r) => r.client.port === c.port).map((r) => `${r.op} ${r.file} ${r.result}`),
      ["RRQ small.bin started", "RRQ small.bin duplicate"]);
    assert.equal(server.stats.strangers, 1);
  } finally {
    c.close();
    stranger.close();
  }
});

test("tftp host: a malformed request is answered with error 4 saying what is wrong with it", async () => {
  const sock = createSocket("udp4");
  try {
    await new Promise<void>((ok) => sock.bind(0, HOST, ok));
    const reply = new Promise<Uint8Array>((ok) => sock.once("message", (m: Buffer) => ok(new Uint8Array(m))));
    // An RRQ cut short: the mode lost its terminating NUL.
    sock.send(new TextEncoder().encode("\0\u0001small.bin\0oct"), server.port, HOST);
    assert.deepEqual(decodePacket(await reply), {
      op: "ERROR", code: 4, message: "Illegal TFTP operation: RRQ: the last field (3 bytes) has no terminating NUL",
    });
    assert.equal(server.requests.at(-1)!.result, "error");
  } finally {
    sock.close();
  }
});

test("tftp host: close() ends a transfer in progress with ERROR 0 to its client and leaves nothing running", async () => {
  const s = await TftpServer.start({ network: new HostUdpNetwork(), port: 0, root });
  const c = await rawClient();
  try {
    c.send(s.port, { op: "RRQ", filename: "mid.bin", mode: "octet", options: [] });
    const d = await c.next();
    assert.ok(typeof d.p !== "string" && d.p.op === "DATA");
    assert.equal(s.active().length, 1);
    await s.close();
    assert.deepEqual((await c.next()).p, { op: "ERROR", code: 0, message: "Server shutting down" });
    assert.equal(s.active().length, 0);
    assert.equal(s.log.at(-1)!.outcome, "aborted");
    // The transfer's port is closed: an ACK to it draws no DATA.
    c.send(d.from, { op: "ACK", block: 1 });
    await new Promise((r) => setTimeout(r, 300));
    await assert.rejects(c.next(100), /nothing received/);
  } finally {
    c.close();
    await s.close();
  }
});

test("tftp host: `serve tftp` serves a folder until SIGINT, one log line per transfer, and says what is wrong with bad arguments", async () => {
  const probe = createSocket("udp4");
  await new Promise<void>((ok) => probe.bind(0, HOST, ok));
  const port = probe.address().port;
  probe.close();
  const serveTs = join(projectRoot, "harness/services/tftp/serve.ts");
  const code = (argv: string[]) => `import(${JSON.stringify(serveTs)}).then((m) => m.serveTftp(${JSON.stringify(argv)})).then(async (c) => (await import("node:process")).default.exit(c))`;
  const isDeno = "Deno" in globalThis;
  const argvFor = (argv: string[]) => isDeno ? [process.execPath, "eval", code(argv)] : [process.execPath, "--import", "tsx", "-e", code(argv)];

  const bad = await run(argvFor(["--root", join(dir.path, "nope")]), 30_000, projectRoot);
  assert.equal(bad.code, 2);
  assert.match(bad.out, /--root .*nope: no such folder/);

  const child = spawn(argvFor([])[0]!, argvFor(["--root", root, "--port", String(port)]).slice(1), { cwd: projectRoot, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => child.on("close", (c) => r(c)));
  try {
    assert.ok(await waitFor(() => out.includes("serving"), 15_000), out);
    assert.match(out, new RegExp(`serving .* on 127\\.0\\.0\\.1:${port} \\(read-only\\)`));
    const r = await run(["curl", "-sS", "-o", "serve.bin", url("small.bin", port)]);
    assert.equal(r.code, 0, r.out);
    assert.equal(shaFile(join(got, "serve.bin")), sha(content.get("small.bin")!));
    assert.ok(await waitFor(() => /read  "small\.bin" → 127\.0\.0\.1:\d+ .* ok\n/.test(out), 2000), out);
  } finally {
    // process.kill, not child.kill: after child.kill Deno reports the exit as "killed by SIGINT" even when
    // the child handled the signal and exited 0.
    process.kill(child.pid!, "SIGINT");
  }
  assert.equal(await exited, 0, out);
  assert.match(out, /SIGINT: stopped \(1 transfers served\)/);
});
