// TCP segments (RFC 793/9293). Pure and total: anything short, lying or with a bad checksum decodes to an
// error string. Of the options only MSS and window scale are read or sent: without SACK or timestamps in
// our SYN, the peer uses neither.

import { checksum, ipToBytes, PROTO_TCP } from "./ipv4.ts";

export const FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;

export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  mss?: number;
  /** Window scale shift (RFC 7323), only in SYN segments. */
  wscale?: number;
  payload: Uint8Array;
}

function pseudo(src: string, dst: string, length: number): number {
  const s = ipToBytes(src), d = ipToBytes(dst);
  return ((s[0]! << 8) | s[1]!) + ((s[2]! << 8) | s[3]!) + ((d[0]! << 8) | d[1]!) + ((d[2]! << 8) | d[3]!) + PROTO_TCP + length;
}

export function decodeTcp(b: Uint8Array, src: string, dst: string): TcpSegment | string {
  if (b.length < 20) return "TCP: shorter than a header";
  const off = (b[12]! >> 4) * 4;
  if (off < 20 || off > b.length) return `TCP: data offset ${off} outside a ${b.length}-byte segment`;
  if (checksum(b, pseudo(src, dst, b.length)) !== 0) return "TCP: bad checksum";
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const seg: TcpSegment = {
    srcPort: v.getUint16(0), dstPort: v.getUint16(2), seq: v.getUint32(4), ack: v.getUint32(8),
    flags: b[13]! & 0x3f, window: v.getUint16(14), payload: b.subarray(off),
  };
  for (let i = 20; i < off;) {
    const kind = b[i]!;
    if (kind === 0) break;
    if (kind === 1) { i++; continue; }
    const len = b[i + 1] ?? 0;
    if (len < 2 || i + len > off) return "TCP: malformed option";
    if (kind === 2 && len === 4) seg.mss = (b[i + 2]! << 8) | b[i + 3]!;
    if (kind === 3 && len === 3) seg.wscale = Math.min(14, b[i + 2]!);
    i += len;
  }
  return seg;
}

export function encodeTcp(s: TcpSegment, src: string, dst: string): Uint8Array {
  const hdr = 20 + (s.mss !== undefined ? 4 : 0) + (s.wscale !== undefined ? 4 : 0);
  const b = new Uint8Array(hdr + s.payload.length);
  const v = new DataView(b.buffer);
  v.setUint16(0, s.srcPort); v.setUint16(2, s.dstPort);
  v.setUint32(4, s.seq >>> 0); v.setUint32(8, s.ack >>> 0);
  b[12] = (hdr / 4) << 4;
  b[13] = s.flags;
  v.setUint16(14, s.window);
  let o = 20;
  if (s.mss !== undefined) {
    b[o] = 2; b[o + 1] = 4; v.setUint16(o + 2, s.mss);
    o += 4;
  }
  if (s.wscale !== undefined) {
    b[o] = 1; b[o + 1] = 3; b[o + 2] = 3; b[o + 3] = s.wscale;
  }
  b.set(s.payload, hdr);
  v.setUint16(16, checksum(b, pseudo(src, dst, b.length)));
  return b;
}

/** Sequence-number comparison modulo 2^32. */
export const seqLt = (a: number, b: number): boolean => ((a - b) | 0) < 0;
export const seqLe = (a: number, b: number): boolean => ((a - b) | 0) <= 0;
export const seqAdd = (a: number, n: number): number => (a + n) >>> 0;
export const seqDiff = (a: number, b: number): number => (a - b) | 0;
