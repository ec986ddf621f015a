// Deterministic, seeded fault injection on the lab LAN. A rule matches frames by what they are (protocol,
// UDP port, TFTP opcode and block, DHCP message type, MAC, direction), chooses which of the matches to hit
// (the Nth ones, the first k, a seeded probability), and does one thing: drop, duplicate, delay, reorder,
// corrupt or truncate. Every firing is logged with the frame's number and summary. Pure: the switch asks
// `decide` and carries out what it says.

import { bytesToMac } from "./packets/ethernet.ts";
import { decodeIpv4, PROTO_ICMP, PROTO_TCP, PROTO_UDP } from "./packets/ipv4.ts";

export interface FrameFacts {
  src: string;
  dst: string;
  protocol?: "arp" | "ipv4" | "udp" | "tcp" | "icmp" | "other";
  srcPort?: number;
  dstPort?: number;
  tftpOpcode?: number;
  tftpBlock?: number;
  dhcpType?: number;
  summary: string;
}

const TFTP_OP = ["?", "RRQ", "WRQ", "DATA", "ACK", "ERROR", "OACK"];

/** What a frame is, as far as the rules care. Never throws. */
export function classify(frame: Uint8Array): FrameFacts {
  const f: FrameFacts = { src: bytesToMac(frame, 6), dst: bytesToMac(frame, 0), summary: "" };
  const type = (frame[12]! << 8) | frame[13]!;
  if (type === 0x0806) return { ...f, protocol: "arp", summary: "ARP" };
  if (type !== 0x0800) return { ...f, protocol: "other", summary: `ethertype 0x${type.toString(16)}` };
  const ip = decodeIpv4(frame.subarray(14));
  if (typeof ip === "string") return { ...f, protocol: "ipv4", summary: ip };
  if (ip.protocol === PROTO_ICMP) return { ...f, protocol: "icmp", summary: `ICMP ${ip.src} → ${ip.dst}` };
  if (ip.protocol === PROTO_TCP) {
    const p = ip.payload;
    return { ...f, protocol: "tcp", srcPort: (p[0]! << 8) | p[1]!, dstPort: (p[2]! << 8) | p[3]!, summary: `TCP ${ip.src} → ${ip.dst}` };
  }
  if (ip.protocol !== PROTO_UDP || ip.fragmentOffset !== 0) return { ...f, protocol: "ipv4", summary: `IPv4 proto ${ip.protocol}` };
  // Checksums are not verified here: a corrupt datagram is still "TFTP DATA" for matching purposes.
  const p = ip.payload;
  if (p.length < 8) return { ...f, protocol: "udp", summary: "UDP (truncated)" };
  const u = { srcPort: (p[0]! << 8) | p[1]!, dstPort: (p[2]! << 8) | p[3]!, payload: p.subarray(8) };
  const out: FrameFacts = { ...f, protocol: "udp", srcPort: u.srcPort, dstPort: u.dstPort, summary: `UDP ${ip.src}:${u.srcPort} → ${ip.dst}:${u.dstPort}` };
  if ([67, 68].includes(u.dstPort) && u.payload.length > 240) {
    for (let i = 240; i + 1 < u.payload.length;) {
      const code = u.payload[i]!;
      if (code === 0) { i++; continue; }
      if (code === 255) break;
      if (code === 53) {
        out.dhcpType = u.payload[i + 2];
        break;
      }
      i += 2 + u.payload[i + 1]!;
    }
    out.summary += out.dhcpType ? ` DHCP type ${out.dhcpType}` : " BOOTP";
  } else if (u.payload.length >= 2 && u.payload[0] === 0 && u.payload[1]! >= 1 && u.payload[1]! <= 6) {
    out.tftpOpcode = u.payload[1];
    if ((out.tftpOpcode === 3 || out.tftpOpcode === 4) && u.payload.length >= 4) out.tftpBlock = (u.payload[2]! << 8) | u.payload[3]!;
    out.summary += ` TFTP ${TFTP_OP[out.tftpOpcode!]}${out.tftpBlock !== undefined ? " " + out.tftpBlock : ""}`;
  }
  return out;
}

export interface FaultMatch {
  /** Frames entering the switch from this port (a machine name, or a lab host name). */
  fromPort?: string;
  protocol?: FrameFacts["protocol"];
  /** Either UDP/TCP port. */
  port?: number;
  tftpOpcode?: "RRQ" | "WRQ" | "DATA" | "ACK" | "ERROR" | "OACK";
  tftpBlock?: number;
  dhcpType?: "DISCOVER" | "OFFER" | "REQUEST" | "DECLINE" | "ACK" | "NAK" | "RELEASE" | "INFORM" | "BOOTP";
  mac?: string;
}

export interface FaultRule {
  name: string;
  match: FaultMatch;
  /** Which matching frames: 1-based positions, the first k, or a probability (seeded). Default: all. */
  nth?: number[];
  first?: number;
  probability?: number;
  action: "drop" | "duplicate" | "delay" | "reorder" | "corrupt" | "truncate";
  /** For delay (and reorder: how long the held frame waits at most). */
  delayMs?: number;
  /** For truncate: bytes to keep. */
  keepBytes?: number;
}

export interface FaultFiring {
  rule: string;
  action: FaultRule["action"];
  frameNumber: number;
  port: string;
  summary: string;
  /** When, on the switch's clock (when the switch gave one). */
  atMs?: number;
}

export interface Delivery {
  frame: Uint8Array;
  delayMs: number;
}

const DHCP_TYPES: Record<string, number | undefined> = {
  DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8, BOOTP: undefined,
};

/** A small seeded PRNG (mulberry32): the same seed gives the same faults every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function matches(m: FaultMatch, f: FrameFacts, port: string): boolean {
  if (m.fromPort !== undefined && m.fromPort !== port) return false;
  if (m.protocol !== undefined && m.protocol !== f.protocol && !(m.protocol === "ipv4" && ["udp", "tcp", "icmp"].includes(f.protocol ?? ""))) return false;
  if (m.port !== undefined && f.srcPort !== m.port && f.dstPort !== m.port) return false;
  if (m.tftpOpcode !== undefined && TFTP_OP[f.tftpOpcode ?? 0] !== m.tftpOpcode) return false;
  if (m.tftpBlock !== undefined && f.tftpBlock !== m.tftpBlock) return false;
  if (m.dhcpType !== undefined) {
    if (m.dhcpType === "BOOTP" ? !(f.summary.endsWith("BOOTP")) : f.dhcpType !== DHCP_TYPES[m.dhcpType]) return false;
  }
  if (m.mac !== undefined && f.src !== m.mac.toLowerCase() && f.dst !== m.mac.toLowerCase()) return false;
  return true;
}

export class FaultEngine {
  readonly log: FaultFiring[] = [];
  #rules: { rule: FaultRule; seen: number; random: () => number; held?: Uint8Array }[] = [];
  #seed: number;
  #frameNumber = 0;

  constructor(seed = 1) {
    this.#seed = seed;
  }

  add(rule: FaultRule): void {
    this.#rules.push({ rule, seen: 0, random: seededRandom(this.#seed + this.#rules.length * 7919) });
  }

  clear(): void {
    this.#rules = [];
  }

  get active(): boolean {
    return this.#rules.length > 0;
  }

  /** Decides what becomes of one frame entering the switch from `port`. */
  decide(frame: Uint8Array, port: string, atMs?: number): Delivery[] {
    const n = ++this.#frameNumber;
    if (this.#rules.length === 0) return [{ frame, delayMs: 0 }];
    const facts = classify(frame);
    let out: Delivery[] = [{ frame, delayMs: 0 }];
    for (const r of this.#rules) {
      if (!matches(r.rule.match, facts, port)) continue;
      r.seen++;
      const hit = r.rule.nth ? r.rule.nth.includes(r.seen)
        : r.rule.first !== undefined ? r.seen <= r.rule.first
        : r.rule.probability !== undefined ? r.random() < r.rule.probability
        : true;
      if (!hit) continue;
      this.log.push({ rule: r.rule.name, action: r.rule.action, frameNumber: n, port, summary: facts.summary, ...(atMs !== undefined ? { atMs: Math.round(atMs) } : {}) });
      switch (r.rule.action) {
        case "drop":
          return [];
        case "duplicate":
          out = out.flatMap((d) => [d, { ...d }]);
          break;
        case "delay":
          out = out.map((d) => ({ ...d, delayMs: d.delayMs + (r.rule.delayMs ?? 100) }));
          break;
        case "reorder":
          // Hold this frame back and let the next one overtake it.
          out = out.map((d) => ({ ...d, delayMs: d.delayMs + (r.rule.delayMs ?? 20) }));
          break;
        case "corrupt":
          out = out.map((d) => {
            const c = d.frame.slice();
            const i = 14 + Math.floor(r.random() * Math.max(1, c.length - 14));
            c[i] = c[i]! ^ 0xff;
            return { ...d, frame: c };
          });
          break;
        case "truncate":
          out = out.map((d) => ({ ...d, frame: d.frame.slice(0, Math.max(14, r.rule.keepBytes ?? 34)) }));
          break;
      }
    }
    return out;
  }
}
