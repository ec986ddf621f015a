import { test } from "node:test";
import assert from "node:assert/strict";
import {
  checksum, decodeIcmp, decodeIpv4, decodeUdp, encodeIcmp, encodeIpv4, encodeUdp, ipToBytes, PROTO_UDP,
} from "../../harness/lan/packets/ipv4.ts";
import { decodeArp, encodeArp } from "../../harness/lan/packets/arp.ts";
import { bytesToMac, decodeEthernet, encodeEthernet, macToBytes } from "../../harness/lan/packets/ethernet.ts";
import { Reassembler } from "../../harness/lan/reassembly.ts";

const udp = () => encodeIpv4({ src: "192.168.1.20", dst: "192.168.1.10", protocol: PROTO_UDP, id: 7,
  payload: encodeUdp({ srcPort: 1234, dstPort: 69, payload: new TextEncoder().encode("hello") }, "192.168.1.20", "192.168.1.10") });

test("lan: IPv4 + UDP round trip with valid checksums", () => {
  const p = decodeIpv4(udp());
  assert.ok(typeof p !== "string");
  assert.equal(checksum(udp().subarray(0, 20)), 0);
  const u = decodeUdp(p.payload, p.src, p.dst);
  assert.ok(typeof u !== "string");
  assert.equal(new TextDecoder().decode(u.payload), "hello");
});

test("lan: Ethernet padding after the IPv4 total length is not payload", () => {
  const frame = decodeEthernet(encodeEthernet({ dst: "ff:ff:ff:ff:ff:ff", src: "52:54:00:00:00:01", type: 0x0800, payload: udp() }))!;
  assert.equal(frame.payload.length, 46); // 60-byte minimum frame
  const p = decodeIpv4(frame.payload);
  assert.ok(typeof p !== "string");
  assert.equal(p.payload.length, 8 + 5);
});

test("lan: packets that lie about their length or checksum are refused with a reason", () => {
  const b = udp();
  const longer = b.slice(); longer[3] = 200; // total length beyond the frame
  assert.match(decodeIpv4(longer) as string, /header says/);
  const badSum = b.slice(); badSum[10] = badSum[10]! ^ 1;
  assert.match(decodeIpv4(badSum) as string, /checksum/);
  assert.match(decodeIpv4(b.subarray(0, 10)) as string, /shorter/);
  const p = decodeIpv4(b) as { payload: Uint8Array; src: string; dst: string };
  const u = p.payload.slice(); u[5] = 200; // UDP length beyond the packet
  assert.match(decodeUdp(u, p.src, p.dst) as string, /header says 200/);
  const corrupt = p.payload.slice(); corrupt[9] = corrupt[9]! ^ 0x55;
  assert.match(decodeUdp(corrupt, p.src, p.dst) as string, /bad checksum/);
  assert.match(decodeIcmp(new Uint8Array(4)) as string, /shorter/);
  assert.equal(decodeArp(new Uint8Array(27)), undefined);
  assert.equal(decodeEthernet(new Uint8Array(13)), undefined);
});

test("lan: ICMP echo and ARP round trip", () => {
  const m = decodeIcmp(encodeIcmp({ type: 8, code: 0, id: 9, seq: 3, data: new Uint8Array([1, 2, 3]) }));
  assert.ok(typeof m !== "string");
  assert.deepEqual([m.type, m.id, m.seq, [...m.data]], [8, 9, 3, [1, 2, 3]]);
  const a = { op: 1, senderMac: "52:54:00:00:00:01", senderIp: "10.0.0.1", targetMac: "00:00:00:00:00:00", targetIp: "10.0.0.2" };
  assert.deepEqual(decodeArp(encodeArp(a)), a);
});

test("lan: fragments reassemble in any order, duplicates ignored; incomplete ones expire", () => {
  const whole = new Uint8Array(3000).map((_, i) => i & 0xff);
  const frag = (off: number, len: number, more: boolean) => ({
    src: "192.168.1.20", dst: "192.168.1.10", protocol: 17, ttl: 64, id: 42, fragmentOffset: off, moreFragments: more, payload: whole.subarray(off, off + len),
  });
  const r = new Reassembler(1000);
  assert.equal(r.push(frag(2960, 40, false), 0), undefined);
  assert.equal(r.push(frag(0, 1480, true), 1), undefined);
  assert.equal(r.push(frag(0, 1480, true), 2), undefined);
  const done = r.push(frag(1480, 1480, true), 3);
  assert.deepEqual(done?.payload, whole);
  assert.equal(r.push(frag(0, 1480, true), 10), undefined);
  r.push(frag(0, 8, false), 5000); // any later push sweeps the stale entry
  assert.equal(r.expired, 1);
});

test("addresses: MACs and dotted quads to bytes and back; anything else is refused with the text it got", () => {
  for (const ip of ["0.0.0.0", "255.255.255.255", "192.168.1.10", "10.0.2.15", "1.22.133.4"]) assert.equal(Array.from(ipToBytes(ip)).join("."), ip);
  assert.deepEqual(Array.from(ipToBytes("010.2.3.4")), [10, 2, 3, 4]);
  for (const bad of ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "1.2.3.", ".1.2.3", "1.2.3.4 ", "1.2.3.a", "1234.1.1.1", "-1.2.3.4"]) {
    assert.throws(() => ipToBytes(bad), new RangeError(`bad IPv4 address "${bad}"`));
  }
  for (const mac of ["52:54:00:12:34:56", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00"]) assert.equal(bytesToMac(macToBytes(mac)), mac);
  assert.equal(bytesToMac(macToBytes("AB:cd:Ef:01:23:45")), "ab:cd:ef:01:23:45");
  assert.equal(bytesToMac(Uint8Array.of(9, 9, 0x52, 0x54, 0, 0xaa, 1, 2), 2), "52:54:00:aa:01:02");
  for (const bad of ["", "52:54:00:12:34", "52:54:00:12:34:5g", "52-54-00-12-34-56", "52:54:00:12:34:567", "52:54:00:12:34:56:", " 52:54:00:12:34:5"]) {
    assert.throws(() => macToBytes(bad), new RangeError(`bad MAC address "${bad}"`));
  }
});
