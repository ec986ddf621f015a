// IPv4 (RFC 791), UDP (RFC 768) and ICMP echo (RFC 792). Pure and total: anything that lies about its
// length, carries a bad checksum or is cut short decodes to an error string, never an exception.

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

/** Dotted quad to bytes, read per character (it runs for every packet a lab host sends). */
export function ipToBytes(ip: string): Uint8Array {
  const out = new Uint8Array(4);
  let part = 0, digits = 0, value = 0;
  for (let i = 0; i <= ip.length && part < 4; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 46;
    if (c >= 48 && c <= 57 && digits < 3) {
      value = value * 10 + (c - 48);
      digits++;
    } else if (c === 46 && digits > 0 && value <= 255 && (i < ip.length) === (part < 3)) {
      out[part++] = value;
      digits = 0;
      value = 0;
    } else break;
  }
  if (part !== 4) throw new RangeError(`bad IPv4 address "${ip}"`);
  return out;
}

export function bytesToIp(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

export function ipToNumber(ip: string): number {
  const b = ipToBytes(ip);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

export function numberToIp(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** The Internet checksum (RFC 1071) over `b`, with an optional starting sum (pseudo-headers). */
export function checksum(b: Uint8Array, start = 0): number {
  let sum = start;
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (b.length % 2) sum += b[b.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface Ipv4Packet {
  src: string;
  dst: string;
  protocol: number;
  ttl: number;
  id: number;
  /** Fragment offset in bytes, and whether more fragments follow. */
  fragmentOffset: number;
  moreFragments: boolean;
  payload: Uint8Array;
}

export function decodeIpv4(b: Uint8Array): Ipv4Packet | string {
  if (b.length < 20) return "IPv4: shorter than a header";
  if (b[0]! >> 4 !== 4) return "IPv4: version is not 4";
  const ihl = (b[0]! & 15) * 4;
  const total = (b[2]! << 8) | b[3]!;
  if (ihl < 20 || total < ihl || total > b.length) return `IPv4: header says ${total} bytes (IHL ${ihl}), frame holds ${b.length}`;
  if (checksum(b.subarray(0, ihl)) !== 0) return "IPv4: bad header checksum";
  const flags = (b[6]! << 8) | b[7]!;
  return {
    src: bytesToIp(b, 12),
    dst: bytesToIp(b, 16),
    protocol: b[9]!,
    ttl: b[8]!,
    id: (b[4]! << 8) | b[5]!,
    fragmentOffset: (flags & 0x1fff) * 8,
    moreFragments: (flags & 0x2000) !== 0,
    // Ethernet padding after `total` is not part of the packet.
    payload: b.subarray(ihl, total),
  };
}

export function encodeIpv4(p: { src: string; dst: string; protocol: number; id: number; ttl?: number; payload: Uint8Array; dontFragment?: boolean }): Uint8Array {
  const b = new Uint8Array(20 + p.payload.length);
  b[0] = 0x45;
  b[2] = b.length >> 8;
  b[3] = b.length & 0xff;
  b[4] = (p.id >> 8) & 0xff;
  b[5] = p.id & 0xff;
  b[6] = p.dontFragment ? 0x40 : 0;
  b[8] = p.ttl ?? 64;
  b[9] = p.protocol;
  b.set(ipToBytes(p.src), 12);
  b.set(ipToBytes(p.dst), 16);
  const c = checksum(b.subarray(0, 20));
  b[10] = c >> 8;
  b[11] = c & 0xff;
  b.set(p.payload, 20);
  return b;
}

function pseudoHeaderSum(src: string, dst: string, protocol: number, length: number): number {
  const s = ipToBytes(src), d = ipToBytes(dst);
  return ((s[0]! << 8) | s[1]!) + ((s[2]! << 8) | s[3]!) + ((d[0]! << 8) | d[1]!) + ((d[2]! << 8) | d[3]!) + protocol + length;
}

export interface UdpDatagram {
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

export function decodeUdp(b: Uint8Array, src: string, dst: string): UdpDatagram | string {
  if (b.length < 8) return "UDP: shorter than a header";
  const len = (b[4]! << 8) | b[5]!;
  if (len < 8 || len > b.length) return `UDP: header says ${len} bytes, packet holds ${b.length}`;
  const sum = (b[6]! << 8) | b[7]!;
  if (sum !== 0 && checksum(b.subarray(0, len), pseudoHeaderSum(src, dst, PROTO_UDP, len)) !== 0) return "UDP: bad checksum";
  return { srcPort: (b[0]! << 8) | b[1]!, dstPort: (b[2]! << 8) | b[3]!, payload: b.subarray(8, len) };
}

export function encodeUdp(d: UdpDatagram, src: string, dst: string): Uint8Array {
  const len = 8 + d.payload.length;
  const b = new Uint8Array(len);
  b[0] = d.srcPort >> 8; b[1] = d.srcPort & 0xff;
  b[2] = d.dstPort >> 8; b[3] = d.dstPort & 0xff;
  b[4] = len >> 8; b[5] = len & 0xff;
  b.set(d.payload, 8);
  const c = checksum(b, pseudoHeaderSum(src, dst, PROTO_UDP, len)) || 0xffff;
  b[6] = c >> 8; b[7] = c & 0xff;
  return b;
}

export interface IcmpMessage {
  type: number;
  code: number;
  /** For echo: identifier and sequence number. */
  id: number;
  seq: number;
  data: Uint8Array;
}

export const ICMP_ECHO_REPLY = 0;
export const ICMP_ECHO_REQUEST = 8;

export function decodeIcmp(b: Uint8Array): IcmpMessage | string {
  if (b.length < 8) return "ICMP: shorter than a header";
  if (checksum(b) !== 0) return "ICMP: bad checksum";
  return { type: b[0]!, code: b[1]!, id: (b[4]! << 8) | b[5]!, seq: (b[6]! << 8) | b[7]!, data: b.subarray(8) };
}

export function encodeIcmp(m: IcmpMessage): Uint8Array {
  const b = new Uint8Array(8 + m.data.length);
  b[0] = m.type; b[1] = m.code;
  b[4] = m.id >> 8; b[5] = m.id & 0xff;
  b[6] = m.seq >> 8; b[7] = m.seq & 0xff;
  b.set(m.data, 8);
  const c = checksum(b);
  b[2] = c >> 8; b[3] = c & 0xff;
  return b;
}
