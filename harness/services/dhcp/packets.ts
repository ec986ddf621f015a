// BOOTP (RFC 951) and DHCP (RFC 2131/2132) messages. Pure and total: decoding returns an error string for
// anything truncated or inconsistent. Replies are padded to BOOTP's 300-byte minimum, which some clients
// (and U-Boot's BOOTP) require.

import { bytesToMac, macToBytes } from "../../lan/packets/ethernet.ts";
import { bytesToIp, ipToBytes } from "../../lan/packets/ipv4.ts";

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
const MAGIC = [99, 130, 83, 99];

export const DHCP = { DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8 } as const;
export const DHCP_TYPE_NAMES: Record<number, string> = {
  1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK", 7: "RELEASE", 8: "INFORM",
};

export const OPT = {
  SUBNET_MASK: 1, ROUTER: 3, DNS: 6, HOSTNAME: 12, BOOT_SIZE: 13, DOMAIN: 15, ROOT_PATH: 17, BROADCAST: 28,
  REQUESTED_IP: 50, LEASE_TIME: 51, OVERLOAD: 52, MESSAGE_TYPE: 53, SERVER_ID: 54, PARAM_LIST: 55, MESSAGE: 56,
  MAX_SIZE: 57, RENEWAL: 58, REBINDING: 59, VENDOR_CLASS: 60, CLIENT_ID: 61, TFTP_SERVER: 66, BOOTFILE: 67, END: 255, PAD: 0,
} as const;

export interface BootpMessage {
  op: number;
  xid: number;
  secs: number;
  /** The broadcast flag (0x8000): the client cannot receive unicast before it has an address. */
  broadcast: boolean;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  chaddr: string;
  sname: string;
  file: string;
  /** DHCP/vendor options in order; undefined for a plain BOOTP message without the magic cookie. */
  options?: Map<number, Uint8Array>;
}

function cstring(b: Uint8Array): string {
  const end = b.indexOf(0);
  return new TextDecoder("latin1").decode(end < 0 ? b : b.subarray(0, end));
}

export function decodeBootp(b: Uint8Array): BootpMessage | string {
  if (b.length < 236) return `BOOTP: ${b.length} bytes, shorter than the 236-byte fixed part`;
  if (b[1] !== 1 || b[2] !== 6) return `BOOTP: hardware type ${b[1]}/length ${b[2]} is not Ethernet`;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const msg: BootpMessage = {
    op: b[0]!,
    xid: v.getUint32(4),
    secs: v.getUint16(8),
    broadcast: (v.getUint16(10) & 0x8000) !== 0,
    ciaddr: bytesToIp(b, 12),
    yiaddr: bytesToIp(b, 16),
    siaddr: bytesToIp(b, 20),
    giaddr: bytesToIp(b, 24),
    chaddr: bytesToMac(b, 28),
    sname: cstring(b.subarray(44, 108)),
    file: cstring(b.subarray(108, 236)),
  };
  if (msg.op !== BOOTREQUEST && msg.op !== BOOTREPLY) return `BOOTP: op ${msg.op} is neither request nor reply`;
  if (b.length >= 240 && MAGIC.every((m, i) => b[236 + i] === m)) {
    const opts = new Map<number, Uint8Array>();
    let i = 240;
    while (i < b.length) {
      const code = b[i]!;
      if (code === OPT.PAD) { i++; continue; }
      if (code === OPT.END) break;
      if (i + 1 >= b.length) return `BOOTP: option ${code} cut off before its length`;
      const len = b[i + 1]!;
      if (i + 2 + len > b.length) return `BOOTP: option ${code} says ${len} bytes, ${b.length - i - 2} left`;
      const prev = opts.get(code);
      const val = b.subarray(i + 2, i + 2 + len);
      // RFC 3396: a repeated option is concatenated.
      opts.set(code, prev ? Uint8Array.from([...prev, ...val]) : val);
      i += 2 + len;
    }
    msg.options = opts;
  }
  return msg;
}

export function encodeBootp(m: BootpMessage): Uint8Array {
  const opts: number[] = [];
  if (m.options) {
    opts.push(...MAGIC);
    for (const [code, val] of m.options) {
      for (let off = 0; off < val.length || off === 0; off += 255) {
        const chunk = val.subarray(off, off + 255);
        opts.push(code, chunk.length, ...chunk);
        if (val.length === 0) break;
      }
    }
    opts.push(OPT.END);
  }
  const b = new Uint8Array(Math.max(300, 236 + opts.length));
  const v = new DataView(b.buffer);
  b[0] = m.op; b[1] = 1; b[2] = 6;
  v.setUint32(4, m.xid);
  v.setUint16(8, m.secs);
  v.setUint16(10, m.broadcast ? 0x8000 : 0);
  b.set(ipToBytes(m.ciaddr), 12);
  b.set(ipToBytes(m.yiaddr), 16);
  b.set(ipToBytes(m.siaddr), 20);
  b.set(ipToBytes(m.giaddr), 24);
  b.set(macToBytes(m.chaddr), 28);
  const enc = new TextEncoder();
  b.set(enc.encode(m.sname).subarray(0, 63), 44);
  b.set(enc.encode(m.file).subarray(0, 127), 108);
  b.set(opts, 236);
  return b;
}

export function optString(m: BootpMessage, code: number): string | undefined {
  const v = m.options?.get(code);
  return v ? new TextDecoder("latin1").decode(v).replace(/\0+$/, "") : undefined;
}

export function optIp(m: BootpMessage, code: number): string | undefined {
  const v = m.options?.get(code);
  return v && v.length >= 4 ? bytesToIp(v) : undefined;
}

export function messageType(m: BootpMessage): number | undefined {
  return m.options?.get(OPT.MESSAGE_TYPE)?.[0];
}
