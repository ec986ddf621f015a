// ARP for IPv4 over Ethernet (RFC 826). Pure and total.

import { bytesToMac, macToBytes } from "./ethernet.ts";
import { bytesToIp, ipToBytes } from "./ipv4.ts";

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

export interface ArpPacket {
  op: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

export function decodeArp(b: Uint8Array): ArpPacket | undefined {
  if (b.length < 28) return undefined;
  // Only Ethernet (1) / IPv4 (0x0800) with 6- and 4-byte addresses.
  if (b[0] !== 0 || b[1] !== 1 || b[2] !== 0x08 || b[3] !== 0 || b[4] !== 6 || b[5] !== 4) return undefined;
  return {
    op: (b[6]! << 8) | b[7]!,
    senderMac: bytesToMac(b, 8),
    senderIp: bytesToIp(b, 14),
    targetMac: bytesToMac(b, 18),
    targetIp: bytesToIp(b, 24),
  };
}

export function encodeArp(p: ArpPacket): Uint8Array {
  const b = new Uint8Array(28);
  b.set([0, 1, 0x08, 0, 6, 4, p.op >> 8, p.op & 0xff]);
  b.set(macToBytes(p.senderMac), 8);
  b.set(ipToBytes(p.senderIp), 14);
  b.set(macToBytes(p.targetMac), 18);
  b.set(ipToBytes(p.targetIp), 24);
  return b;
}
