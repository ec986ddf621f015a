import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  decodePacket, encodePacket, ERR, type RequestPacket, type TftpOption, type TftpPacket,
} from "../../harness/services/tftp/packets.ts";
import {
  checkTransferConfig, describeTransfer, TftpTransfer, type TransferAction, type TransferConfig, type TransferLog, type TransferSource,
} from "../../harness/services/tftp/transfer.ts";

const DATA_DIR = new URL("../data/tftp/", import.meta.url);
const CLIENT = { address: "10.0.2.15", port: 1234 };

function hexLines(name: string): string[] {
  return readFileSync(new URL(name, DATA_DIR), "utf8").split("\n").filter((l) => l && !l.startsWith("#"));
}
const unhex = (h: string) => Uint8Array.from(Buffer.from(h, "hex"));
const captured = (name: string) => unhex(hexLines(name).join("").trim());

function rrq(filename: string, options: Record<string, string> = {}, mode = "octet"): RequestPacket {
  return { op: "RRQ", filename, mode, options: Object.entries(options).map(([name, value]) => ({ name, value })) };
}
function wrq(filename: string, options: Record<string, string> = {}): RequestPacket {
  return { op: "WRQ", filename, mode: "octet", options: Object.entries(options).map(([name, value]) => ({ name, value })) };
}
const ack = (block: number) => encodePacket({ op: "ACK", block });
const dataPkt = (block: number, data: Uint8Array) => encodePacket({ op: "DATA", block, data });

function sent(actions: TransferAction[]): TftpPacket[] {
  return actions.flatMap((a) => ("send" in a ? [decodePacket(a.send) as TftpPacket] : []));
}
function timer(actions: TransferAction[]): number | undefined {
  return actions.flatMap((a) => ("timerAt" in a ? [a.timerAt] : [])).at(-1);
}
function done(actions: TransferAction[]): TransferLog | undefined {
  return actions.flatMap((a) => ("done" in a ? [a.done] : []))[0];
}
const closes = (actions: TransferAction[]) => actions.some((a) => "close" in a);
const blocksOf = (actions: TransferAction[]) => sent(actions).map((p) => (p.op === "DATA" ? p.block : -1));

function file(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

function transfer(request: RequestPacket, source: TransferSource, config: Partial<TransferConfig> = {}) {
  return new TftpTransfer({ request, client: CLIENT, source, config });
}

/** Replays a captured client↔tftpd-hpa exchange against a transfer and checks we send the same bytes. */
function replay(name: string): TransferLog {
  const lines = hexLines(name).map((l) => ({ from: l[0], bytes: unhex(l.slice(2)) }));
  const [req, ...rest] = lines;
  // The file is what tftpd-hpa sent in its DATA packets.
  const parts = rest.filter((l) => l.from === "s").map((l) => decodePacket(l.bytes) as TftpPacket).flatMap((p) => (p.op === "DATA" ? [p.data] : []));
  const content = Uint8Array.from(parts.flatMap((p) => [...p]));
  const t = transfer(decodePacket(req!.bytes) as RequestPacket, { read: content });
  let now = 0;
  let out = t.start(now);
  let log: TransferLog | undefined;
  for (const l of rest) {
    if (l.from === "s") {
      const mine = out.find((a) => "send" in a) as { send: Uint8Array } | undefined;
      assert.ok(mine, `we sent nothing where tftpd-hpa sent ${Buffer.from(l.bytes).toString("hex").slice(0, 40)}`);
      assert.deepEqual(mine.send, l.bytes);
      out = out.filter((a) => a !== mine);
    } else {
      out = t.onPacket(l.bytes, (now += 1));
      log ??= done(out);
    }
  }
  return log ?? assert.fail("the transfer did not finish");
}

test("tftp: answers curl's real RRQ with the very bytes tftpd-hpa sent (OACK tsize/blksize/timeout, then DATA)", () => {
  const log = replay("exchange-curl-7.88.1-tftpd-hpa-5.2.hex");
  assert.equal(log.outcome, "ok");
  assert.equal(log.bytes, 3000);
  assert.equal(log.blocks, 6);
  assert.deepEqual(log.oack, [{ name: "tsize", value: "3000" }, { name: "blksize", value: "512" }, { name: "timeout", value: "6" }]);
});

test("tftp: answers tftp-hpa's option-less RRQ like tftpd-hpa: DATA 1 at once, no OACK", () => {
  const log = replay("exchange-tftp-hpa-5.2-tftpd-hpa-5.2.hex");
  assert.equal(log.outcome, "ok");
  assert.deepEqual(log.oack, []);
});

test("tftp: grants blksize up to 1468 by default, so DATA fits a 1500-byte MTU", () => {
  const t = transfer(rrq("f", { blksize: "65464" }), { read: file(5000) });
  assert.deepEqual(sent(t.start(0)), [{ op: "OACK", options: [{ name: "blksize", value: "1468" }] }]);
  const first = sent(t.onPacket(ack(0), 1))[0]!;
  assert.equal(first.op === "DATA" && first.data.length, 1468);
  assert.equal(1468 + 4 + 8 + 20, 1500);
});

test("tftp: the blksize cap is configurable, never above RFC 2348's 65464; a value below 8 is ignored", () => {
  const big = transfer(rrq("f", { blksize: "65535" }), { read: file(10) }, { maxBlksize: 100_000 });
  assert.deepEqual(sent(big.start(0)), [{ op: "OACK", options: [{ name: "blksize", value: "65464" }] }]);
  const small = transfer(rrq("f", { blksize: "1428" }), { read: file(10) }, { maxBlksize: 1024 });
  assert.deepEqual(sent(small.start(0)), [{ op: "OACK", options: [{ name: "blksize", value: "1024" }] }]);
  const tiny = transfer(rrq("f", { blksize: "7" }), { read: file(10) });
  assert.deepEqual(blocksOf(tiny.start(0)), [1], "no OACK: the option was ignored, DATA 1 goes out");
});

test("tftp: answers atftp's real RRQ (tsize \"enable\", blksize 1428, windowsize 4) with the file's size", () => {
  const req = decodePacket(captured("rrq-atftp-0.8.0-options.hex")) as RequestPacket;
  const t = transfer(req, { read: file(200_000) });
  assert.deepEqual(sent(t.start(0)), [{
    op: "OACK", options: [{ name: "tsize", value: "200000" }, { name: "blksize", value: "1428" }, { name: "windowsize", value: "4" }],
  }]);
  assert.deepEqual(blocksOf(t.onPacket(ack(0), 1)), [1, 2, 3, 4]);
});

test("tftp: tsize in netascii counts the converted bytes; netascii turns LF into CR LF and CR into CR NUL", () => {
  const t = transfer(rrq("f", { tsize: "0" }, "netascii"), { read: new TextEncoder().encode("a\nb\rc") });
  assert.deepEqual(sent(t.start(0)), [{ op: "OACK", options: [{ name: "tsize", value: "7" }] }]);
  const [d] = sent(t.onPacket(ack(0), 1));
  assert.deepEqual(d, { op: "DATA", block: 1, data: Uint8Array.of(97, 13, 10, 98, 13, 0, 99) });
});

test("tftp: unknown options and bad values stay out of the OACK; with none left, DATA 1 comes first", () => {
  const t = transfer(rrq("f", { multicast: "", blksize: "big", timeout: "0", windowsize: "0", utimeout: "1000" }), { read: file(3) });
  assert.deepEqual(sent(t.start(0)), [{ op: "DATA", block: 1, data: file(3) }]);
  const log = done(t.onPacket(ack(1), 5))!;
  assert.deepEqual(log.oack, []);
  assert.equal(log.blksize, 512);
  assert.equal(log.requested.length, 5);
});

test("tftp: block numbers wrap from 65535 to 0, as tftp-hpa and curl expect, and the transfer completes", () => {
  const blocks = 65_540;
  const t = transfer(rrq("big", { blksize: "8" }), { read: file(8 * (blocks - 1) + 3) });
  t.start(0);
  let out = t.onPacket(ack(0), 0);
  const wire: number[] = [];
  for (let abs = 1; abs <= blocks; abs++) {
    const [d] = sent(out);
    assert.ok(d && d.op === "DATA", `block ${abs}: ${JSON.stringify(d)}`);
    if (abs >= 65_534) wire.push(d.block);
    out = t.onPacket(ack(d.block), abs);
  }
  assert.deepEqual(wire, [65534, 65535, 0, 1, 2, 3, 4]);
  const log = done(out)!;
  assert.equal(log.outcome, "ok");
  assert.equal(log.blocks, blocks);
  assert.equal(log.bytes, 8 * (blocks - 1) + 3);
  assert.ok(closes(out));
});

test("tftp: a duplicate ACK is not answered — only a timeout retransmits (no Sorcerer's Apprentice)", () => {
  const t = transfer(rrq("f"), { read: file(2000) });
  t.start(0);
  assert.deepEqual(blocksOf(t.onPacket(ack(1), 1)), [2]);
  assert.deepEqual(t.onPacket(ack(1), 2), [], "the same ACK again: nothing sent, the timer is left alone");
  assert.deepEqual(t.onPacket(ack(1), 3), []);
  assert.deepEqual(blocksOf(t.onPacket(ack(2), 4)), [3]);
  assert.equal(t.log.duplicates, 2);
  assert.equal(t.log.retransmits, 0);
});

test("tftp: retransmits the last DATA block when its ACK is lost, after the measured round trip's interval (at least 20 ms)", () => {
  const t = transfer(rrq("f"), { read: file(1500) });
  t.start(0);
  const out = t.onPacket(ack(1), 10);
  assert.deepEqual(blocksOf(out), [2]);
  const at = timer(out)!;
  assert.equal(at, 10 + 30, "one 10 ms round trip measured: 10 + 4 × 5 ms");
  const again = t.onTimer(at);
  assert.deepEqual(blocksOf(again), [2]);
  assert.equal(t.log.retransmits, 1);
  assert.equal(t.log.timeouts, 1);
  assert.deepEqual(blocksOf(t.onPacket(ack(2), at + 5)), [3]);
});

test("tftp: a fast client's lock-step reads retransmit after 20 ms; windowed reads and uploads keep the 200 ms floor; nothing measured yet, 200 ms", () => {
  const read = transfer(rrq("f"), { read: file(512 * 20) });
  assert.equal(timer(read.start(0)), 200, "no round trip measured yet");
  let out: ReturnType<typeof read.onPacket> = [];
  let now = 0;
  for (let b = 1; b <= 8; b++) out = read.onPacket(ack(b), (now += 0.3));
  assert.equal(timer(out)! - now, 20);
  const write = transfer(wrq("up.bin", { blksize: "512" }), { write: true }); // its OACK is timed: the round trip is measured
  write.start(0);
  let ackOut = write.onPacket(dataPkt(1, new Uint8Array(512)), 0.3);
  for (let b = 2; b <= 8; b++) ackOut = write.onPacket(dataPkt(b, new Uint8Array(512)), b * 0.3);
  assert.equal(timer(ackOut)! - 8 * 0.3, 200);
  const windowed = transfer(rrq("f", { windowsize: "4" }), { read: file(512 * 40) });
  windowed.start(0);
  let wout = windowed.onPacket(ack(0), 0.3);
  for (let b = 4, n = 1; b <= 16; b += 4) wout = windowed.onPacket(ack(b), 0.3 + 0.3 * n++);
  assert.deepEqual(blocksOf(wout), [17, 18, 19, 20]);
  assert.equal(timer(wout)! - 1.5, 200);
});

test("tftp: the retransmit interval starts at 200 ms and doubles up to the cap; progress resets it", () => {
  const t = transfer(rrq("f"), { read: file(1500) }, { maxRetransmitMs: 1000, maxRetries: 10 });
  let at = timer(t.start(0))!;
  const gaps: number[] = [at];
  for (let i = 0; i < 5; i++) {
    const next = timer(t.onTimer(at))!;
    gaps.push(next - at);
    at = next;
  }
  assert.deepEqual(gaps, [200, 400, 800, 1000, 1000, 1000]);
  const out = t.onPacket(ack(1), at + 1);
  assert.equal(timer(out)! - (at + 1), 200);
});

test("tftp: the client's timeout option is echoed and caps our backoff (timeout 1 → at most 1 s)", () => {
  const t = transfer(rrq("f", { timeout: "1" }), { read: file(10) });
  assert.deepEqual(sent(t.start(0)), [{ op: "OACK", options: [{ name: "timeout", value: "1" }] }]);
  let at = 200;
  const gaps: number[] = [];
  for (let i = 0; i < 4; i++) {
    const out = t.onTimer(at);
    assert.deepEqual(sent(out), [{ op: "OACK", options: [{ name: "timeout", value: "1" }] }], "the OACK is retransmitted until ACK 0");
    const next = timer(out)!;
    gaps.push(next - at);
    at = next;
  }
  assert.deepEqual(gaps, [400, 800, 1000, 1000]);
  assert.equal(t.log.timeoutS, 1);
});

test("tftp: gives up after the maximum number of retries with ERROR 0 and a timeout in the log", () => {
  const t = transfer(rrq("boot.img"), { read: file(600) }, { maxRetries: 3 });
  let at = timer(t.start(0))!;
  for (let i = 0; i < 3; i++) at = timer(t.onTimer(at))!;
  const out = t.onTimer(at);
  assert.deepEqual(sent(out), [{ op: "ERROR", code: 0, message: "Timed out after 3 retransmits" }]);
  const log = done(out)!;
  assert.equal(log.outcome, "timeout");
  assert.equal(log.retransmits, 3);
  assert.equal(log.timeouts, 4);
  assert.equal(log.detail, "no ACK for block 1 after 3 retransmits");
  assert.ok(closes(out));
  assert.deepEqual(t.onTimer(at + 10_000), []);
  assert.deepEqual(t.onPacket(ack(1), at + 10_000), []);
  // When only the last ACK is missing the client may have everything: the log says so.
  const last = transfer(rrq("small"), { read: file(100) }, { maxRetries: 0 });
  assert.match(done(last.onTimer(timer(last.start(0))!))!.detail!, /no ACK for block 1 \(the last one: the client may have it all and have left\)/);
});

test("tftp: an early or stale timer call only re-arms the pending deadline", () => {
  const t = transfer(rrq("f"), { read: file(10) });
  const at = timer(t.start(0))!;
  assert.deepEqual(t.onTimer(at - 1), [{ timerAt: at }]);
  assert.equal(t.log.retransmits, 0);
});

test("tftp: a slow client raises the retransmit interval above 200 ms instead of drawing spurious retransmits", () => {
  const t = transfer(rrq("f"), { read: file(512 * 20) });
  let out = t.start(0);
  let now = 0;
  for (let b = 1; b <= 8; b++) out = t.onPacket(ack(b), (now += 150));
  assert.ok(timer(out)! - now >= 300, `retransmit after ${timer(out)! - now} ms with a 150 ms round trip`);
  assert.equal(t.log.retransmits, 0);
});

test("tftp: windowsize 4 sends four blocks per ACK; an ACK inside the window resends from the next block (RFC 7440)", () => {
  const t = transfer(rrq("f", { windowsize: "4" }), { read: file(512 * 10 + 1) });
  assert.deepEqual(sent(t.start(0)), [{ op: "OACK", options: [{ name: "windowsize", value: "4" }] }]);
  assert.deepEqual(blocksOf(t.onPacket(ack(0), 1)), [1, 2, 3, 4]);
  assert.deepEqual(blocksOf(t.onPacket(ack(4), 2)), [5, 6, 7, 8]);
  // Block 7 was lost: the client acknowledges 6 and we go on from 7.
  assert.deepEqual(blocksOf(t.onPacket(ack(6), 3)), [7, 8, 9, 10]);
  assert.deepEqual(t.onPacket(ack(6), 4), [], "the same ACK again is a duplicate");
  assert.deepEqual(blocksOf(t.onPacket(ack(10), 5)), [11]);
  const log = done(t.onPacket(ack(11), 6))!;
  assert.equal(log.outcome, "ok");
  assert.equal(log.windowsize, 4);
  assert.equal(log.retransmits, 2, "7 and 8 were sent twice");
});

test("tftp: with a window, a timeout resends every unacknowledged block of it", () => {
  const t = transfer(rrq("f", { windowsize: "3" }), { read: file(512 * 9) });
  t.start(0);
  const out = t.onPacket(ack(0), 0);
  assert.deepEqual(blocksOf(t.onTimer(timer(out)!)), [1, 2, 3]);
  assert.equal(t.log.retransmits, 3);
});

test("tftp: windowsize is capped at the configured maximum", () => {
  const t = transfer(rrq("f", { windowsize: "1000" }), { read: file(10) }, { maxWindowsize: 16 });
  assert.deepEqual(sent(t.start(0)), [{ op: "OACK", options: [{ name: "windowsize", value: "16" }] }]);
});

test("tftp: an ACK for a block not sent yet is ignored", () => {
  const t = transfer(rrq("f"), { read: file(5000) });
  t.start(0);
  assert.deepEqual(t.onPacket(ack(7), 1), []);
  assert.deepEqual(blocksOf(t.onPacket(ack(1), 2)), [2]);
});

test("tftp: an empty file is one empty DATA block; an exact multiple of blksize ends with an empty block", () => {
  const empty = transfer(rrq("e"), { read: new Uint8Array(0) });
  assert.deepEqual(sent(empty.start(0)), [{ op: "DATA", block: 1, data: new Uint8Array(0) }]);
  assert.equal(done(empty.onPacket(ack(1), 1))!.outcome, "ok");
  const exact = transfer(rrq("x"), { read: file(1024) });
  exact.start(0);
  exact.onPacket(ack(1), 1);
  assert.deepEqual(sent(exact.onPacket(ack(2), 2)), [{ op: "DATA", block: 3, data: new Uint8Array(0) }]);
  assert.equal(done(exact.onPacket(ack(3), 3))!.bytes, 1024);
});

test("tftp: the client's ERROR ends the transfer without a reply (ERROR 8 refusing our OACK)", () => {
  const t = transfer(rrq("f", { blksize: "1024" }), { read: file(10) });
  t.start(0);
  const out = t.onPacket(encodePacket({ op: "ERROR", code: 8, message: "blksize refused" }), 3);
  assert.deepEqual(sent(out), []);
  const log = done(out)!;
  assert.equal(log.outcome, "client-error");
  assert.deepEqual(log.error, { code: 8, message: "blksize refused", by: "client" });
  assert.ok(closes(out));
});

test("tftp: a malformed datagram or a DATA during a read ends the transfer with ERROR 4", () => {
  const a = transfer(rrq("f"), { read: file(10) });
  a.start(0);
  const out = a.onPacket(Uint8Array.of(0, 4, 1), 1);
  assert.deepEqual(sent(out), [{ op: "ERROR", code: ERR.ILLEGAL_OPERATION, message: "Illegal TFTP operation" }]);
  assert.equal(done(out)!.outcome, "protocol-error");
  assert.match(done(out)!.detail!, /ACK: 3 bytes, too short/);
  const b = transfer(rrq("f"), { read: file(10) });
  b.start(0);
  assert.match(done(b.onPacket(dataPkt(1, file(3)), 1))!.detail!, /DATA 1 \(3 bytes\) during a read/);
});

test("tftp: refusals carry the RFC's words — error 1 \"File not found\", error 2 \"Access violation\" — and the reason stays in our log", () => {
  const nf = transfer(rrq("nope"), { refuse: { code: ERR.FILE_NOT_FOUND, detail: "/srv/nope does not exist" } });
  const out = nf.start(0);
  assert.deepEqual(sent(out), [{ op: "ERROR", code: 1, message: "File not found" }]);
  assert.deepEqual(out.at(-1), { close: true });
  const log = done(out)!;
  assert.equal(log.outcome, "refused");
  assert.equal(log.detail, "/srv/nope does not exist");
  const av = transfer(rrq("../etc/passwd"), { refuse: { code: ERR.ACCESS_VIOLATION, detail: "climbs out" } });
  assert.deepEqual(sent(av.start(0)), [{ op: "ERROR", code: 2, message: "Access violation" }]);
});

test("tftp: mode \"mail\" (and anything but octet or netascii) is refused with error 4", () => {
  const t = transfer(rrq("f", {}, "mail"), { read: file(1) });
  const out = t.start(0);
  assert.deepEqual(sent(out), [{ op: "ERROR", code: 4, message: "Illegal TFTP operation" }]);
  assert.match(done(out)!.detail!, /transfer mode "mail" is not supported/);
});

test("tftp: receives curl's real WRQ — OACK, DATA, store, final ACK — then re-ACKs a repeated last block while dallying", () => {
  const req = decodePacket(captured("wrq-curl-7.88.1.hex")) as RequestPacket;
  const t = transfer(req, { write: true });
  assert.deepEqual(sent(t.start(0)), [{
    op: "OACK", options: [{ name: "tsize", value: "3000" }, { name: "blksize", value: "512" }, { name: "timeout", value: "6" }],
  }]);
  const content = file(3000);
  for (let b = 1; b <= 5; b++) assert.deepEqual(sent(t.onPacket(dataPkt(b, content.subarray((b - 1) * 512, b * 512)), b)), [{ op: "ACK", block: b }]);
  const last = dataPkt(6, content.subarray(2560));
  const out = t.onPacket(last, 6);
  assert.deepEqual(out, [{ store: content }], "nothing is acknowledged before the bytes are stored");
  const after = t.stored(7);
  assert.deepEqual(sent(after), [{ op: "ACK", block: 6 }]);
  const log = done(after)!;
  assert.equal(log.kind, "write");
  assert.equal(log.outcome, "ok");
  assert.equal(log.bytes, 3000);
  assert.ok(!closes(after), "it stays open to answer a repeated final DATA");
  assert.deepEqual(sent(t.onPacket(last, 100)), [{ op: "ACK", block: 6 }]);
  assert.deepEqual(t.onPacket(ack(0), 101), [], "anything else while dallying is ignored");
  assert.deepEqual(t.onTimer(7 + 3000), [{ close: true }]);
});

test("tftp: an upload's repeated DATA is acknowledged again but stored once", () => {
  const t = transfer(wrq("up"), { write: true });
  assert.deepEqual(sent(t.start(0)), [{ op: "ACK", block: 0 }]);
  const d1 = dataPkt(1, file(512));
  assert.deepEqual(sent(t.onPacket(d1, 1)), [{ op: "ACK", block: 1 }]);
  assert.deepEqual(sent(t.onPacket(d1, 2)), [{ op: "ACK", block: 1 }]);
  assert.deepEqual(t.onPacket(dataPkt(3, file(4)), 3), [], "a block from the future is dropped");
  const out = t.onPacket(dataPkt(2, file(4)), 4);
  assert.equal((out[0] as { store: Uint8Array }).store.length, 516);
  assert.equal(t.log.duplicates, 1);
});

test("tftp: an upload re-sends its last ACK when DATA stops coming, and gives up like a read", () => {
  const t = transfer(wrq("up"), { write: true }, { maxRetries: 2 });
  let at = timer(t.start(0))!;
  assert.deepEqual(sent(t.onTimer(at)), [{ op: "ACK", block: 0 }]);
  at += 400;
  t.onTimer(at);
  at += 800;
  const out = t.onTimer(at);
  assert.equal(done(out)!.outcome, "timeout");
  assert.equal(done(out)!.retransmits, 2);
});

test("tftp: an upload announced bigger than allowed (tsize) is refused with error 3; so is one that grows past it", () => {
  const t = transfer(wrq("up", { tsize: "2000" }), { write: true }, { maxWriteBytes: 1000 });
  const out = t.start(0);
  assert.deepEqual(sent(out), [{ op: "ERROR", code: 3, message: "Disk full or allocation exceeded" }]);
  assert.match(done(out)!.detail!, /upload of 2000 bytes exceeds the 1000-byte limit/);
  const u = transfer(wrq("up"), { write: true }, { maxWriteBytes: 1000 });
  u.start(0);
  u.onPacket(dataPkt(1, file(512)), 1);
  const over = u.onPacket(dataPkt(2, file(512)), 2);
  assert.equal(done(over)!.outcome, "aborted");
  assert.deepEqual(sent(over), [{ op: "ERROR", code: 3, message: "Disk full or allocation exceeded" }]);
});

test("tftp: an upload that cannot be stored is answered with error 3 instead of the final ACK", () => {
  const t = transfer(wrq("up"), { write: true });
  t.start(0);
  t.onPacket(dataPkt(1, file(3)), 1);
  const out = t.stored(2, "EROFS: read-only file system");
  assert.deepEqual(sent(out), [{ op: "ERROR", code: 3, message: "Disk full or allocation exceeded" }]);
  assert.equal(done(out)!.outcome, "aborted");
  assert.match(done(out)!.detail!, /could not store the upload: EROFS/);
});

test("tftp: the log names file, client, options, bytes, blocks, retransmits, duration and outcome", () => {
  const t = transfer(rrq("boot/uImage", { blksize: "1468", tsize: "0", timeout: "5" }), { read: file(3000) });
  let at = timer(t.start(1000))!;
  t.onPacket(ack(0), 1001);
  at = timer(t.onPacket(ack(1), 1002))!;
  t.onTimer(at);
  t.onPacket(ack(2), at + 5);
  const log = done(t.onPacket(ack(3), at + 10))!;
  const expected: Partial<TransferLog> = {
    kind: "read", file: "boot/uImage", client: CLIENT, mode: "octet", blksize: 1468, windowsize: 1, timeoutS: 5, tsize: 3000,
    bytes: 3000, blocks: 3, retransmits: 1, timeouts: 1, startedAtMs: 1000, durationMs: at + 10 - 1000, outcome: "ok",
  };
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(log[k as keyof TransferLog], v, k);
  const opts: TftpOption[] = [{ name: "blksize", value: "1468" }, { name: "tsize", value: "3000" }, { name: "timeout", value: "5" }];
  assert.deepEqual(log.oack, opts);
  assert.match(describeTransfer(log), /^read  "boot\/uImage" → 10\.0\.2\.15:1234 {2}blksize 1468 timeout 5 tsize 3000 {2}3000 B in 3 blocks, .* 1 retransmit {2}ok$/);
});

test("tftp: a transfer cannot be started twice", () => {
  const t = transfer(rrq("f"), { read: file(1) });
  t.start(0);
  assert.throws(() => t.start(1), /TFTP transfer of "f" for 10\.0\.2\.15:1234 was started twice/);
});

test("tftp: a bad transfer config is described field by field", () => {
  assert.deepEqual(checkTransferConfig({ maxBlksize: 70_000, initialRetransmitMs: 0.5, maxRetries: 3 }), [
    "maxBlksize 70000 must be an integer from 8 to 65464",
    "initialRetransmitMs 0.5 must be an integer from 1 to 9007199254740991",
  ]);
  assert.deepEqual(checkTransferConfig({}), []);
});
