// The lab's capture file as tshark and Wireshark read it: the classic pcap header, then one record per
// frame in order, with its length and time — across batch flushes and for a frame bigger than a batch's slack.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PcapWriter } from "../../harness/lan/pcap.ts";
import { tempDir } from "../helpers.ts";

test("pcap: every frame is one record, in order, whole, with its time — small and big frames, across flushes", async () => {
  const dir = tempDir("bootlab-pcap-");
  try {
    const path = join(dir.path, "lan.pcap");
    const w = new PcapWriter(path);
    const sizes = [60, 1514, ...Array.from({ length: 400 }, (_, i) => 60 + ((i * 7919) % 1455)), 65536, 140_000, 42];
    const frames = sizes.map((n, i) => Uint8Array.from({ length: n }, (_, j) => (i * 31 + j) & 0xff));
    const t0 = 1_700_000_000_000.25;
    frames.forEach((f, i) => w.write(f, t0 + i * 1.5));
    await w.close();
    const b = new Uint8Array(readFileSync(path));
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    assert.equal(v.getUint32(0, true), 0xa1b2c3d4);
    assert.equal(v.getUint32(20, true), 1, "LINKTYPE_ETHERNET");
    let at = 24;
    frames.forEach((f, i) => {
      const us = Math.round((t0 + i * 1.5) * 1000);
      assert.deepEqual([v.getUint32(at, true), v.getUint32(at + 4, true)], [Math.floor(us / 1e6), us % 1e6], `frame ${i}: time`);
      assert.deepEqual([v.getUint32(at + 8, true), v.getUint32(at + 12, true)], [f.length, f.length], `frame ${i}: lengths`);
      assert.deepEqual(b.subarray(at + 16, at + 16 + f.length), f, `frame ${i}: bytes`);
      at += 16 + f.length;
    });
    assert.equal(at, b.length, "nothing after the last record");
    assert.equal(w.frames, frames.length);
  } finally {
    dir.remove();
  }
});
