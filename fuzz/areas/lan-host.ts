// The lab's own host on the LAN (harness/lan/host.ts) with its services, fed a guest's frames: Ethernet, ARP,
// IPv4 with options and fragments (reassembly), ICMP echo, UDP to the DHCP and TFTP servers and to nobody,
// TCP to an open and a closed port. Everything the host sends back must itself decode.

import type { Area } from "../area.ts";
import { setImmediate } from "node:timers";
import { FIRST_TRANSFER_PORT, guestFrameSequences } from "../lan-frames.ts";
import { BOOTP_MUTATORS } from "../mutators/bootp.ts";
import { BYTE_MUTATORS } from "../mutators/bytes.ts";
import { fragmentFrames, frameMutators, LAB } from "../mutators/packets.ts";
import { recordMutators } from "../mutators/records.ts";
import { TFTP_MUTATORS } from "../mutators/tftp.ts";
import { decodeRecords, encodeRecords } from "../records.ts";
import { decodeArp } from "../../harness/lan/packets/arp.ts";
import { decodeEthernet, ETH_ARP, ETH_IPV4 } from "../../harness/lan/packets/ethernet.ts";
import { decodeIcmp, decodeIpv4, decodeUdp, PROTO_ICMP, PROTO_TCP, PROTO_UDP } from "../../harness/lan/packets/ipv4.ts";
import { decodeTcp } from "../../harness/lan/packets/tcp.ts";
import { LabHost } from "../../harness/lan/host.ts";
import { LanSegment } from "../../harness/lan/segment.ts";
import { Owner } from "../../harness/lifecycle/owner.ts";
import { DhcpServer, serveDhcp } from "../../harness/services/dhcp/server.ts";
import { TftpServer } from "../../harness/services/tftp/server.ts";

const turn = () => new Promise<void>((r) => setImmediate(r));
const KERNEL = Uint8Array.from({ length: 3000 }, (_, i) => (i * 13) & 0xff);

/** What a frame the host sent fails to be, if anything. */
export function badFrame(f: Uint8Array): string | undefined {
  const eth = decodeEthernet(f);
  if (!eth || f.length < 60) return `an Ethernet frame of ${f.length} bytes`;
  if (eth.type === ETH_ARP) return decodeArp(eth.payload) ? undefined : "an ARP packet that does not decode";
  if (eth.type !== ETH_IPV4) return `ethertype 0x${eth.type.toString(16)}`;
  const ip = decodeIpv4(eth.payload);
  if (typeof ip === "string") return ip;
  if (ip.protocol === PROTO_UDP) {
    const u = decodeUdp(ip.payload, ip.src, ip.dst);
    return typeof u === "string" ? u : undefined;
  }
  if (ip.protocol === PROTO_TCP) {
    const t = decodeTcp(ip.payload, ip.src, ip.dst);
    return typeof t === "string" ? t : undefined;
  }
  if (ip.protocol === PROTO_ICMP) {
    const m = decodeIcmp(ip.payload);
    return typeof m === "string" ? m : undefined;
  }
  return `IP protocol ${ip.protocol}`;
}

/** The deepest thing an input reached, from the host's and services' records. */
function reached(host: LabHost, dhcp: DhcpServer, tftp: TftpServer, answered: number): string {
  const c = host.counters;
  const kind = answered ? "answered" : "silent";
  if (tftp.requests.some((r) => r.result === "started")) return `${kind}:tftp ${tftp.log.at(-1)?.outcome ?? "running"}`;
  if (dhcp.log.some((e) => e.reply)) return `${kind}:dhcp ${dhcp.log.at(-1)!.reply ?? "ignored"}`;
  for (const k of ["tcp: reset sent", "icmp: echo answered", "arp: answered", "udp: no listener"]) if (c[k]) return `${kind}:${k.split(":")[0]}`;
  if (tftp.requests.length || dhcp.log.length) return `${kind}:refused by a service`;
  const malformed = Object.keys(c).find((k) => k.startsWith("malformed"));
  return malformed ? `dropped:${malformed}` : `${kind}:nothing for us`;
}

export function lanHostArea(): Area {
  const seeds = guestFrameSequences().map((frames) => encodeRecords(frames));
  const payload = { udp: { 67: BOOTP_MUTATORS, 69: TFTP_MUTATORS, [FIRST_TRANSFER_PORT]: TFTP_MUTATORS } };
  return {
    name: "lan-host",
    corpus: () => seeds,
    mutators: [
      ...recordMutators({ inner: [...frameMutators(payload), ...frameMutators(payload), ...BYTE_MUTATORS], maxRecords: 24 }),
      fragmentFrames(),
    ],
    maxBytes: 24 * 1024,
    expects: ["answered:tftp", "answered:dhcp", "answered:tcp", "answered:icmp", "answered:arp", "silent:udp", "dropped:malformed"],
    async run(input) {
      const owner = new Owner("fuzz lan-host");
      const segment = new LanSegment("fuzz", owner);
      const host = new LabHost(segment, { name: "server", mac: LAB.serverMac, ip: LAB.serverIp, prefix: 24 });
      const dhcp = new DhcpServer({ serverIp: LAB.serverIp, prefix: 24, pool: { start: "192.168.1.100", end: "192.168.1.110" }, file: "kernel" });
      const dhcpSocket = await serveDhcp(host, dhcp);
      const tftp = await TftpServer.start({ network: host, files: { kernel: KERNEL }, transfer: { maxRetries: 1 } });
      host.listenTcp(80, (c) => c.destroy());
      const sent: Uint8Array[] = [];
      const wire = segment.addHostPort("guest", (f) => sent.push(f));
      try {
        for (const f of decodeRecords(input)) {
          wire.send(f);
          // A macrotask between frames: a TFTP transfer starts (its socket binds) before the next frame comes.
          await turn();
        }
        await turn();
        for (const f of sent) {
          const bad = badFrame(f);
          if (bad) throw new Error(`the lab host sent a frame that does not decode: ${bad}`);
        }
        return reached(host, dhcp, tftp, sent.length);
      } finally {
        await tftp.close();
        dhcpSocket.close();
        host.close();
        await owner.close();
      }
    },
  };
}
