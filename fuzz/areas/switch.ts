// The lab's switch (harness/lan/segment.ts) as QEMU reaches it: stream-netdev bytes, split into frames by
// FrameStream (a 4-byte length before each frame), from two guests, switched with MAC learning to each other
// and to the lab host, through the fault engine (which classifies every frame: ARP, IPv4, UDP, DHCP, TFTP)
// and a capture tap (pcap records). Chunks split frames anywhere, lengths lie, faults fire.

import type { Area, Mutator } from "../area.ts";
import { setImmediate } from "node:timers";
import { guestFrameSequences } from "../lan-frames.ts";
import { BYTE_MUTATORS, concat, interestingValue } from "../mutators/bytes.ts";
import { frameMutators, LAB } from "../mutators/packets.ts";
import { recordMutators } from "../mutators/records.ts";
import { decodeRecords, encodeRecords } from "../records.ts";
import { FrameStream, frameForStream, MAX_FRAME } from "../../harness/lan/frame-stream.ts";
import { classify, type FaultRule } from "../../harness/lan/faults.ts";
import { LabHost } from "../../harness/lan/host.ts";
import { pcapRecord } from "../../harness/lan/pcap.ts";
import { LanSegment } from "../../harness/lan/segment.ts";
import { Owner } from "../../harness/lifecycle/owner.ts";

const turn = () => new Promise<void>((r) => setImmediate(r));
const GUESTS = ["guest", "guest2"] as const;

/** Fault rules by the control record's bits; the delay rule is the only one that needs real time to pass. */
function rules(c: Uint8Array): FaultRule[] {
  const bits = c[0] ?? 0;
  const out: FaultRule[] = [];
  if (bits & 1) out.push({ name: "drop 2nd and 3rd UDP", match: { protocol: "udp" }, nth: [2, 3], action: "drop" });
  if (bits & 2) out.push({ name: "duplicate TCP", match: { protocol: "tcp" }, action: "duplicate" });
  if (bits & 4) out.push({ name: "corrupt half", match: {}, probability: 0.5, action: "corrupt" });
  if (bits & 8) out.push({ name: "truncate IPv4", match: { protocol: "ipv4" }, first: 4, action: "truncate", keepBytes: c[1] ?? 0 });
  if (bits & 16) out.push({ name: "reorder ARP", match: { protocol: "arp" }, action: "reorder", delayMs: 1 });
  if (bits & 32) out.push({ name: "lose DISCOVER", match: { mac: LAB.guestMac, dhcpType: "DISCOVER" }, action: "drop" });
  if (bits & 64) out.push({ name: "repeat ACK 1", match: { tftpOpcode: "ACK", tftpBlock: 1, port: 69, fromPort: "guest" }, action: "duplicate" });
  if (bits & 128) out.push({ name: "BOOTP only", match: { dhcpType: "BOOTP" }, action: "delay", delayMs: 0 });
  return out;
}

/** Changes one frame inside a chunk (walking the length prefixes from the chunk's start), and its prefix with it. */
function reframe(inner: Mutator[]): Mutator {
  return {
    name: "stream: change one frame",
    mutate(input, ctx) {
      const rs = decodeRecords(input);
      if (rs.length < 2) return input;
      const i = 1 + ctx.rng.int(rs.length - 1);
      const chunk = rs[i]!.subarray(1);
      const frames: [number, number][] = [];
      for (let at = 0; at + 4 <= chunk.length;) {
        const len = ((chunk[at]! << 24) | (chunk[at + 1]! << 16) | (chunk[at + 2]! << 8) | chunk[at + 3]!) >>> 0;
        if (len === 0 || at + 4 + len > chunk.length) break;
        frames.push([at, len]);
        at += 4 + len;
      }
      if (!frames.length) return input;
      const [at, len] = ctx.rng.pick(frames);
      const frame = ctx.rng.pick(inner).mutate(chunk.subarray(at + 4, at + 4 + len), ctx);
      const prefixed = frameForStream(frame);
      // Most of the time the prefix tells the truth about the new frame; sometimes it does not.
      if (ctx.rng.chance(0.15)) new DataView(prefixed.buffer).setUint32(0, ctx.rng.pick([0, MAX_FRAME, MAX_FRAME + 1, frame.length + 1, interestingValue(ctx.rng, 4, frame.length)]));
      rs[i] = concat([rs[i]!.subarray(0, 1 + at), prefixed, chunk.subarray(at + 4 + len)]);
      return encodeRecords(rs);
    },
  };
}

export function switchArea(): Area {
  const control = (bits: number) => Uint8Array.of(bits, 34);
  const chunk = (port: number, bytes: Uint8Array) => concat([Uint8Array.of(port), bytes]);
  const seeds: Uint8Array[] = [];
  guestFrameSequences().forEach((frames, n) => {
    const stream = concat(frames.map(frameForStream));
    seeds.push(encodeRecords([control(0), ...frames.map((f) => chunk(0, frameForStream(f)))]));
    // The same bytes in chunks that cut frames and length prefixes anywhere, as a socket delivers them.
    const cuts: Uint8Array[] = [];
    for (let at = 0; at < stream.length; at += 3 + ((at * 7) % 61)) cuts.push(chunk(0, stream.subarray(at, at + 3 + ((at * 7) % 61))));
    seeds.push(encodeRecords([control(1 << (n % 8)), ...cuts]));
  });
  // Two guests talking to each other: the second learns the first's MAC from its broadcast.
  const seq = guestFrameSequences()[0]!;
  const toGuest = seq[1]!.slice();
  toGuest.set([0x52, 0x54, 0x00, 0x00, 0x00, 0x99], 0);
  const fromOther = seq[0]!.slice();
  fromOther.set([0x52, 0x54, 0x00, 0x00, 0x00, 0x99], 6);
  seeds.push(encodeRecords([control(0), chunk(1, frameForStream(fromOther)), chunk(0, frameForStream(toGuest)), chunk(0, Uint8Array.of(0, 0, 0, 5, 1, 2, 3, 4, 5))]));
  seeds.push(encodeRecords([control(0x55), chunk(0, Uint8Array.of(0, 1, 0, 1)), chunk(1, new Uint8Array(4))]));

  const frames = frameMutators();
  return {
    name: "switch",
    corpus: () => seeds,
    mutators: [...recordMutators({ inner: BYTE_MUTATORS, fixed: 1, maxRecords: 48 }), reframe(frames), reframe(frames), reframe(frames)],
    maxBytes: 32 * 1024,
    expects: ["switched:answered", "switched:guest to guest", "fault", "stream:out of step"],
    async run(input) {
      const [ctl = new Uint8Array(0), ...chunks] = decodeRecords(input);
      const owner = new Owner("fuzz switch");
      const segment = new LanSegment("fuzz", owner, 1 + (ctl[1] ?? 0));
      const faults = rules(ctl);
      for (const r of faults) segment.faults.add(r);
      let tapped = 0;
      segment.onFrame((e) => {
        if (pcapRecord(e.frame, e.wallMs).length !== 16 + e.frame.length) throw new Error("pcap: a record of the wrong size");
        classify(e.frame);
        tapped++;
      });
      const host = new LabHost(segment, { name: "server", mac: LAB.serverMac, ip: LAB.serverIp, prefix: 24 });
      const got = { guest: 0, guest2: 0 };
      const streams = GUESTS.map(() => new FrameStream());
      const wires = GUESTS.map((name) => segment.addHostPort(name, (f) => {
        if (f.length < 14) throw new Error(`the switch delivered a ${f.length}-byte frame`);
        got[name]++;
      }));
      let outOfStep = false;
      try {
        if ((ctl[0] ?? 0) & 0x80) segment.setLink("guest", false);
        chunks.forEach((c, i) => {
          const p = (c[0] ?? 0) & 1;
          if (i === chunks.length >> 1) segment.setLink("guest", true);
          for (const f of streams[p]!.push(c.subarray(1))) {
            if (f.length === 0 || f.length > MAX_FRAME) throw new Error(`FrameStream gave a ${f.length}-byte frame`);
            wires[p]!.send(f);
          }
          outOfStep ||= streams[p]!.malformed > 0;
        });
        await turn();
        if (faults.some((r) => r.action === "reorder")) await new Promise((r) => setTimeout(r, 2));
        await turn();
      } finally {
        host.close();
        await owner.close();
      }
      if (got.guest && Object.values(host.counters).some((n) => n > 0) && tapped) return "switched:answered";
      if (got.guest2 || (got.guest && segment.counters.frames > 0 && chunks.some((c) => (c[0] ?? 0) & 1))) return "switched:guest to guest";
      if (segment.faults.log.length) return `fault:${segment.faults.log[0]!.action}`;
      if (outOfStep) return "stream:out of step";
      if (segment.counters.malformed) return "dropped:short frame";
      if (segment.counters.droppedLinkDown) return "dropped:link down";
      return segment.counters.frames ? "switched:unanswered" : "stream:incomplete";
    },
  };
}
