import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { classify, FaultEngine, seededBytes, seededRandom } from "../../harness/lan/faults.ts";
import { encodeEthernet } from "../../harness/lan/packets/ethernet.ts";
import { encodeIpv4, encodeUdp, PROTO_UDP } from "../../harness/lan/packets/ipv4.ts";

function udpFrame(srcPort: number, dstPort: number, payload: Uint8Array): Uint8Array {
  return encodeEthernet({
    dst: "ff:ff:ff:ff:ff:ff", src: "52:54:00:12:34:56", type: 0x0800,
    payload: encodeIpv4({ src: "192.168.1.10", dst: "192.168.1.20", protocol: PROTO_UDP, id: 1,
      payload: encodeUdp({ srcPort, dstPort, payload }, "192.168.1.10", "192.168.1.20") }),
  });
}
const tftpData = (block: number) => udpFrame(49152, 1234, Uint8Array.of(0, 3, block >> 8, block & 255, 1, 2, 3));
const discover = udpFrame(68, 67, new Uint8Array(readFileSync(new URL("../data/dhcp/udhcpc-1.35-virt-arm64-discover.bin", import.meta.url))));

test("faults: frames are classified as the rules see them (TFTP opcode and block, DHCP type)", () => {
  assert.equal(classify(tftpData(37)).tftpBlock, 37);
  assert.equal(classify(tftpData(37)).tftpOpcode, 3);
  assert.equal(classify(discover).dhcpType, 1);
  assert.equal(classify(new Uint8Array(20)).protocol, "other");
  assert.equal(classify(Uint8Array.of(...new Uint8Array(12), 8, 0, 0x45)).protocol, "ipv4"); // cut short: no throw
});

test("faults: drop the 37th DATA block only, and log which frame it was", () => {
  const f = new FaultEngine(1);
  f.add({ name: "lose block 37", match: { tftpOpcode: "DATA", tftpBlock: 37 }, action: "drop" });
  const kept = [];
  for (let b = 1; b <= 40; b++) kept.push(f.decide(tftpData(b), "server").length);
  assert.equal(kept.filter((k) => k === 0).length, 1);
  assert.equal(kept[36], 0);
  assert.deepEqual(f.log.map((l) => [l.rule, l.frameNumber, l.summary.endsWith("TFTP DATA 37")]), [["lose block 37", 37, true]]);
});

test("faults: a seeded probability hits the same frames every run", () => {
  const run = () => {
    const f = new FaultEngine(42);
    f.add({ name: "10% loss", match: { protocol: "udp" }, probability: 0.1, action: "drop" });
    return Array.from({ length: 500 }, (_, i) => f.decide(tftpData(i + 1), "server").length);
  };
  const a = run(), b = run();
  assert.deepEqual(a, b);
  const lost = a.filter((x) => x === 0).length;
  assert.ok(lost > 25 && lost < 80, `lost ${lost} of 500`);
  assert.notDeepEqual(seededRandom(1)(), seededRandom(2)());
});

test("faults: first-k withholding, duplication, delay, truncation", () => {
  const f = new FaultEngine(1);
  f.add({ name: "no offer twice", match: { dhcpType: "DISCOVER" }, first: 2, action: "drop" });
  assert.deepEqual([1, 2, 3].map(() => f.decide(discover, "guest").length), [0, 0, 1]);
  const g = new FaultEngine(1);
  g.add({ name: "dup", match: { tftpOpcode: "DATA" }, action: "duplicate" });
  g.add({ name: "slow", match: { tftpOpcode: "DATA" }, action: "delay", delayMs: 50 });
  const d = g.decide(tftpData(1), "server");
  assert.deepEqual(d.map((x) => x.delayMs), [50, 50]);
  const h = new FaultEngine(1);
  h.add({ name: "cut", match: { port: 67 }, action: "truncate", keepBytes: 40 });
  assert.equal(h.decide(discover, "guest")[0]!.frame.length, 40);
  assert.equal(h.decide(tftpData(1), "server")[0]!.frame.length, tftpData(1).length);
});

test("faults: seededBytes is seededRandom's stream four bytes at a time, any length, the same for the same seed", () => {
  const r = seededRandom(9);
  const b = seededBytes(9, 4099);
  const v = new DataView(b.buffer);
  for (let i = 0; i + 4 <= 4096; i += 4) assert.equal(v.getUint32(i, true), Math.floor(r() * 2 ** 32), `word at ${i}`);
  assert.equal(b[4096], Math.floor(r() * 2 ** 32) & 0xff);
  assert.deepEqual(seededBytes(9, 4099), b);
  assert.notDeepEqual(seededBytes(10, 4099), b);
  assert.equal(seededBytes(1, 0).length, 0);
  assert.equal(seededBytes(1, 3).length, 3);
});
