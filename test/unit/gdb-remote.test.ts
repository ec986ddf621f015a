// The GDB remote-protocol codec and the MIPS Cause splice, on the bytes of a real session with QEMU 7.2's
// gdbstub (a malta held at reset: `p24` unanswered without an XML target description, `g`, `G`, `D`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { encodePacket, GdbPacketParser, registerFromHex, registerToHex } from "../../harness/machine/gdb-remote.ts";
import { mipsCause, withMipsCause } from "../../harness/machine/cpu-timer.ts";
import { projectRoot } from "../../harness/paths.ts";

const session = readFileSync(join(projectRoot, "test/data/gdb/qemu-7.2-malta-reset-session.jsonl"), "utf8")
  .trim().split("\n").map((l) => JSON.parse(l) as { dir: "in" | "out"; bytes: string });
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

test("gdb remote: the packets bootlab sends carry the checksums QEMU accepted", () => {
  const sent = session.filter((e) => e.dir === "out").map((e) => e.bytes);
  assert.equal(sent[0], encodePacket("p24"));
  assert.equal(sent[1], encodePacket("g"));
  assert.equal(sent[3], encodePacket("D"));
  assert.equal(encodePacket("OK"), "$OK#9a");
});

test("gdb remote: QEMU's replies parse into packets, acknowledgements skipped, split at any byte", () => {
  const stream = session.filter((e) => e.dir === "in").map((e) => e.bytes).join("");
  const whole = new GdbPacketParser().push(latin1(stream));
  assert.equal(whole.length, 4);
  assert.equal(whole[0], "", "p without an XML description: the empty 'unsupported' reply");
  assert.equal(whole[1]!.length, 73 * 8, "73 registers of 4 bytes on a 32-bit MIPS");
  assert.deepEqual(whole.slice(2), ["OK", "OK"]);
  for (const cut of [1, 3, 7, 300, stream.length - 2]) {
    const p = new GdbPacketParser();
    assert.deepEqual([...p.push(latin1(stream.slice(0, cut))), ...p.push(latin1(stream.slice(cut)))], whole, `cut at ${cut}`);
    assert.equal(p.malformed, 0);
  }
});

test("gdb remote: a bad checksum or an endless packet is counted, not thrown, and later packets still parse", () => {
  const p = new GdbPacketParser();
  assert.deepEqual(p.push(latin1("$OK#00$OK#9a")), ["OK"]);
  assert.equal(p.malformed, 1);
  assert.deepEqual(p.push(latin1("$" + "0".repeat(GdbPacketParser.MAX_PACKET + 10))), []);
  assert.equal(p.malformed, 2);
  assert.deepEqual(p.push(latin1("+$OK#9a")), ["OK"]);
});

test("gdb remote: registers are hex in the target's byte order; malta's reset PC and Status read right", () => {
  const regs = new GdbPacketParser().push(latin1(session.find((e) => e.dir === "in" && e.bytes.length > 500)!.bytes))[0]!;
  assert.equal(registerFromHex(regs.slice(37 * 8, 38 * 8), "little"), 0xbfc00000, "PC at the reset vector");
  assert.equal(registerFromHex(regs.slice(32 * 8, 33 * 8), "little"), 0x00400004, "Status: BEV and ERL");
  assert.equal(registerToHex(0xbfc00000, "little"), "0000c0bf");
  assert.equal(registerToHex(0xbfc00000, "big"), "bfc00000");
  assert.throws(() => registerFromHex("", "little"), /not a 32-bit register value/);
});

test("cpu timer: Cause is spliced at register 36 and nothing else in the g packet moves", () => {
  const regs = new GdbPacketParser().push(latin1(session.find((e) => e.dir === "in" && e.bytes.length > 500)!.bytes))[0]!;
  assert.equal(mipsCause(regs, "little"), 0);
  const dc = withMipsCause(regs, 1 << 27, "little");
  assert.equal(dc.length, regs.length);
  assert.equal(mipsCause(dc, "little"), 1 << 27);
  assert.equal(dc.slice(0, 36 * 8) + dc.slice(37 * 8), regs.slice(0, 36 * 8) + regs.slice(37 * 8));
  assert.throws(() => mipsCause(regs.slice(0, 100), "little"), /too few for CP0 Cause/);
});
