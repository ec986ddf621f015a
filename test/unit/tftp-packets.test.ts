import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { decodePacket, describePacket, encodeData, encodeError, encodePacket, type TftpPacket } from "../../harness/services/tftp/packets.ts";

// Real datagrams from curl 7.88.1, atftp 0.8.0, tftp-hpa 5.2 and tftpd-hpa 5.2 (see each file's header).
const DATA_DIR = new URL("../data/tftp/", import.meta.url);

function captured(name: string): Uint8Array {
  const text = readFileSync(new URL(name, DATA_DIR), "utf8").split("\n").filter((l) => l && !l.startsWith("#")).join("");
  return Uint8Array.from(Buffer.from(text.trim(), "hex"));
}

function decoded(name: string): TftpPacket {
  const p = decodePacket(captured(name));
  assert.notEqual(typeof p, "string", `${name}: ${String(p)}`);
  return p as TftpPacket;
}

const bytes = (...xs: (number | string)[]) =>
  Uint8Array.from(xs.flatMap((x) => (typeof x === "number" ? [x] : [...new TextEncoder().encode(x)])));

test("tftp packets: decodes curl's RRQ — file, octet, and its default options tsize 0, blksize 512, timeout 6", () => {
  assert.deepEqual(decoded("rrq-curl-7.88.1.hex"), {
    op: "RRQ", filename: "small.bin", mode: "octet",
    options: [{ name: "tsize", value: "0" }, { name: "blksize", value: "512" }, { name: "timeout", value: "6" }],
  });
  assert.deepEqual(decoded("rrq-curl-7.88.1-blksize-1428.hex"), {
    op: "RRQ", filename: "mid.bin", mode: "octet",
    options: [{ name: "tsize", value: "0" }, { name: "blksize", value: "1428" }, { name: "timeout", value: "6" }],
  });
  assert.deepEqual(decoded("rrq-curl-7.88.1-no-options.hex"), { op: "RRQ", filename: "small.bin", mode: "octet", options: [] });
});

test("tftp packets: decodes atftp's RRQ with windowsize, keeping its tsize value \"enable\" as sent", () => {
  assert.deepEqual(decoded("rrq-atftp-0.8.0-options.hex"), {
    op: "RRQ", filename: "mid.bin", mode: "octet",
    options: [{ name: "tsize", value: "enable" }, { name: "blksize", value: "1428" }, { name: "windowsize", value: "4" }],
  });
  assert.deepEqual(decoded("rrq-atftp-0.8.0.hex"), { op: "RRQ", filename: "small.bin", mode: "octet", options: [] });
});

test("tftp packets: decodes tftp-hpa's plain RRQ and the traversal attempts of tftp-hpa and curl as sent", () => {
  assert.deepEqual(decoded("rrq-tftp-hpa-5.2.hex"), { op: "RRQ", filename: "small.bin", mode: "octet", options: [] });
  assert.equal((decoded("rrq-tftp-hpa-5.2-traversal.hex") as { filename: string }).filename, "../etc/passwd");
  assert.equal((decoded("rrq-curl-7.88.1-traversal.hex") as { filename: string }).filename, "../etc/passwd");
});

test("tftp packets: decodes WRQs from curl (tsize is the upload's size), tftp-hpa and atftp", () => {
  assert.deepEqual(decoded("wrq-curl-7.88.1.hex"), {
    op: "WRQ", filename: "curl-up.bin", mode: "octet",
    options: [{ name: "tsize", value: "3000" }, { name: "blksize", value: "512" }, { name: "timeout", value: "6" }],
  });
  assert.deepEqual(decoded("wrq-tftp-hpa-5.2.hex"), { op: "WRQ", filename: "hpa-up.bin", mode: "octet", options: [] });
  assert.deepEqual(decoded("wrq-atftp-0.8.0.hex"), { op: "WRQ", filename: "atftp-up.bin", mode: "octet", options: [] });
});

test("tftp packets: decodes tftpd-hpa's OACK and its ERROR 1", () => {
  assert.deepEqual(decoded("oack-tftpd-hpa-5.2.hex"), {
    op: "OACK", options: [{ name: "tsize", value: "3000" }, { name: "blksize", value: "512" }, { name: "timeout", value: "6" }],
  });
  assert.deepEqual(decoded("oack-tftpd-hpa-5.2-atftp.hex"), { op: "OACK", options: [{ name: "blksize", value: "1428" }] });
  assert.deepEqual(decoded("error-tftpd-hpa-5.2-not-found.hex"), { op: "ERROR", code: 1, message: "File not found" });
});

test("tftp packets: encoding a decoded real packet gives back the same bytes", () => {
  const files = readdirSync(DATA_DIR).filter((f) => /^(rrq|wrq|oack|error)-.*\.hex$/.test(f));
  assert.ok(files.length >= 10);
  for (const f of files) assert.deepEqual(encodePacket(decoded(f)), captured(f), f);
  // And tftpd-hpa's DATA and curl's ACKs from a whole exchange.
  const lines = readFileSync(new URL("exchange-curl-7.88.1-tftpd-hpa-5.2.hex", DATA_DIR), "utf8").split("\n").filter((l) => /^[cs] /.test(l));
  for (const l of lines) {
    const b = Uint8Array.from(Buffer.from(l.slice(2), "hex"));
    assert.deepEqual(encodePacket(decodePacket(b) as TftpPacket), b, l.slice(0, 20));
  }
});

test("tftp packets: DATA, ACK and ERROR have the RFC 1350 layout", () => {
  assert.deepEqual(encodeData(0x0102, bytes("ab")), bytes(0, 3, 1, 2, "ab"));
  assert.deepEqual(encodePacket({ op: "ACK", block: 65535 }), bytes(0, 4, 255, 255));
  assert.deepEqual(encodeError(2), bytes(0, 5, 0, 2, "Access violation", 0));
  assert.deepEqual(encodeError(1), captured("error-tftpd-hpa-5.2-not-found.hex"));
  assert.deepEqual(decodePacket(bytes(0, 3, 0, 7)), { op: "DATA", block: 7, data: new Uint8Array(0) });
});

test("tftp packets: option names are case-insensitive and the first of a repeated option wins", () => {
  assert.deepEqual(decodePacket(bytes(0, 1, "f", 0, "OCTET", 0, "BlkSize", 0, "1024", 0, "blksize", 0, "8", 0)), {
    op: "RRQ", filename: "f", mode: "octet", options: [{ name: "blksize", value: "1024" }],
  });
});

test("tftp packets: NUL padding after the last option is tolerated", () => {
  assert.deepEqual(decodePacket(bytes(0, 1, "f", 0, "octet", 0, "tsize", 0, "0", 0, 0, 0)), {
    op: "RRQ", filename: "f", mode: "octet", options: [{ name: "tsize", value: "0" }],
  });
});

test("tftp packets: an ERROR whose message lacks its NUL is still read; bytes after an ACK's block are ignored", () => {
  assert.deepEqual(decodePacket(bytes(0, 5, 0, 8, "no")), { op: "ERROR", code: 8, message: "no" });
  assert.deepEqual(decodePacket(bytes(0, 4, 0, 9, 0, 0)), { op: "ACK", block: 9 });
});

test("tftp packets: malformed or truncated input returns a sentence saying what is wrong, never throws", () => {
  const cases: [Uint8Array, RegExp][] = [
    [bytes(), /0 bytes, too short for an opcode/],
    [bytes(0), /1 byte, too short for an opcode/],
    [bytes(0, 0), /unknown opcode 0/],
    [bytes(0, 7, 1, 2), /unknown opcode 7/],
    [bytes(255, 255), /unknown opcode 65535/],
    [bytes(0, 1), /RRQ: needs a file name and a mode, got 0 fields/],
    [bytes(0, 1, "f", 0), /RRQ: needs a file name and a mode, got 1 field$/],
    [bytes(0, 1, "f", 0, "octet"), /RRQ: the last field \(5 bytes\) has no terminating NUL/],
    [bytes(0, 2, "f", 0, "octet", 0, "blksize", 0), /WRQ: option "blksize" has no value/],
    [bytes(0, 1, "f", 0, "octet", 0, 0, "1", 0), /RRQ: option 1 has an empty name/],
    [bytes(0, 1, 0xff, 0xfe, 0, "octet", 0), /RRQ: field 1 is not valid UTF-8/],
    [bytes(0, 3, 1), /DATA: 3 bytes, too short for a block number/],
    [bytes(0, 4, 0), /ACK: 3 bytes, too short for a block number/],
    [bytes(0, 5, 0), /ERROR: 3 bytes, too short for an error code/],
    [bytes(0, 6, "blksize", 0, "512"), /OACK: the last field \(3 bytes\) has no terminating NUL/],
  ];
  for (const [b, re] of cases) {
    const p = decodePacket(b);
    assert.equal(typeof p, "string", `${Buffer.from(b).toString("hex")} decoded as ${describePacket(p)}`);
    assert.match(p as string, re);
  }
});

test("tftp packets: every truncation of every captured packet, and 20 000 seeded random mutations, decode without throwing", () => {
  const files = readdirSync(DATA_DIR).filter((f) => /^(rrq|wrq|oack|error)-.*\.hex$/.test(f)).map(captured);
  let seed = 0x5eed1350;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) / 0x1000000;
  for (const b of files) for (let n = 0; n <= b.length; n++) decodePacket(b.subarray(0, n));
  for (let i = 0; i < 20_000; i++) {
    const b = files[Math.floor(rand() * files.length)]!.slice(0, Math.floor(rand() * 70));
    for (let k = 0; k < 3; k++) if (b.length) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
    const p = decodePacket(b);
    assert.ok(typeof p === "string" || typeof p.op === "string");
  }
});

test("tftp packets: encoding refuses what cannot be on the wire: a block past 65535, a NUL inside a name", () => {
  assert.throws(() => encodeData(65536, new Uint8Array(0)), /TFTP block 65536 is not a 16-bit number/);
  assert.throws(() => encodePacket({ op: "RRQ", filename: "a\0b", mode: "octet", options: [] }), /file name "a\\u0000b" contains a NUL byte/);
});
