import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Owner } from "../../harness/lifecycle/owner.ts";
import { LanSegment } from "../../harness/lan/segment.ts";
import { LabHost } from "../../harness/lan/host.ts";
import { seededRandom } from "../../harness/lan/faults.ts";
import { encodeEthernet } from "../../harness/lan/packets/ethernet.ts";
import { encodeIpv4, encodeUdp, PROTO_TCP, PROTO_UDP } from "../../harness/lan/packets/ipv4.ts";
import { encodeTcp, SYN } from "../../harness/lan/packets/tcp.ts";
import { DhcpServer, serveDhcp } from "../../harness/services/dhcp/server.ts";

const GUEST = "52:54:00:00:00:20";

function frameTo(host: LabHost, payload: Uint8Array, type = 0x0800): Uint8Array {
  return encodeEthernet({ dst: host.mac, src: GUEST, type, payload });
}

test("lan: truncated, lying and random frames of every protocol are counted, never thrown", async () => {
  const owner = new Owner("robustness");
  const seg = new LanSegment("fuzz", owner);
  const host = new LabHost(seg, { name: "server", mac: "52:54:00:00:00:10", ip: "192.168.1.10", prefix: 24 });
  const dhcp = new DhcpServer({ serverIp: "192.168.1.10", prefix: 24, pool: { start: "192.168.1.100", end: "192.168.1.110" } });
  await serveDhcp(host, dhcp);
  host.listenTcp(80, () => {});
  const wire = seg.addHostPort("guest", () => {});
  const discover = new Uint8Array(readFileSync(new URL("../data/dhcp/udhcpc-1.35-virt-arm64-discover.bin", import.meta.url)));
  const valid = [
    frameTo(host, encodeIpv4({ src: "0.0.0.0", dst: "255.255.255.255", protocol: PROTO_UDP, id: 1, payload: encodeUdp({ srcPort: 68, dstPort: 67, payload: discover }, "0.0.0.0", "255.255.255.255") })),
    frameTo(host, encodeIpv4({ src: "192.168.1.20", dst: "192.168.1.10", protocol: PROTO_TCP, id: 2, payload: encodeTcp({ srcPort: 40000, dstPort: 80, seq: 1, ack: 0, flags: SYN, window: 1000, mss: 1460, payload: new Uint8Array(0) }, "192.168.1.20", "192.168.1.10") })),
    frameTo(host, encodeIpv4({ src: "192.168.1.20", dst: "192.168.1.10", protocol: PROTO_UDP, id: 3, payload: encodeUdp({ srcPort: 1000, dstPort: 69, payload: Uint8Array.of(0, 1, 0x61, 0, 0x6f, 0x63, 0x74, 0x65, 0x74, 0) }, "192.168.1.20", "192.168.1.10") })),
    frameTo(host, Uint8Array.of(0, 1, 8, 0, 6, 4, 0, 1, 0x52, 0x54, 0, 0, 0, 0x20, 192, 168, 1, 20, 0, 0, 0, 0, 0, 0, 192, 168, 1, 10), 0x0806),
  ];
  const rnd = seededRandom(2024);
  let sent = 0;
  for (let i = 0; i < 4000; i++) {
    const base = valid[i % valid.length]!;
    let f = base.slice();
    switch (i % 4) {
      case 0: f = f.slice(0, Math.floor(rnd() * f.length)); break; // truncated anywhere
      case 1: f[16 + Math.floor(rnd() * 4)] = Math.floor(rnd() * 256); break; // lying IPv4/ARP lengths
      case 2: for (let k = 0; k < 4; k++) f[14 + Math.floor(rnd() * (f.length - 14))] = Math.floor(rnd() * 256); break;
      case 3: f = Uint8Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256)); break;
    }
    wire.send(f);
    sent++;
  }
  await new Promise((r) => setTimeout(r, 50)); // deliveries are asynchronous, like a wire
  const malformed = Object.entries(host.counters).filter(([k]) => k.startsWith("malformed")).reduce((a, [, v]) => a + v, 0);
  assert.ok(malformed > 500, `counted ${malformed} malformed of ${sent}: ${JSON.stringify(host.counters)}`);
  assert.ok(seg.counters.malformed > 0);
  host.close();
  await owner.close();
});
