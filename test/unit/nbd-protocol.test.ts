import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Duplex } from "node:stream";
import {
  ClientStreamDecoder,
  CMD,
  CMD_FLAG,
  decodeInfoReply,
  decodeInfoRequest,
  decodeServerEntry,
  describeClientMessage,
  encodeClientFlags,
  encodeGreeting,
  encodeInfoBlockSize,
  encodeInfoExport,
  encodeInfoRequest,
  encodeOption,
  encodeOptionReply,
  encodeRequest,
  encodeServerEntry,
  INFO,
  NBD_ERR,
  OPT,
  REP,
  ServerStreamDecoder,
  TRANSMISSION_FLAG,
  type ClientMessage,
  type OptionReplyMessage,
  type ServerMessage,
} from "../../harness/services/nbd/protocol.ts";
import { describeSession, NbdServer, type NbdExportOptions } from "../../harness/services/nbd/server.ts";
import { tempDir } from "../helpers.ts";

// Real exchanges of QEMU 7.2's NBD client (qemu-img, qemu-io, qemu-nbd -L) with qemu-nbd 7.2 and with
// bootlab's server, recorded by a proxy on 127.0.0.1 (see each file's header).
const DATA_DIR = new URL("../data/nbd/", import.meta.url);

interface Chunk {
  from: "c" | "s";
  bytes: Uint8Array;
}

function exchange(name: string): Chunk[] {
  return readFileSync(new URL(name, DATA_DIR), "utf8").split("\n").filter((l) => l && !l.startsWith("#")).map((l) => {
    const [from, hex] = l.split(" ");
    assert.ok((from === "c" || from === "s") && hex, `${name}: bad line ${l.slice(0, 40)}`);
    return { from, bytes: Uint8Array.from(Buffer.from(hex, "hex")) };
  });
}

const side = (x: Chunk[], from: "c" | "s") => x.filter((c) => c.from === from).map((c) => c.bytes);
const cat = (parts: Uint8Array[]) => Uint8Array.from(Buffer.concat(parts));
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const text = (s: string) => new TextEncoder().encode(s);
const MiB = 1024 * 1024;
const show = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? `${x}n` : x));

/** Decodes a client stream fed in the given pieces, entering transmission after NBD_OPT_GO as a server would. */
function decodeClientStream(pieces: Uint8Array[]): (ClientMessage | string)[] {
  const d = new ClientStreamDecoder();
  const out: (ClientMessage | string)[] = [];
  for (const p of pieces) {
    d.push(p);
    for (let m = d.next(); m !== undefined; m = d.next()) {
      out.push(m);
      if (typeof m === "string") return out;
      if (m.type === "option" && m.option === OPT.GO) d.phase = "transmission";
    }
  }
  return out;
}

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An in-memory connection: the test is the client; what the server writes is decoded as a client would. */
class Wire extends Duplex {
  readonly remoteAddress = "192.168.7.2";
  readonly remotePort = 40123;
  readonly decoder = new ServerStreamDecoder();
  readonly received: Uint8Array[] = [];
  serverEnded = false;
  #clientEnded = false;
  #wake: (() => void) | undefined;

  constructor() {
    super({ allowHalfOpen: true });
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.received.push(Uint8Array.from(chunk));
    this.decoder.push(Uint8Array.from(chunk));
    this.#poke();
    cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    // The server hung up; a real client closes its side too.
    this.serverEnded = true;
    cb();
    this.hangUp();
    this.#poke();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#poke();
    cb(err);
  }

  send(...parts: Uint8Array[]): void {
    for (const p of parts) this.push(Buffer.from(p));
  }

  hangUp(): void {
    if (this.#clientEnded) return;
    this.#clientEnded = true;
    this.push(null);
  }

  /** The server's next message; null once it has hung up with nothing more to decode. */
  async recv(): Promise<ServerMessage | string | null> {
    for (;;) {
      const m = this.decoder.next();
      if (m !== undefined) return m;
      if (this.serverEnded || this.destroyed) return null;
      await new Promise<void>((r) => (this.#wake = r));
    }
  }

  async reply(): Promise<OptionReplyMessage> {
    const m = await this.recv();
    assert.ok(m && typeof m !== "string" && m.type === "option-reply", `expected an option reply, got ${show(m)}`);
    return m;
  }

  #poke(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
}

function serverWith(exports: Record<string, [Uint8Array, NbdExportOptions?]>): NbdServer {
  const s = new NbdServer({ lingerMs: 200 });
  for (const [name, [data, opts]] of Object.entries(exports)) s.addBytes(name, data, opts);
  return s;
}

/** Greeting, client flags (fixed newstyle, no zeroes), NBD_OPT_GO; leaves the wire in transmission. */
async function go(wire: Wire, name: string): Promise<{ size: bigint; flags: number }> {
  const g = await wire.recv();
  assert.equal((g as { type: string }).type, "greeting");
  wire.send(encodeClientFlags(), encodeOption(OPT.GO, encodeInfoRequest(name)));
  const info = decodeInfoReply((await wire.reply()).data);
  assert.ok(typeof info !== "string" && info.info === "EXPORT", show(info));
  assert.equal((await wire.reply()).reply, REP.ACK);
  wire.decoder.phase = "transmission";
  return { size: info.size, flags: info.flags };
}

let cookies = 1n;

async function request(wire: Wire, r: { command: number; offset: number | bigint; length: number; flags?: number }, data?: Uint8Array) {
  const cookie = cookies++;
  if (r.command === CMD.READ) wire.decoder.expectRead(cookie, r.length);
  wire.send(encodeRequest({ ...r, cookie }, data));
  const m = await wire.recv();
  assert.ok(m && typeof m !== "string" && m.type === "reply", `expected a reply, got ${show(m)}`);
  assert.equal(m.cookie, cookie);
  return m;
}

// ————— protocol: real bytes —————

test("nbd protocol: the greeting is byte for byte what qemu-nbd 7.2 sends: NBDMAGIC, IHAVEOPT, FIXED_NEWSTYLE | NO_ZEROES", () => {
  const first = exchange("exchange-qemu-img-7.2-info-qemu-nbd-7.2.hex")[0]!;
  assert.equal(first.from, "s");
  assert.equal(hex(encodeGreeting()), hex(first.bytes));
  assert.equal(Buffer.from(first.bytes.subarray(0, 16)).toString("latin1"), "NBDMAGICIHAVEOPT");
});

test("nbd protocol: decodes qemu-img 7.2's first bytes: flags FIXED_NEWSTYLE | NO_ZEROES, STRUCTURED_REPLY, SET_META_CONTEXT base:allocation, GO \"tiny\" asking BLOCK_SIZE, READ 512 at 0, DISC", () => {
  const msgs = decodeClientStream([cat(side(exchange("exchange-qemu-img-7.2-info-qemu-nbd-7.2.hex"), "c"))]);
  assert.deepEqual(msgs.map(describeClientMessage), [
    "client flags 0x3",
    "option STRUCTURED_REPLY (0 bytes)",
    "option SET_META_CONTEXT (31 bytes)",
    "option GO (12 bytes)",
    "request READ offset 0 length 512 cookie 0x55f484993e70",
    "request DISC offset 0 length 0 cookie 0x0",
  ]);
  const meta = msgs[2] as { data: Uint8Array };
  assert.match(Buffer.from(meta.data).toString("latin1"), /tiny.*base:allocation$/s);
  assert.deepEqual(decodeInfoRequest((msgs[3] as { data: Uint8Array }).data), { name: "tiny", requests: [INFO.BLOCK_SIZE] });
});

test("nbd protocol: qemu-img's client stream decodes the same one byte at a time and split in two at every byte", () => {
  for (const name of ["exchange-qemu-img-7.2-info-qemu-nbd-7.2.hex", "exchange-qemu-io-7.2-write-bootlab.hex"]) {
    const whole = cat(side(exchange(name), "c"));
    const want = decodeClientStream([whole]);
    assert.ok(want.every((m) => typeof m !== "string"), `${name}: ${want.map((m) => describeClientMessage(m)).join(", ")}`);
    assert.deepEqual(decodeClientStream(Array.from(whole, (b) => Uint8Array.of(b))), want, `${name}: one byte at a time`);
    for (let i = 0; i <= whole.length; i++) {
      assert.deepEqual(decodeClientStream([whole.subarray(0, i), whole.subarray(i)]), want, `${name}: split at byte ${i}`);
    }
  }
});

test("nbd protocol: the encoders reproduce qemu's client bytes and qemu-nbd's replies exactly", () => {
  const info = exchange("exchange-qemu-img-7.2-info-qemu-nbd-7.2.hex");
  const [flagsAndSr, , go, read, disc] = side(info, "c");
  const [, srAck, , goReplies] = side(info, "s");
  assert.equal(hex(cat([encodeClientFlags(), encodeOption(OPT.STRUCTURED_REPLY)])), hex(flagsAndSr!));
  assert.equal(hex(encodeOption(OPT.GO, encodeInfoRequest("tiny", [INFO.BLOCK_SIZE]))), hex(go!));
  assert.equal(hex(encodeRequest({ command: CMD.READ, cookie: 0x55f484993e70n, offset: 0, length: 512 })), hex(read!));
  assert.equal(hex(encodeRequest({ command: CMD.DISC, cookie: 0n, offset: 0, length: 0 })), hex(disc!));
  assert.equal(hex(encodeOptionReply(OPT.STRUCTURED_REPLY, REP.ACK)), hex(srAck!));
  assert.equal(hex(cat([
    encodeOptionReply(OPT.GO, REP.INFO, encodeInfoBlockSize(1, 4096, 32 * MiB)),
    encodeOptionReply(OPT.GO, REP.INFO, encodeInfoExport(MiB, 0x0ced)),
    encodeOptionReply(OPT.GO, REP.ACK),
  ])), hex(goReplies!));
  const list = exchange("exchange-qemu-nbd-7.2-list-qemu-nbd-7.2.hex");
  assert.equal(hex(encodeOption(OPT.LIST)), hex(side(list, "c")[1]!));
  assert.equal(hex(cat([encodeOptionReply(OPT.LIST, REP.SERVER, encodeServerEntry("tiny")), encodeOptionReply(OPT.LIST, REP.ACK)])), hex(side(list, "s")[2]!));
  const write = side(exchange("exchange-qemu-io-7.2-write-bootlab.hex"), "c")[2]!;
  assert.equal(hex(encodeRequest({ flags: CMD_FLAG.FUA, command: CMD.WRITE, cookie: 0x5620179050b0n, offset: 512, length: 512 }, new Uint8Array(512).fill(0xab))), hex(write));
});

test("nbd protocol: decodes qemu-nbd 7.2's answers as a client would, and calls its structured READ reply an error (never negotiated here)", () => {
  const d = new ServerStreamDecoder();
  d.push(cat(side(exchange("exchange-qemu-img-7.2-info-qemu-nbd-7.2.hex"), "s")));
  const msgs: (ServerMessage | string)[] = [];
  for (let m = d.next(); m !== undefined && typeof m !== "string"; m = d.next()) {
    msgs.push(m);
    if (m.type === "option-reply" && m.option === OPT.GO && m.reply === REP.ACK) d.phase = "transmission";
  }
  const replies = msgs.filter((m): m is OptionReplyMessage => typeof m !== "string" && m.type === "option-reply");
  assert.deepEqual(replies.map((r) => [r.option, r.reply]), [
    [OPT.STRUCTURED_REPLY, REP.ACK], [OPT.SET_META_CONTEXT, REP.META_CONTEXT], [OPT.SET_META_CONTEXT, REP.ACK],
    [OPT.GO, REP.INFO], [OPT.GO, REP.INFO], [OPT.GO, REP.ACK],
  ]);
  assert.deepEqual(decodeInfoReply(replies[3]!.data), { info: "BLOCK_SIZE", minimum: 1, preferred: 4096, maximum: 32 * MiB });
  assert.deepEqual(decodeInfoReply(replies[4]!.data), { info: "EXPORT", size: BigInt(MiB), flags: 0x0ced });
  assert.match(d.next() as string, /structured reply chunk, but structured replies were never negotiated/);
  const list = new ServerStreamDecoder();
  list.push(cat(side(exchange("exchange-qemu-nbd-7.2-list-qemu-nbd-7.2.hex"), "s").slice(0, 3)));
  list.next(); // greeting
  list.next(); // STRUCTURED_REPLY's ACK
  assert.deepEqual(decodeServerEntry((list.next() as OptionReplyMessage).data), { name: "tiny", description: "" });
});

// ————— protocol: garbage and lies —————

test("nbd protocol: garbage is an error at the first wrong byte, and stays one", () => {
  const d = new ClientStreamDecoder();
  d.push(encodeClientFlags());
  assert.equal((d.next() as ClientMessage).type, "client-flags");
  d.push(text("GET / HTTP/1.1\r\n"));
  const e = d.next();
  assert.match(e as string, /at byte 4: an option must start with "IHAVEOPT", got 0x474554/);
  assert.equal(d.next(), e);
  const partial = new ClientStreamDecoder();
  partial.phase = "transmission";
  partial.push(Uint8Array.of(0x25, 0x60, 0x95));
  assert.equal(partial.next(), undefined, "a valid prefix waits for more");
  partial.push(Uint8Array.of(0x14));
  assert.match(partial.next() as string, /a request must start with magic 0x25609513, got 0x25609514/);
  const ext = new ClientStreamDecoder();
  ext.phase = "transmission";
  ext.push(Uint8Array.of(0x21, 0xe4, 0x1c, 0x71));
  assert.match(ext.next() as string, /extended-header request/);
  const old = new ServerStreamDecoder();
  old.push(Uint8Array.from(Buffer.from("4e42444d41474943" + "00420281861253".padStart(16, "0"), "hex")));
  assert.match(old.next() as string, /oldstyle greeting/);
});

test("nbd protocol: random bytes and corrupted real streams, in any phase and any split, never throw", () => {
  const rnd = mulberry32(20260501);
  const real = cat(side(exchange("exchange-qemu-img-7.2-info-qemu-nbd-7.2.hex"), "c"));
  const realS = cat(side(exchange("exchange-qemu-img-7.2-info-qemu-nbd-7.2.hex"), "s"));
  const phasesC = ["client-flags", "options", "transmission"] as const;
  const phasesS = ["greeting", "option-replies", "export", "transmission"] as const;
  for (let i = 0; i < 3000; i++) {
    const base = i % 3 === 0 ? Uint8Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256)) : (i % 3 === 1 ? real : realS).slice();
    for (let k = Math.floor(rnd() * 4); k > 0 && base.length; k--) base[Math.floor(rnd() * base.length)] = Math.floor(rnd() * 256);
    const pieces: Uint8Array[] = [];
    for (let at = 0; at < base.length;) {
      const n = 1 + Math.floor(rnd() * 40);
      pieces.push(base.subarray(at, at + n));
      at += n;
    }
    const c = new ClientStreamDecoder({ maxPayloadBytes: 4096 });
    c.phase = phasesC[i % 3]!;
    const s = new ServerStreamDecoder({ maxPayloadBytes: 4096 });
    s.phase = phasesS[i % 4]!;
    s.noZeroes = rnd() < 0.5;
    s.expectRead(BigInt(Math.floor(rnd() * 4)), Math.floor(rnd() * 5000));
    for (const p of pieces) {
      c.push(p);
      s.push(p);
      for (let m = c.next(); m !== undefined && typeof m !== "string"; m = c.next()) {
        if (m.type === "option") decodeInfoRequest(m.data), decodeServerEntry(m.data), decodeInfoReply(m.data);
      }
      for (let m = s.next(); m !== undefined && typeof m !== "string"; m = s.next()) void m;
    }
    c.pending();
    s.pending();
  }
});

test("nbd protocol: a lying length — option data or WRITE payload of 4 GiB — is an error as soon as its header is in", () => {
  const d = new ClientStreamDecoder();
  d.push(encodeClientFlags());
  d.next();
  const huge = encodeOption(OPT.GO);
  huge.set([0xff, 0xff, 0xff, 0xff], 12);
  d.push(huge);
  assert.match(d.next() as string, /option GO announces 4294967295 bytes of data, over the 65536-byte limit/);
  const w = new ClientStreamDecoder({ maxPayloadBytes: MiB });
  w.phase = "transmission";
  w.push(encodeRequest({ command: CMD.WRITE, cookie: 1n, offset: 0, length: MiB + 1 }));
  assert.match(w.next() as string, /WRITE announces 1048577 bytes of payload, over the 1048576-byte limit/);
  // A READ's length is the server's business (EINVAL), not the stream's: no payload follows it.
  const r = new ClientStreamDecoder({ maxPayloadBytes: MiB });
  r.phase = "transmission";
  r.push(encodeRequest({ command: CMD.READ, cookie: 1n, offset: 0, length: 0xffffffff }));
  assert.equal((r.next() as { length: number }).length, 0xffffffff);
  const short = new ClientStreamDecoder();
  short.phase = "transmission";
  short.push(encodeRequest({ command: CMD.WRITE, cookie: 1n, offset: 0, length: 1000 }, new Uint8Array(1000)).subarray(0, 28 + 10));
  assert.equal(short.next(), undefined);
  assert.equal(short.pending(), "10 of the 1000 bytes of a WRITE payload");
});

test("nbd protocol: NBD_OPT_GO data whose name length or request count lies is malformed, not a crash", () => {
  const good = encodeInfoRequest("root", [INFO.BLOCK_SIZE, INFO.NAME]);
  assert.deepEqual(decodeInfoRequest(good), { name: "root", requests: [INFO.BLOCK_SIZE, INFO.NAME] });
  const longName = good.slice();
  longName.set([0, 0, 0, 200], 0);
  assert.match(decodeInfoRequest(longName) as string, /the name length 200 runs past the 14 bytes of option data/);
  const maxName = good.slice();
  maxName.set([0xff, 0xff, 0xff, 0xff], 0);
  assert.match(decodeInfoRequest(maxName) as string, /the name length 4294967295 runs past/);
  assert.match(decodeInfoRequest(good.subarray(0, good.length - 1)) as string, /2 information requests announced, 3 bytes of them sent/);
  assert.match(decodeInfoRequest(good.subarray(0, 5)) as string, /too short/);
  assert.match(decodeInfoRequest(Uint8Array.of(0, 0, 0, 2, 0xc3, 0x28, 0, 0)) as string, /not valid UTF-8/);
  assert.match(decodeInfoRequest(Uint8Array.of(0, 0, 0, 2, 0x61, 0, 0, 0)) as string, /contains a NUL/);
  assert.match(decodeServerEntry(Uint8Array.of(0, 0, 0, 9, 0x61)) as string, /runs past/);
});

// ————— the server over an in-memory connection —————

test("nbd server: answers QEMU 7.2's recorded sessions (qemu-img info, qemu-io write, qemu-nbd -L) byte for byte as recorded", async () => {
  for (const name of ["exchange-qemu-img-7.2-info-bootlab.hex", "exchange-qemu-io-7.2-write-bootlab.hex", "exchange-qemu-nbd-7.2-list-bootlab.hex"]) {
    const x = exchange(name);
    const server = serverWith({
      tiny: [new Uint8Array(MiB), { mode: "copy-on-write", description: "a tiny image" }],
      ro: [new Uint8Array(MiB)],
    });
    const wire = new Wire();
    const done = server.serve(wire);
    wire.send(...side(x, "c")); // all at once: the server must take them one message at a time
    await done;
    assert.equal(hex(cat(wire.received)), hex(cat(side(x, "s"))), name);
    const s = server.sessions[0]!;
    assert.equal(s.outcome, name.includes("list") ? "aborted" : "disconnected", describeSession(s));
    assert.equal(s.errors.length, 0);
    if (name.includes("write")) {
      assert.deepEqual([s.writes, s.writeBytes, s.flushes], [1, 512, 1]);
      assert.deepEqual(await server.export("tiny")!.read(510, 4), Uint8Array.of(0, 0, 0xab, 0xab));
    }
  }
});

test("nbd server: answers what qemu-img sends qemu-nbd too — STRUCTURED_REPLY and SET_META_CONTEXT get ERR_UNSUP, GO gets INFO and ACK, READ a simple reply", async () => {
  const image = Uint8Array.from({ length: MiB }, (_, i) => (i * 7) & 0xff);
  const server = serverWith({ tiny: [image] });
  const wire = new Wire();
  const done = server.serve(wire);
  wire.send(...side(exchange("exchange-qemu-img-7.2-info-qemu-nbd-7.2.hex"), "c"));
  wire.decoder.expectRead(0x55f484993e70n, 512);
  const got: ServerMessage[] = [];
  for (let m = await wire.recv(); m !== null; m = await wire.recv()) {
    assert.notEqual(typeof m, "string", String(m));
    got.push(m as ServerMessage);
    if ((m as OptionReplyMessage).option === OPT.GO && (m as OptionReplyMessage).reply === REP.ACK) wire.decoder.phase = "transmission";
  }
  await done;
  const replies = got.filter((m): m is OptionReplyMessage => m.type === "option-reply");
  assert.deepEqual(replies.map((r) => [r.option, r.reply]), [
    [OPT.STRUCTURED_REPLY, REP.ERR_UNSUP], [OPT.SET_META_CONTEXT, REP.ERR_UNSUP], [OPT.GO, REP.INFO], [OPT.GO, REP.INFO], [OPT.GO, REP.ACK],
  ]);
  assert.match(Buffer.from(replies[0]!.data).toString(), /does not support NBD_OPT_STRUCTURED_REPLY/);
  assert.deepEqual(decodeInfoReply(replies[2]!.data), { info: "EXPORT", size: BigInt(MiB), flags: TRANSMISSION_FLAG.HAS_FLAGS | TRANSMISSION_FLAG.READ_ONLY | TRANSMISSION_FLAG.SEND_FLUSH });
  assert.deepEqual(decodeInfoReply(replies[3]!.data), { info: "BLOCK_SIZE", minimum: 1, preferred: 4096, maximum: 32 * MiB });
  const read = got.at(-1)!;
  assert.ok(read.type === "reply" && read.error === 0);
  assert.deepEqual(read.data, image.subarray(0, 512));
  assert.deepEqual(server.sessions[0]!.options.map((o) => `${o.option}:${o.reply}`), ["STRUCTURED_REPLY:ERR_UNSUP", "SET_META_CONTEXT:ERR_UNSUP", "GO:ACK"]);
  assert.deepEqual(server.requests.map((r) => `${r.command} ${r.offset}+${r.length} ${r.result}`), ["READ 0+512 OK", "DISC 0+0 OK"]);
});

test("nbd server: STARTTLS, LIST_META_CONTEXT, EXTENDED_HEADERS and an unknown option 99 get ERR_UNSUP and the handshake goes on; LIST with data is ERR_INVALID", async () => {
  const server = serverWith({ a: [new Uint8Array(4096), { description: "first" }], b: [new Uint8Array(8192)] });
  const wire = new Wire();
  const done = server.serve(wire);
  await wire.recv();
  wire.send(encodeClientFlags());
  for (const opt of [OPT.STARTTLS, OPT.LIST_META_CONTEXT, OPT.EXTENDED_HEADERS, 99]) {
    wire.send(encodeOption(opt, opt === 99 ? text("whatever this is") : undefined));
    const r = await wire.reply();
    assert.deepEqual([r.option, r.reply], [opt, REP.ERR_UNSUP]);
  }
  wire.send(encodeOption(OPT.LIST, Uint8Array.of(1)));
  assert.equal((await wire.reply()).reply, REP.ERR_INVALID);
  wire.send(encodeOption(OPT.LIST));
  const entries = [await wire.reply(), await wire.reply()].map((r) => decodeServerEntry(r.data));
  assert.deepEqual(entries, [{ name: "a", description: "first" }, { name: "b", description: "" }]);
  assert.equal((await wire.reply()).reply, REP.ACK);
  wire.send(encodeOption(OPT.INFO, encodeInfoRequest("b", [INFO.NAME, INFO.DESCRIPTION, 77])));
  assert.deepEqual(decodeInfoReply((await wire.reply()).data), { info: "EXPORT", size: 8192n, flags: 0b111 });
  assert.deepEqual(decodeInfoReply((await wire.reply()).data), { info: "NAME", name: "b" });
  assert.equal((await wire.reply()).reply, REP.ACK, "no description for b, nothing for the unknown type 77");
  wire.send(encodeOption(OPT.ABORT));
  assert.deepEqual([(await wire.reply()).reply, await wire.recv()], [REP.ACK, null]);
  await done;
  assert.equal(server.sessions[0]!.outcome, "aborted");
  assert.equal(server.sessions[0]!.options.filter((o) => o.reply === "ERR_UNSUP").length, 4);
});

test("nbd server: NBD_OPT_EXPORT_NAME sends size and flags with 124 zeroes, or none when the client chose NO_ZEROES", async () => {
  for (const noZeroes of [false, true]) {
    const server = serverWith({ disk: [new Uint8Array(3 * 4096), { mode: "read-write" }] });
    const wire = new Wire();
    const done = server.serve(wire);
    await wire.recv();
    wire.send(encodeClientFlags(noZeroes ? 3 : 1), encodeOption(OPT.EXPORT_NAME, text("disk")));
    wire.decoder.phase = "export";
    wire.decoder.noZeroes = noZeroes;
    const e = await wire.recv();
    assert.deepEqual(e, { type: "export", size: 3n * 4096n, flags: 0b101101 });
    assert.equal(cat(wire.received).length, 18 + 10 + (noZeroes ? 0 : 124));
    assert.equal((await request(wire, { command: CMD.READ, offset: 0, length: 16 })).error, 0);
    wire.send(encodeRequest({ command: CMD.DISC, cookie: 0n, offset: 0, length: 0 }));
    await done;
    assert.deepEqual([server.sessions[0]!.via, server.sessions[0]!.outcome], ["EXPORT_NAME", "disconnected"]);
  }
});

test("nbd server: NBD_OPT_EXPORT_NAME of an unknown export hangs up (it has no error reply) and logs why; GO gets ERR_UNKNOWN", async () => {
  const server = serverWith({ disk: [new Uint8Array(4096)] });
  let wire = new Wire();
  let done = server.serve(wire);
  await wire.recv();
  wire.send(encodeClientFlags(), encodeOption(OPT.GO, encodeInfoRequest("nope")));
  const r = await wire.reply();
  assert.equal(r.reply, REP.ERR_UNKNOWN);
  assert.equal(Buffer.from(r.data).toString(), 'no export named "nope"; this server has "disk"');
  wire.send(encodeOption(OPT.EXPORT_NAME, text("nope")));
  assert.equal(await wire.recv(), null);
  await done;
  assert.deepEqual([server.sessions[0]!.outcome, server.sessions[0]!.detail], ["refused", 'no export named "nope"; this server has "disk"']);
  assert.deepEqual(server.sessions[0]!.options.map((o) => `${o.option}:${o.reply}:${o.export}`), ["GO:ERR_UNKNOWN:nope", "EXPORT_NAME:DISCONNECT:nope"]);
  // A file that vanished after it was registered: GO says so instead of failing later.
  const dir = tempDir("bootlab-nbd-");
  try {
    writeFileSync(join(dir.path, "gone.img"), new Uint8Array(4096));
    const s2 = new NbdServer({ lingerMs: 200 });
    s2.addFile("gone", join(dir.path, "gone.img"));
    rmSync(join(dir.path, "gone.img"));
    wire = new Wire();
    done = s2.serve(wire);
    await wire.recv();
    wire.send(encodeClientFlags(), encodeOption(OPT.GO, encodeInfoRequest("gone")));
    const g = await wire.reply();
    assert.equal(g.reply, REP.ERR_UNKNOWN);
    assert.match(Buffer.from(g.data).toString(), /cannot open .*gone\.img \(ENOENT\)/);
    wire.hangUp();
    await done;
    assert.equal(s2.sessions[0]!.outcome, "closed-by-client");
  } finally {
    dir.remove();
  }
});

test("nbd server: a read past the end is EINVAL with no data, and the session goes on", async () => {
  const image = Uint8Array.from({ length: 64 * 1024 }, (_, i) => i & 0xff);
  const server = serverWith({ disk: [image] });
  const wire = new Wire();
  const done = server.serve(wire);
  await go(wire, "disk");
  for (const [offset, length] of [[64 * 1024 - 512, 1024], [64 * 1024, 1], [2n ** 63n, 512], [0xffffffffffffffffn, 1]] as const) {
    const r = await request(wire, { command: CMD.READ, offset, length });
    assert.deepEqual([r.error, r.data], [NBD_ERR.EINVAL, undefined], `READ ${length} at ${offset}`);
  }
  const tooBig = await request(wire, { command: CMD.READ, offset: 0, length: 33 * MiB });
  assert.equal(tooBig.error, NBD_ERR.EINVAL);
  const ok = await request(wire, { command: CMD.READ, offset: 64 * 1024 - 512, length: 512 });
  assert.deepEqual([ok.error, ok.data], [0, image.subarray(64 * 1024 - 512)]);
  const empty = await request(wire, { command: CMD.READ, offset: 64 * 1024, length: 0 });
  assert.equal(empty.error, 0, "a zero-length read at the very end is inside the export");
  wire.send(encodeRequest({ command: CMD.DISC, cookie: 0n, offset: 0, length: 0 }));
  await done;
  const s = server.sessions[0]!;
  assert.deepEqual([s.reads, s.readBytes, s.errors.length, s.outcome], [2, 512, 5, "disconnected"]);
  assert.deepEqual(s.errors[0], {
    atMs: s.errors[0]!.atMs, command: "READ", offset: 64 * 1024 - 512, length: 1024, error: "EINVAL",
    detail: 'READ of 1024 bytes at offset 65024 ends past the end of export "disk" (65536 bytes)',
  });
});

test("nbd server: a write to a read-only export is EPERM, its payload is skipped and the next request understood; TRIM too", async () => {
  const image = new Uint8Array(8192).fill(0x11);
  const server = serverWith({ ro: [image] });
  const wire = new Wire();
  const done = server.serve(wire);
  const { flags } = await go(wire, "ro");
  assert.ok(flags & TRANSMISSION_FLAG.READ_ONLY);
  const w = await request(wire, { command: CMD.WRITE, offset: 0, length: 4096 }, new Uint8Array(4096).fill(0xab));
  assert.equal(w.error, NBD_ERR.EPERM);
  assert.equal((await request(wire, { command: CMD.TRIM, offset: 0, length: 4096 })).error, NBD_ERR.EPERM);
  const r = await request(wire, { command: CMD.READ, offset: 0, length: 4096 });
  assert.deepEqual([r.error, r.data], [0, new Uint8Array(4096).fill(0x11)]);
  assert.equal((await request(wire, { command: CMD.FLUSH, offset: 0, length: 0 })).error, 0);
  wire.hangUp();
  await done;
  assert.ok(image.every((b) => b === 0x11));
  const s = server.sessions[0]!;
  assert.deepEqual(s.errors.map((e) => `${e.command} ${e.error}: ${e.detail}`), [
    'WRITE EPERM: WRITE of 4096 bytes at offset 0: export "ro" is read-only',
    'TRIM EPERM: TRIM of 4096 bytes at offset 0: export "ro" is read-only',
  ]);
  assert.deepEqual([s.writes, s.reads, s.outcome], [0, 1, "closed-by-client"]);
});

test("nbd server: a write past the end is ENOSPC; commands and command flags it did not advertise are EINVAL", async () => {
  const image = new Uint8Array(8192);
  const server = serverWith({ rw: [image, { mode: "read-write" }] });
  const wire = new Wire();
  const done = server.serve(wire);
  await go(wire, "rw");
  assert.equal((await request(wire, { command: CMD.WRITE, offset: 8000, length: 512 }, new Uint8Array(512))).error, NBD_ERR.ENOSPC);
  assert.equal((await request(wire, { command: CMD.WRITE_ZEROES, offset: 0, length: 512 })).error, NBD_ERR.EINVAL);
  assert.equal((await request(wire, { command: CMD.BLOCK_STATUS, offset: 0, length: 512 })).error, NBD_ERR.EINVAL);
  assert.equal((await request(wire, { command: 200, offset: 0, length: 0 })).error, NBD_ERR.EINVAL);
  assert.equal((await request(wire, { command: CMD.READ, offset: 0, length: 512, flags: CMD_FLAG.DF })).error, NBD_ERR.EINVAL);
  assert.equal((await request(wire, { command: CMD.TRIM, offset: 0, length: 8192 })).error, 0);
  assert.equal((await request(wire, { command: CMD.TRIM, offset: 4096, length: 8192 })).error, NBD_ERR.EINVAL);
  const fua = await request(wire, { command: CMD.WRITE, offset: 100, length: 3, flags: CMD_FLAG.FUA }, Uint8Array.of(1, 2, 3));
  assert.equal(fua.error, 0);
  wire.hangUp();
  await done;
  assert.deepEqual(image.subarray(99, 104), Uint8Array.of(0, 1, 2, 3, 0), "read-write writes into the array");
  assert.deepEqual(server.sessions[0]!.errors.map((e) => e.error), ["ENOSPC", "EINVAL", "EINVAL", "EINVAL", "EINVAL", "EINVAL"]);
  assert.deepEqual(server.requests.map((r) => r.command), ["WRITE", "WRITE_ZEROES", "BLOCK_STATUS", "COMMAND_200", "READ", "TRIM", "TRIM", "WRITE"]);
});

test("nbd server: copy-on-write keeps its source unchanged, later sessions see the writes, discardOverlay forgets them", async () => {
  const source = Uint8Array.from({ length: 5 * 4096 + 100 }, (_, i) => (i * 13) & 0xff);
  const pristine = source.slice();
  const server = serverWith({ cow: [source, { mode: "copy-on-write" }] });
  const cow = server.export("cow")!;
  const patch = new Uint8Array(6000).fill(0xab); // unaligned, across three blocks
  let wire = new Wire();
  let done = server.serve(wire);
  await go(wire, "cow");
  assert.equal((await request(wire, { command: CMD.WRITE, offset: 4000, length: patch.length }, patch)).error, 0);
  const tail = await request(wire, { command: CMD.WRITE, offset: source.length - 10, length: 10 }, new Uint8Array(10).fill(0xcd));
  assert.equal(tail.error, 0, "the last, partial block");
  wire.hangUp();
  await done;
  assert.deepEqual(source, pristine);
  assert.equal(cow.overlayBytes(), 4 * 4096);
  const want = pristine.slice();
  want.set(patch, 4000);
  want.fill(0xcd, source.length - 10);
  wire = new Wire();
  done = server.serve(wire);
  await go(wire, "cow");
  const all = await request(wire, { command: CMD.READ, offset: 0, length: source.length });
  assert.ok(Buffer.from(all.data!).equals(Buffer.from(want)), "a second session reads the first one's writes");
  const inner = await request(wire, { command: CMD.READ, offset: 3999, length: 3 });
  assert.deepEqual(inner.data, Uint8Array.of(pristine[3999]!, 0xab, 0xab));
  wire.hangUp();
  await done;
  cow.discardOverlay();
  assert.deepEqual(await cow.read(0, source.length), pristine);
});

test("nbd server: file exports — read-write changes the file, copy-on-write never does", async () => {
  const dir = tempDir("bootlab-nbd-");
  try {
    mkdirSync(dir.path, { recursive: true });
    const image = Uint8Array.from({ length: 3 * 4096 }, (_, i) => (i * 31) & 0xff);
    for (const f of ["rw.img", "cow.img"]) writeFileSync(join(dir.path, f), image);
    const server = new NbdServer({ lingerMs: 200 });
    server.addFile("rw", join(dir.path, "rw.img"), { mode: "read-write" });
    server.addFile("cow", join(dir.path, "cow.img"), { mode: "copy-on-write" });
    assert.throws(() => server.addFile("missing", join(dir.path, "missing.img")), /cannot use .*missing\.img \(ENOENT\)/);
    assert.throws(() => server.addFile("rw", join(dir.path, "rw.img")), /already registered/);
    for (const name of ["rw", "cow"]) {
      const wire = new Wire();
      const done = server.serve(wire);
      await go(wire, name);
      const w = await request(wire, { command: CMD.WRITE, offset: 5000, length: 4, flags: CMD_FLAG.FUA }, Uint8Array.of(9, 8, 7, 6));
      assert.equal(w.error, 0);
      const r = await request(wire, { command: CMD.READ, offset: 4998, length: 8 });
      assert.deepEqual(r.data, Uint8Array.of(image[4998]!, image[4999]!, 9, 8, 7, 6, image[5004]!, image[5005]!));
      wire.hangUp();
      await done;
    }
    const rw = readFileSync(join(dir.path, "rw.img"));
    assert.deepEqual(Uint8Array.from(rw.subarray(5000, 5004)), Uint8Array.of(9, 8, 7, 6));
    assert.ok(readFileSync(join(dir.path, "cow.img")).equals(Buffer.from(image)));
  } finally {
    dir.remove();
  }
});

test("nbd server: client flags with unknown bits drop the connection, as the protocol requires", async () => {
  const server = serverWith({ d: [new Uint8Array(512)] });
  const wire = new Wire();
  const done = server.serve(wire);
  await wire.recv();
  wire.send(encodeClientFlags(0x8001));
  assert.equal(await wire.recv(), null);
  await done;
  assert.deepEqual([server.sessions[0]!.outcome, server.sessions[0]!.detail], ["protocol-error", "client flags 0x8001 set bits this server does not know (0x8000)"]);
});

test("nbd server: a GO whose name length lies gets ERR_INVALID, and the next option is still parsed", async () => {
  const server = serverWith({ d: [new Uint8Array(512)] });
  const wire = new Wire();
  const done = server.serve(wire);
  await wire.recv();
  const lying = encodeInfoRequest("d");
  lying.set([0, 0, 1, 0], 0);
  wire.send(encodeClientFlags(), encodeOption(OPT.GO, lying));
  const r = await wire.reply();
  assert.equal(r.reply, REP.ERR_INVALID);
  assert.equal(Buffer.from(r.data).toString(), "NBD_OPT_GO: the name length 256 runs past the 7 bytes of option data");
  wire.send(encodeOption(OPT.GO, encodeInfoRequest("d")));
  assert.equal((await wire.reply()).reply, REP.INFO);
  assert.equal((await wire.reply()).reply, REP.ACK);
  wire.hangUp();
  await done;
  assert.equal(server.sessions[0]!.export, "d");
});

test("nbd server: garbage or a lying length closes the connection with the reason in the log; serve() resolves, never throws", async () => {
  const cases: [string, Uint8Array[], RegExp][] = [
    ["garbage instead of an option", [encodeClientFlags(), text("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")], /an option must start with "IHAVEOPT", got 0x1603010200010001/],
    ["an option of 4 GiB", [encodeClientFlags(), Uint8Array.from([...encodeOption(OPT.LIST).subarray(0, 12), 0xff, 0xff, 0xff, 0xff])], /option LIST announces 4294967295 bytes/],
    ["nothing at all", [], /^the client closed the connection$/],
    ["half the client flags", [Uint8Array.of(0, 0)], /in the middle of a message \(2 of the 4 bytes of client flags arrived\)/],
  ];
  for (const [what, bytes, why] of cases) {
    const server = serverWith({ d: [new Uint8Array(512)] });
    const wire = new Wire();
    const done = server.serve(wire);
    wire.send(...bytes);
    wire.hangUp();
    await done;
    assert.match(server.sessions[0]!.detail ?? "", why, what);
  }
  const server = serverWith({ d: [new Uint8Array(4096), { mode: "read-write" }] });
  const wire = new Wire();
  const done = server.serve(wire);
  await go(wire, "d");
  wire.send(encodeRequest({ command: CMD.WRITE, cookie: 9n, offset: 0, length: 1000 }, new Uint8Array(1000)).subarray(0, 28 + 300));
  wire.hangUp();
  await done;
  assert.deepEqual([server.sessions[0]!.outcome, server.sessions[0]!.detail],
    ["closed-by-client", "the client closed the connection in the middle of a message (300 of the 1000 bytes of a WRITE payload arrived)"]);
  const bad = new Wire();
  const badDone = server.serve(bad);
  await go(bad, "d");
  bad.send(encodeRequest({ command: CMD.READ, cookie: 1n, offset: 0, length: 1 }).fill(0x41, 0, 4));
  assert.equal(await bad.recv(), null);
  await badDone;
  assert.match(server.sessions[1]!.detail!, /a request must start with magic 0x25609513, got 0x41/);
});

test("nbd server: close() ends a session in transmission and serve() resolves; a server closed first ends new sessions at once", async () => {
  const server = serverWith({ d: [new Uint8Array(4096)] });
  const wire = new Wire();
  const done = server.serve(wire);
  await go(wire, "d");
  assert.equal(server.active().length, 1);
  await server.close();
  await done;
  assert.ok(wire.destroyed);
  assert.deepEqual([server.sessions[0]!.outcome, server.sessions[0]!.detail, server.active().length], ["server-closed", "the server was closed", 0]);
  const late = new Wire();
  await server.serve(late);
  assert.ok(late.destroyed);
  assert.equal(server.sessions[1]!.outcome, "server-closed");
  const aborter = new AbortController();
  const s2 = serverWith({ d: [new Uint8Array(4096)] });
  const w2 = new Wire();
  const d2 = s2.serve(w2, { client: "board-1", signal: aborter.signal });
  await go(w2, "d");
  aborter.abort();
  await d2;
  assert.deepEqual([s2.sessions[0]!.client, s2.sessions[0]!.outcome], ["board-1", "server-closed"]);
});
