// bootlab's NBD server on host TCP (127.0.0.1, a free port) used by QEMU's own NBD client: qemu-img, qemu-io
// and qemu-nbd -L from the Debian package qemu-utils. No emulator runs; nothing listens beyond 127.0.0.1.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import {
  CMD,
  encodeClientFlags,
  encodeInfoRequest,
  encodeOption,
  encodeRequest,
  NBD_ERR,
  OPT,
  REP,
  ServerStreamDecoder,
  type ServerMessage,
} from "../../harness/services/nbd/protocol.ts";
import { listenNbdOnHost, type HostNbdListener } from "../../harness/services/nbd/host-tcp.ts";
import { describeSession, NbdServer, type NbdSessionLog } from "../../harness/services/nbd/server.ts";
import { tempDir } from "../helpers.ts";

const HOST = "127.0.0.1";
const MiB = 1024 * 1024;
const dir = tempDir("bootlab-nbd-");
const file = (name: string) => join(dir.path, name);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const shaFile = (p: string) => sha(readFileSync(p));
let image: Buffer;
let server: NbdServer;
let listener: HostNbdListener;

interface Ran {
  code: number | null;
  out: string;
}

/** Runs a QEMU tool with a deadline; stdout and stderr together, as a person would read them. */
function run(argv: string[], timeoutMs = 30_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0]!, argv.slice(1), { cwd: dir.path, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    p.stderr!.on("data", (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("error", (e) => (clearTimeout(timer), reject(new Error(`${argv[0]} could not run (${e.message}); install the Debian package qemu-utils`))));
    p.on("close", (code) => (clearTimeout(timer), resolve({ code, out })));
  });
}

const url = (name: string) => `nbd://${HOST}:${listener.port}/${name}`;
/** Sessions that started after `mark` (an index into server.sessions). */
const since = (mark: number): NbdSessionLog[] => server.sessions.slice(mark);
const logs = (ss: NbdSessionLog[]) => ss.map(describeSession).join("\n");

before(async () => {
  image = randomBytes(16 * MiB);
  for (const f of ["disk.img", "rw.img", "cow.img"]) writeFileSync(file(f), image);
  server = new NbdServer();
  server.addFile("disk", file("disk.img"), { description: "16 MiB of random bytes, read-only" });
  server.addFile("rw", file("rw.img"), { mode: "read-write" });
  server.addFile("cow", file("cow.img"), { mode: "copy-on-write" });
  listener = await listenNbdOnHost(server, 0, HOST);
});

after(async () => {
  await listener?.close();
  await server?.close();
  dir.remove();
});

test("nbd host: qemu-img info sees a 16 MiB raw export through NBD_OPT_GO", async () => {
  const mark = server.sessions.length;
  const r = await run(["qemu-img", "info", url("disk")]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /virtual size: 16 MiB \(16777216 bytes\)/);
  const [s] = since(mark);
  assert.ok(s, "no session was logged");
  assert.deepEqual([s.export, s.via, s.outcome, s.errors.length], ["disk", "GO", "disconnected", 0], logs(since(mark)));
  assert.deepEqual(s.options.map((o) => `${o.option}:${o.reply}`), ["STRUCTURED_REPLY:ERR_UNSUP", "GO:ACK"]);
});

test("nbd host: qemu-img convert reads the whole 16 MiB image byte-exact (sha256)", async () => {
  const mark = server.sessions.length;
  const r = await run(["qemu-img", "convert", "-f", "raw", "-O", "raw", url("disk"), file("out.img")]);
  assert.equal(r.code, 0, r.out);
  assert.equal(shaFile(file("out.img")), sha(image));
  const ss = since(mark);
  assert.ok(ss.every((s) => s.outcome === "disconnected" && s.errors.length === 0), logs(ss));
  assert.ok(ss.reduce((n, s) => n + s.readBytes, 0) >= 16 * MiB, logs(ss));
  assert.equal(ss.reduce((n, s) => n + s.writes, 0), 0);
});

test("nbd host: qemu-io writes 64 KiB of 0xab into a read-write export; the file changes and a second client reads it back", async () => {
  const mark = server.sessions.length;
  const w = await run(["qemu-io", "-f", "raw", "-c", "write -P 0xab 0 64k", url("rw")]);
  assert.equal(w.code, 0, w.out);
  assert.match(w.out, /wrote 65536\/65536 bytes at offset 0/);
  const r = await run(["qemu-io", "-f", "raw", "-c", "read -P 0xab 0 64k", url("rw")]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /read 65536\/65536 bytes at offset 0/);
  assert.doesNotMatch(r.out, /Pattern verification failed/);
  const after = readFileSync(file("rw.img"));
  assert.ok(after.subarray(0, 64 * 1024).every((b) => b === 0xab));
  assert.ok(after.subarray(64 * 1024).equals(image.subarray(64 * 1024)), "nothing else changed");
  const [writer] = since(mark);
  assert.deepEqual([writer?.writes, writer?.writeBytes, writer?.errors.length], [1, 64 * 1024, 0], logs(since(mark)));
});

test("nbd host: a copy-on-write export shows qemu-io's write to later clients and leaves the backing file unchanged", async () => {
  const w = await run(["qemu-io", "-f", "raw", "-c", "write -P 0xab 0 64k", url("cow")]);
  assert.equal(w.code, 0, w.out);
  const c = await run(["qemu-img", "convert", "-f", "raw", "-O", "raw", url("cow"), file("cow-out.img")]);
  assert.equal(c.code, 0, c.out);
  const want = Buffer.from(image);
  want.fill(0xab, 0, 64 * 1024);
  assert.equal(shaFile(file("cow-out.img")), sha(want));
  assert.equal(shaFile(file("cow.img")), sha(image), "the backing file is unchanged");
  assert.equal(server.export("cow")!.overlayBytes(), 64 * 1024);
});

test("nbd host: a read-only export refuses writes — qemu-io at open (READ_ONLY flag), and a WRITE sent anyway gets EPERM", async () => {
  const mark = server.sessions.length;
  const w = await run(["qemu-io", "-f", "raw", "-c", "write -P 0xab 0 64k", url("disk")]);
  assert.notEqual(w.code, 0, w.out);
  assert.match(w.out, /Permission denied/);
  // A client that ignores the flag, over the same TCP listener.
  const got = await rawSession(encodeClientFlags(), encodeOption(OPT.GO, encodeInfoRequest("disk")),
    encodeRequest({ command: CMD.WRITE, cookie: 7n, offset: 0, length: 4096 }, new Uint8Array(4096).fill(0xab)),
    encodeRequest({ command: CMD.DISC, cookie: 8n, offset: 0, length: 0 }));
  const reply = got.find((m): m is Extract<ServerMessage, { type: "reply" }> => m.type === "reply");
  assert.deepEqual([reply?.cookie, reply?.error], [7n, NBD_ERR.EPERM]);
  assert.equal(shaFile(file("disk.img")), sha(image));
  const ss = since(mark);
  assert.deepEqual(ss.map((s) => s.writes), [0, 0], logs(ss));
  assert.deepEqual(ss[1]!.errors.map((e) => e.error), ["EPERM"]);
});

test("nbd host: an unknown export is refused, and qemu-img prints the server's reason", async () => {
  const r = await run(["qemu-img", "info", url("nope")]);
  assert.notEqual(r.code, 0);
  assert.match(r.out, /Requested export not available\s+server reported: no export named "nope"; this server has "disk", "rw", "cow"/);
});

test("nbd host: qemu-nbd -L lists the exports with their sizes, flags and descriptions", async () => {
  const r = await run(["qemu-nbd", "-L", "-b", HOST, "-p", String(listener.port)]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /exports available: 3/);
  assert.match(r.out, /export: 'disk'\n\s+description: 16 MiB of random bytes, read-only\n\s+size:\s+16777216\n\s+flags: 0x7 \( readonly flush \)/);
  assert.match(r.out, /export: 'rw'\n\s+size:\s+16777216\n\s+flags: 0x2d \( flush fua trim \)/);
});

test("nbd host: after the clients leave, no session is left running", async () => {
  // A client may exit as soon as it has read the server's last reply (qemu-nbd -L after NBD_OPT_ABORT's ACK):
  // the server sees the close a moment later. Give the sessions a bounded moment to end, then assert.
  for (let waited = 0; server.active().length > 0 && waited < 5000; waited += 20) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(server.active(), []);
});

/** Sends the client bytes one option or request at a time as replies come, and returns the server's messages. */
function rawSession(...parts: Uint8Array[]): Promise<ServerMessage[]> {
  return new Promise((resolve, reject) => {
    const sock = connect(listener.port, HOST);
    const d = new ServerStreamDecoder();
    const got: ServerMessage[] = [];
    const timer = setTimeout(() => sock.destroy(new Error("raw NBD session timed out")), 10_000);
    sock.on("data", (b: Buffer) => {
      d.push(Uint8Array.from(b));
      for (let m = d.next(); m !== undefined; m = d.next()) {
        if (typeof m === "string") return sock.destroy(new Error(m));
        got.push(m);
        if (m.type === "greeting") sock.write(Buffer.concat([parts[0]!, parts[1]!]));
        if (m.type === "option-reply" && m.reply === REP.ACK) {
          d.phase = "transmission";
          for (const p of parts.slice(2)) sock.write(p);
        }
      }
    });
    sock.on("error", (e) => (clearTimeout(timer), reject(e)));
    sock.on("close", () => (clearTimeout(timer), resolve(got)));
  });
}
