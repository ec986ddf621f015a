// Structure-aware mutations of Ethernet frames carrying ARP, IPv4, ICMP, UDP and TCP: a field of one layer
// is set to a value that matters (a length one off, a broadcast address, a service port, a flag combination),
// then — most of the time — every length and checksum after it is made consistent again so the frame gets
// past the checks it is not about; the rest of the time it is left lying. A UDP or TCP payload can be handed
// to the payload's own mutations (a DHCP option, a TFTP field) with the frame around it made right after.

import type { MutationContext, Mutator } from "../area.ts";
import type { Rng } from "../prng.ts";
import { checksum, ipToBytes, PROTO_ICMP, PROTO_TCP, PROTO_UDP } from "../../harness/lan/packets/ipv4.ts";
import { macToBytes } from "../../harness/lan/packets/ethernet.ts";
import { decodeRecords, encodeRecords } from "../records.ts";
import { BYTE_MUTATORS, concat, interestingValue, putUint } from "./bytes.ts";

/** Who is who on the fuzzed LAN: the lab's server and a guest, as in a scenario. */
export const LAB = {
  serverMac: "52:54:00:00:00:10",
  serverIp: "192.168.1.10",
  guestMac: "52:54:00:12:34:56",
  guestIp: "192.168.1.20",
  otherMac: "52:54:00:00:00:99",
  otherIp: "192.168.1.99",
} as const;

const ETH = 14;

interface Layers {
  /** Offset of the IPv4 header, when the frame says IPv4 and holds at least its first byte. */
  ip?: number;
  ihl?: number;
  protocol?: number;
  /** Offset of the UDP/TCP/ICMP header. */
  l4?: number;
}

function layers(f: Uint8Array): Layers {
  if (f.length < ETH + 20 || f[12] !== 0x08 || f[13] !== 0x00) return {};
  const ihl = (f[ETH]! & 15) * 4;
  const out: Layers = { ip: ETH, ihl, protocol: f[ETH + 9] };
  if (ihl >= 20 && ETH + ihl <= f.length) out.l4 = ETH + ihl;
  return out;
}

function u16(b: Uint8Array, at: number): number {
  return ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);
}

function put16(b: Uint8Array, at: number, v: number): void {
  putUint(b, at, 2, v & 0xffff);
}

function pseudoSum(f: Uint8Array, ip: number, protocol: number, length: number): number {
  let s = protocol + length;
  for (let i = 12; i < 20; i += 2) s += u16(f, ip + i);
  return s;
}

/** Fixes the IPv4 header checksum and the UDP/TCP/ICMP checksum for the lengths the headers now state. */
export function reseal(f: Uint8Array): Uint8Array {
  const l = layers(f);
  if (l.ip === undefined || l.ihl === undefined || l.ihl < 20 || l.ip + l.ihl > f.length) return f;
  put16(f, l.ip + 10, 0);
  put16(f, l.ip + 10, checksum(f.subarray(l.ip, l.ip + l.ihl)));
  if (l.l4 === undefined) return f;
  const end = Math.min(f.length, l.ip + u16(f, l.ip + 2));
  if (end < l.l4) return f;
  const seg = f.subarray(l.l4, end);
  if (l.protocol === PROTO_UDP && seg.length >= 8) {
    const len = Math.min(u16(seg, 4), seg.length);
    if (len < 8) return f;
    put16(seg, 6, 0);
    put16(seg, 6, checksum(seg.subarray(0, len), pseudoSum(f, l.ip, PROTO_UDP, len)) || 0xffff);
  } else if (l.protocol === PROTO_TCP && seg.length >= 20) {
    put16(seg, 16, 0);
    put16(seg, 16, checksum(seg, pseudoSum(f, l.ip, PROTO_TCP, seg.length)));
  } else if (l.protocol === PROTO_ICMP && seg.length >= 8) {
    put16(seg, 2, 0);
    put16(seg, 2, checksum(seg));
  }
  return f;
}

/** Sets the IPv4 total length (and a UDP length) to what the frame holds, then reseals. */
function relength(f: Uint8Array): Uint8Array {
  const l = layers(f);
  if (l.ip === undefined) return f;
  put16(f, l.ip + 2, f.length - l.ip);
  if (l.protocol === PROTO_UDP && l.l4 !== undefined && f.length - l.l4 >= 8) put16(f, l.l4 + 4, f.length - l.l4);
  return reseal(f);
}

function maybeReseal(rng: Rng, f: Uint8Array, p = 0.8): Uint8Array {
  return rng.chance(p) ? reseal(f) : f;
}

const MACS = [LAB.serverMac, LAB.guestMac, LAB.otherMac, "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01", "00:00:00:00:00:00", "33:33:00:00:00:01"];
const IPS = [LAB.serverIp, LAB.guestIp, LAB.otherIp, "255.255.255.255", "192.168.1.255", "0.0.0.0", "127.0.0.1", "224.0.0.1", "10.0.0.1"];
const PORTS = [67, 68, 69, 80, 10809, 0, 1, 1024, 49152, 65535, 7, 22];
const ETHERTYPES = [0x0800, 0x0800, 0x0806, 0x86dd, 0x8100, 0x88cc, 0x0000, 0x05dc, 0xffff];

export interface PayloadMutators {
  /** For UDP payloads, by destination or source port. */
  udp?: Record<number, Mutator[]>;
  tcp?: Mutator[];
}

export function frameMutators(payload: PayloadMutators = {}): Mutator[] {
  return [
    {
      name: "frame: ethernet header",
      mutate(input, { rng }) {
        const f = input.length >= ETH ? input.slice() : concat([input, new Uint8Array(ETH - input.length)]);
        switch (rng.int(3)) {
          case 0:
            f.set(macToBytes(rng.pick(MACS)), 0);
            break;
          case 1:
            f.set(rng.chance(0.8) ? macToBytes(rng.pick(MACS)) : rng.bytes(6), 6);
            break;
          default:
            put16(f, 12, rng.pick(ETHERTYPES));
        }
        return f;
      },
    },
    {
      name: "frame: IPv4 field",
      mutate(input, { rng }) {
        const l = layers(input);
        if (l.ip === undefined) return input;
        const f = input.slice();
        const ip = l.ip;
        switch (rng.int(8)) {
          case 0: // version and IHL
            f[ip] = rng.pick([0x45, 0x46, 0x4f, 0x44, 0x40, 0x65, 0x55, rng.int(256)]);
            break;
          case 1:
            put16(f, ip + 2, interestingValue(rng, 2, f.length - ip));
            break;
          case 2: // flags and fragment offset
            put16(f, ip + 6, rng.pick([0x4000, 0x2000, 0x2001, 0x0001, 0x1fff, 0x3fff, 0x8000, 0, 0x2000 | rng.int(0x2000)]));
            break;
          case 3:
            f[ip + 8] = rng.pick([0, 1, 64, 255]);
            break;
          case 4:
            f[ip + 9] = rng.pick([PROTO_ICMP, PROTO_TCP, PROTO_UDP, 0, 2, 41, 255]);
            break;
          case 5:
            f.set(ipToBytes(rng.pick(IPS)), ip + 12);
            break;
          case 6:
            f.set(ipToBytes(rng.pick(IPS)), ip + 16);
            break;
          default:
            put16(f, ip + 4, interestingValue(rng, 2, 0));
        }
        return maybeReseal(rng, f);
      },
    },
    {
      name: "frame: IP options",
      mutate(input, { rng }) {
        const l = layers(input);
        if (l.ip === undefined || l.ihl === undefined || l.ihl < 20) return input;
        // Grow or shrink the header by whole words; options bytes are NOPs, an end marker or garbage.
        const words = rng.range(0, 10);
        const opts = rng.chance(0.5) ? new Uint8Array(words * 4).fill(1) : rng.bytes(words * 4);
        const head = input.slice(0, l.ip + 20);
        head[l.ip] = 0x40 | (5 + words);
        return relength(concat([head, opts, input.subarray(l.ip + l.ihl)]));
      },
    },
    {
      name: "frame: transport field",
      mutate(input, { rng }) {
        const l = layers(input);
        if (l.l4 === undefined) return input;
        const f = input.slice();
        const t = l.l4;
        if (l.protocol === PROTO_UDP) {
          switch (rng.int(4)) {
            case 0:
              put16(f, t, rng.pick(PORTS));
              break;
            case 1:
              put16(f, t + 2, rng.pick(PORTS));
              break;
            case 2:
              put16(f, t + 4, interestingValue(rng, 2, f.length - t));
              break;
            default:
              put16(f, t + 6, 0); // "no checksum", which UDP over IPv4 allows
              return f;
          }
        } else if (l.protocol === PROTO_TCP) {
          switch (rng.int(6)) {
            case 0:
              put16(f, t + (rng.chance(0.5) ? 0 : 2), rng.pick(PORTS));
              break;
            case 1:
              putUint(f, t + (rng.chance(0.5) ? 4 : 8), 4, interestingValue(rng, 4, 0));
              break;
            case 2:
              f[t + 13] = rng.pick([0x02, 0x12, 0x10, 0x11, 0x04, 0x14, 0x18, 0x01, 0x03, 0x06, 0x3f, 0]);
              break;
            case 3:
              f[t + 12] = (rng.int(16) << 4) | (f[t + 12]! & 15);
              break;
            case 4:
              put16(f, t + 14, interestingValue(rng, 2, 0));
              break;
            default:
              put16(f, t + 18, interestingValue(rng, 2, 0));
          }
        } else if (l.protocol === PROTO_ICMP) {
          f[t + rng.int(2)] = rng.pick([0, 8, 3, 11, 5, 255]);
        } else return input;
        return maybeReseal(rng, f, 0.85);
      },
    },
    {
      name: "frame: payload",
      mutate(input, ctx) {
        const l = layers(input);
        if (l.l4 === undefined || l.ip === undefined) return input;
        const { rng } = ctx;
        const header = l.protocol === PROTO_UDP ? 8 : l.protocol === PROTO_TCP ? Math.max(20, (input[l.l4 + 12]! >> 4) * 4) : 8;
        const start = l.l4 + header;
        if (start > input.length) return input;
        const end = Math.min(input.length, Math.max(start, l.ip + u16(input, l.ip + 2)));
        const body = input.subarray(start, end);
        const own = l.protocol === PROTO_UDP ? payload.udp?.[u16(input, l.l4 + 2)] ?? payload.udp?.[u16(input, l.l4)] : l.protocol === PROTO_TCP ? payload.tcp : undefined;
        const m = own && rng.chance(0.8) ? rng.pick(own) : rng.pick(BYTE_MUTATORS);
        const changed = m.mutate(body, { rng, corpus: [body] });
        const f = concat([input.subarray(0, start), changed]);
        return rng.chance(0.9) ? relength(f) : f;
      },
    },
    {
      name: "frame: cut at a layer",
      mutate(input, { rng }) {
        const l = layers(input);
        const cuts = [0, 6, 12, ETH, ETH + 1, ETH + 19, ETH + 20, 42, 59, 60];
        if (l.l4 !== undefined) cuts.push(l.l4, l.l4 + 4, l.l4 + 7, l.l4 + 8, l.l4 + 19, l.l4 + 20);
        const f = input.subarray(0, Math.min(input.length, rng.pick(cuts))).slice();
        return rng.chance(0.5) ? relength(f) : f;
      },
    },
    {
      name: "frame: padding",
      mutate(input, { rng }) {
        // What QEMU's NICs add (zeroes up to 60 bytes) or garbage past the IP total length.
        const pad = rng.chance(0.5) ? new Uint8Array(Math.max(0, 60 - input.length) + rng.small(32)) : rng.bytes(1 + rng.small(64));
        return concat([input, pad]);
      },
    },
    {
      name: "frame: ARP field",
      mutate(input, { rng }) {
        if (input.length < ETH + 28 || input[12] !== 0x08 || input[13] !== 0x06) return input;
        const f = input.slice();
        const a = ETH;
        switch (rng.int(5)) {
          case 0:
            putUint(f, a + rng.pick([0, 2]), 2, rng.pick([1, 6, 0x0800, 0x86dd, 0]));
            break;
          case 1:
            f[a + rng.pick([4, 5])] = rng.pick([6, 4, 0, 16, 255]);
            break;
          case 2:
            put16(f, a + 6, rng.pick([1, 2, 3, 4, 0, 0xffff]));
            break;
          case 3:
            f.set(ipToBytes(rng.pick(IPS)), a + rng.pick([14, 24]));
            break;
          default:
            f.set(macToBytes(rng.pick(MACS)), a + rng.pick([8, 18]));
        }
        return f;
      },
    },
  ];
}

/**
 * Replaces one IPv4 frame of a record sequence by its fragments: offsets in 8-byte units, the last without
 * "more fragments"; sometimes overlapping, repeated or missing one, and in any order.
 */
export function fragmentFrames(fixed = 0): Mutator {
  return {
    name: "frames: fragment one",
    mutate(input: Uint8Array, { rng }: MutationContext) {
      const rs = decodeRecords(input);
      const candidates = rs.map((r, i) => ({ r, i, l: layers(r) })).filter((c) => c.i >= fixed && c.l.l4 !== undefined);
      if (!candidates.length) return input;
      const { r, i, l } = rng.pick(candidates);
      const ip = l.ip!, ihl = l.ihl!;
      const end = Math.min(r.length, ip + u16(r, ip + 2));
      const body = r.subarray(ip + ihl, end);
      if (body.length < 16) return input;
      const parts: [number, number][] = [];
      for (let at = 0; at < body.length;) {
        const n = Math.min(body.length - at, 8 * (1 + rng.small(Math.ceil(body.length / 8))));
        parts.push([at, n]);
        at += n;
      }
      if (parts.length > 1 && rng.chance(0.2)) parts.splice(rng.int(parts.length), 1);
      if (rng.chance(0.2)) parts.push(parts[rng.int(parts.length)]!);
      if (rng.chance(0.2)) parts.push([8 * rng.int(Math.ceil(body.length / 8)), 8 * (1 + rng.small(4))]);
      const frames = parts.map(([at, n]) => {
        const chunk = body.subarray(at, Math.min(body.length, at + n));
        const f = concat([r.subarray(0, ip + ihl), chunk]);
        const last = at + chunk.length >= body.length;
        put16(f, ip + 2, ihl + chunk.length);
        put16(f, ip + 6, (last ? 0 : 0x2000) | (at / 8));
        put16(f, ip + 10, 0);
        put16(f, ip + 10, checksum(f.subarray(ip, ip + ihl)));
        return f;
      });
      if (rng.chance(0.3)) frames.reverse();
      rs.splice(i, 1, ...frames);
      return encodeRecords(rs);
    },
  };
}
