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

// Both directions run several times per frame on the switch and the lab hosts: per character, no regex
// and no arrays (the array-and-join forms were a sixth of the lab's JavaScript per round trip).
const HEX_PAIRS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** The value of one hex digit's character code, or -1. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

export function macToBytes(mac: string): Uint8Array {
  const out = new Uint8Array(6);
  const ok = mac.length === 17 && out.every((_, i) => {
    const hi = hexDigit(mac.charCodeAt(i * 3)), lo = hexDigit(mac.charCodeAt(i * 3 + 1));
    out[i] = (hi << 4) | lo;
    return hi >= 0 && lo >= 0 && (i === 5 || mac.charCodeAt(i * 3 + 2) === 58);
  });
  if (!ok) throw new RangeError(`bad MAC address "${mac}"`);
  return out;
}

export function bytesToMac(b: Uint8Array, off = 0): string {
  const h = HEX_PAIRS;
  return `${h[b[off]!]}:${h[b[off + 1]!]}:${h[b[off + 2]!]}:${h[b[off + 3]!]}:${h[b[off + 4]!]}:${h[b[off + 5]!]}`;
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
