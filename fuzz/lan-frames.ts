// Seed frames for the LAN areas, made with bootlab's own encoders around real captured payloads: a guest's
// ARP, ping, DHCP (udhcpc's DISCOVER and REQUEST), TFTP (curl's RRQ and its ACKs), TCP to open and closed
// ports, UDP nobody listens to, a fragmented datagram, and a frame with IP options.

import { dataFile, hexCapture } from "./captures.ts";
import { LAB } from "./mutators/packets.ts";
import { ARP_REPLY, ARP_REQUEST, encodeArp } from "../harness/lan/packets/arp.ts";
import { BROADCAST_MAC, encodeEthernet, ETH_ARP, ETH_IPV4 } from "../harness/lan/packets/ethernet.ts";
import { encodeIcmp, encodeIpv4, encodeUdp, ICMP_ECHO_REQUEST, PROTO_ICMP, PROTO_TCP, PROTO_UDP } from "../harness/lan/packets/ipv4.ts";
import { ACK, encodeTcp, SYN } from "../harness/lan/packets/tcp.ts";

/** The first ephemeral port a fresh lab host gives out: the TFTP server's first transfer answers from it. */
export const FIRST_TRANSFER_PORT = 49153;

function ipFrame(src: string, dst: string, protocol: number, payload: Uint8Array, id: number, dstMac: string = LAB.serverMac): Uint8Array {
  return encodeEthernet({ dst: dstMac, src: LAB.guestMac, type: ETH_IPV4, payload: encodeIpv4({ src, dst, protocol, id, payload }) });
}

export function udpFrame(srcPort: number, dstPort: number, payload: Uint8Array, id = 1, src: string = LAB.guestIp, dst: string = LAB.serverIp): Uint8Array {
  const broadcast = dst === "255.255.255.255";
  return ipFrame(src, dst, PROTO_UDP, encodeUdp({ srcPort, dstPort, payload }, src, dst), id, broadcast ? BROADCAST_MAC : LAB.serverMac);
}

export function tcpFrame(dstPort: number, flags: number, seq: number, ack = 0, payload = new Uint8Array(0)): Uint8Array {
  const seg = encodeTcp({ srcPort: 40000, dstPort, seq, ack, flags, window: 64240, mss: flags & SYN ? 1460 : undefined, payload }, LAB.guestIp, LAB.serverIp);
  return ipFrame(LAB.guestIp, LAB.serverIp, PROTO_TCP, seg, 7);
}

/** Sequences of frames a guest sends, one sequence per seed. */
export function guestFrameSequences(): Uint8Array[][] {
  const arp = (op: number, targetIp: string) =>
    encodeEthernet({ dst: BROADCAST_MAC, src: LAB.guestMac, type: ETH_ARP, payload: encodeArp({ op, senderMac: LAB.guestMac, senderIp: LAB.guestIp, targetMac: "00:00:00:00:00:00", targetIp }) });
  const ping = (seq: number, size: number) =>
    ipFrame(LAB.guestIp, LAB.serverIp, PROTO_ICMP, encodeIcmp({ type: ICMP_ECHO_REQUEST, code: 0, id: 0x4242, seq, data: new Uint8Array(size).fill(seq) }), 100 + seq);
  const discover = dataFile("dhcp/udhcpc-1.35-malta-mipsel-discover.bin");
  const request = dataFile("dhcp/udhcpc-1.35-malta-mipsel-request.bin");
  const ubootDiscover = dataFile("dhcp/u-boot-2023.01-virt-arm64-discover.bin");
  const tftp = hexCapture("tftp/exchange-curl-7.88.1-tftpd-hpa-5.2.hex").filter((c) => c.from === "c").map((c) => c.bytes);
  const big = udpFrame(68, 67, discover, 9, "0.0.0.0", "255.255.255.255");
  // The DISCOVER in two fragments, as a guest with a small MTU would send it.
  const ipAt = 14, body = big.subarray(ipAt + 20);
  const frag = (at: number, n: number, last: boolean) => {
    const f = encodeEthernet({ dst: BROADCAST_MAC, src: LAB.guestMac, type: ETH_IPV4, payload: encodeIpv4({ src: "0.0.0.0", dst: "255.255.255.255", protocol: PROTO_UDP, id: 0x777, payload: body.subarray(at, at + n) }) });
    const v = new DataView(f.buffer);
    v.setUint16(ipAt + 6, (last ? 0 : 0x2000) | (at / 8));
    v.setUint16(ipAt + 10, 0);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += v.getUint16(ipAt + i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    v.setUint16(ipAt + 10, ~sum & 0xffff);
    return f;
  };
  const withOptions = (() => {
    const f = ping(9, 8);
    const out = new Uint8Array(f.length + 4);
    out.set(f.subarray(0, 34));
    out.set([1, 1, 1, 0], 34);
    out.set(f.subarray(34), 38);
    out[14] = 0x46;
    return out;
  })();
  return [
    [arp(ARP_REQUEST, LAB.serverIp), ping(1, 56), ping(2, 1400)],
    [arp(ARP_REPLY, LAB.guestIp), arp(ARP_REQUEST, LAB.otherIp)],
    [big, udpFrame(68, 67, request, 10, "0.0.0.0", "255.255.255.255")],
    [udpFrame(68, 67, ubootDiscover, 11, "0.0.0.0", "255.255.255.255")],
    [udpFrame(1234, 69, tftp[0]!, 20), ...tftp.slice(1).map((ack, i) => udpFrame(1234, FIRST_TRANSFER_PORT, ack, 21 + i))],
    [udpFrame(1234, 69, tftp[0]!, 20), udpFrame(1234, 69, tftp[0]!, 20), udpFrame(1235, FIRST_TRANSFER_PORT, tftp[1]!, 30)],
    [tcpFrame(80, SYN, 5000), tcpFrame(80, ACK, 5001, 1), tcpFrame(81, SYN, 9000), tcpFrame(81, ACK, 9001, 77)],
    [udpFrame(5000, 5001, new TextEncoder().encode("nobody listens here"), 40)],
    [frag(0, 160, false), frag(160, body.length - 160, true)],
    [withOptions],
  ];
}
