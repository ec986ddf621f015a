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
  /** TFTP packets of this opcode (any UDP port: transfers run on ephemeral ports). */
  tftpOpcode?: number;
  /** With DATA or ACK: this block number. */
  tftpBlock?: number;
  /** DHCP messages of this type, or "BOOTP" for plain BOOTP requests and replies. */
  dhcpType?: number;
  /** The frame in one line ("UDP 192.168.1.10:1234 > 192.168.1.20:5678 TFTP DATA 37"). */
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

/** Which frames a fault rule applies to: every field given must match (an empty match takes every frame). */
export interface FaultMatch {
  /** Frames entering the switch from this port (a machine name, or a lab host name). */
  fromPort?: string;
  /** "arp", "ipv4" (any IPv4, UDP/TCP/ICMP included), "udp", "tcp", "icmp". */
  protocol?: FrameFacts["protocol"];
  /** Either UDP/TCP port. */
  port?: number;
  /** TFTP packets of this opcode (any UDP port: transfers run on ephemeral ports). */
  tftpOpcode?: "RRQ" | "WRQ" | "DATA" | "ACK" | "ERROR" | "OACK";
  /** With DATA or ACK: this block number. */
  tftpBlock?: number;
  /** DHCP messages of this type, or "BOOTP" for plain BOOTP requests and replies. */
  dhcpType?: "DISCOVER" | "OFFER" | "REQUEST" | "DECLINE" | "ACK" | "NAK" | "RELEASE" | "INFORM" | "BOOTP";
  /** Frames from or to this MAC (e.g. `board.mac`). */
  mac?: string;
}

/**
 * A fault on the lab LAN's switch (`lan.faults.add(rule)`): which frames, how many of them, and what happens to
 * them. Every firing is logged (`lan.faults.log`, lan-log.json).
 */
export interface FaultRule {
  /** A name for the logs and the timeline. */
  name: string;
  /** Which frames are candidates. */
  match: FaultMatch;
  /**
   * Which matching frames it acts on — `nth` (1-based positions among the frames the match takes, e.g.
   * `[2]` for the second), else `first`, else `probability`; with none of them, every matching frame.
   */
  nth?: number[];
  /** Only the first k matching frames (then the rule stays quiet). */
  first?: number;
  /**
   * Each matching frame with this probability (0–1), from a PRNG seeded by scenario and target: the same frames
   * every run.
   */
  probability?: number;
  /**
   * drop: lost. duplicate: delivered twice. delay: held `delayMs` (default 100). reorder: held back
   * `delayMs` (default 20) so the next frame overtakes it. corrupt: one byte past the Ethernet header
   * flipped (seeded). truncate: cut to `keepBytes` (default 34).
   */
  action: "drop" | "duplicate" | "delay" | "reorder" | "corrupt" | "truncate";
  /** For delay (and reorder: how long the held frame waits at most). */
  delayMs?: number;
  /** For truncate: bytes to keep. */
  keepBytes?: number;
}

/** One frame a fault rule acted on (`lan.faults.log`). */
export interface FaultFiring {
  /** The rule's name. */
  rule: string;
  /** What was done to the frame. */
  action: FaultRule["action"];
  /** The frame's number on the switch (1-based, as in lan.pcap). */
  frameNumber: number;
  /** The switch port the frame came in on. */
  port: string;
  /** The frame in one line (addresses, ports, protocol; TFTP opcode and block, DHCP type). */
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

/**
 * `length` bytes from the same generator as seededRandom, four at a time: test data (an export, a file to
 * fetch) made in milliseconds. Filling 16 MB through a closure per byte held the event loop 0.3-0.8 s,
 * stalling every other board of a run.
 */
export function seededBytes(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const words = new Uint32Array(out.buffer, 0, length >>> 2);
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  for (let i = 0; i < words.length; i++) words[i] = next();
  for (let i = words.length * 4; i < length; i++) out[i] = next() & 0xff;
  return out;
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

/** The fault rules of a lab LAN's switch (`lan.faults`). */
export class FaultEngine {
  /** Every firing so far, in order. */
  readonly log: FaultFiring[] = [];
  #rules: { rule: FaultRule; seen: number; random: () => number; held?: Uint8Array }[] = [];
  #seed: number;
  #frameNumber = 0;

  constructor(seed = 1) {
    this.#seed = seed;
  }

  /** Adds a rule; rules apply in the order added, to frames entering the switch from then on. */
  add(rule: FaultRule): void {
    this.#rules.push({ rule, seen: 0, random: seededRandom(this.#seed + this.#rules.length * 7919) });
  }

  /** Removes every rule (the log stays). */
  clear(): void {
    this.#rules = [];
  }

  /** Whether any rule is in force. */
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
