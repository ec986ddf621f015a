// Ethernet II frames. Pure and total: a frame too short to hold a header decodes to undefined.

export const ETH_IPV4 = 0x0800;
export const ETH_ARP = 0x0806;
export const BROADCAST_MAC = "ff:ff:ff:ff:ff:ff";

export interface EthernetFrame {
  dst: string;
  src: string;
  type: number;
  payload: Uint8Array;
}

export function macToBytes(mac: string): Uint8Array {
  const parts = mac.split(":");
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new RangeError(`bad MAC address "${mac}"`);
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export function bytesToMac(b: Uint8Array, off = 0): string {
  return Array.from(b.subarray(off, off + 6), (x) => x.toString(16).padStart(2, "0")).join(":");
}

export function decodeEthernet(frame: Uint8Array): EthernetFrame | undefined {
  if (frame.length < 14) return undefined;
  return { dst: bytesToMac(frame, 0), src: bytesToMac(frame, 6), type: (frame[12]! << 8) | frame[13]!, payload: frame.subarray(14) };
}

/** Builds a frame, padded to the 60-byte minimum (QEMU guests send unpadded frames; we need not). */
export function encodeEthernet(f: EthernetFrame): Uint8Array {
  const out = new Uint8Array(Math.max(60, 14 + f.payload.length));
  out.set(macToBytes(f.dst), 0);
  out.set(macToBytes(f.src), 6);
  out[12] = f.type >> 8;
  out[13] = f.type & 0xff;
  out.set(f.payload, 14);
  return out;
}
