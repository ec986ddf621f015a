// IPv4 fragment reassembly for packets the lab receives (guests send fragmented UDP when a datagram
// exceeds the MTU). Pure apart from the clock passed in; incomplete packets expire.

import type { Ipv4Packet } from "./packets/ipv4.ts";

interface Partial {
  parts: { offset: number; data: Uint8Array }[];
  totalLength?: number;
  firstSeenMs: number;
  bytes: number;
}

export class Reassembler {
  #pending = new Map<string, Partial>();
  readonly timeoutMs: number;
  /**
   * Packets in reassembly at once; the oldest is given up for a new one past this. Guests fragment only the
   * odd large UDP datagram, so a few are ever pending; fragments with ever-new ids must not pile up for 30 s.
   */
  readonly maxPending: number;
  expired = 0;
  /** Packets given up because maxPending were pending, or because their fragments overlapped past 64 KiB. */
  evicted = 0;

  constructor(timeoutMs = 30_000, maxPending = 64) {
    this.timeoutMs = timeoutMs;
    this.maxPending = maxPending;
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** Returns the whole packet when `p` completes it (or is not a fragment), else undefined. */
  push(p: Ipv4Packet, nowMs: number): Ipv4Packet | undefined {
    for (const [k, v] of this.#pending) {
      if (nowMs - v.firstSeenMs > this.timeoutMs) {
        this.#pending.delete(k);
        this.expired++;
      }
    }
    if (p.fragmentOffset === 0 && !p.moreFragments) return p;
    const key = `${p.src}/${p.dst}/${p.protocol}/${p.id}`;
    let entry = this.#pending.get(key);
    if (!entry) {
      if (this.#pending.size >= this.maxPending) {
        this.#pending.delete(this.#pending.keys().next().value!);
        this.evicted++;
      }
      entry = { parts: [], firstSeenMs: nowMs, bytes: 0 };
      this.#pending.set(key, entry);
    }
    if (!entry.parts.some((x) => x.offset === p.fragmentOffset)) {
      entry.parts.push({ offset: p.fragmentOffset, data: p.payload.slice() });
      entry.bytes += p.payload.length;
      // No IPv4 packet is over 64 KiB; overlapping fragments that add up to more are an attack, not a packet.
      if (entry.bytes > 65535 + 1500) {
        this.#pending.delete(key);
        this.evicted++;
        return undefined;
      }
    }
    if (!p.moreFragments) entry.totalLength = p.fragmentOffset + p.payload.length;
    if (entry.totalLength === undefined || entry.totalLength > 65535) return undefined;
    entry.parts.sort((a, b) => a.offset - b.offset);
    let covered = 0;
    for (const part of entry.parts) {
      if (part.offset > covered) return undefined;
      covered = Math.max(covered, part.offset + part.data.length);
    }
    if (covered < entry.totalLength) return undefined;
    const whole = new Uint8Array(entry.totalLength);
    // A fragment may lie past the end the last fragment set (overlapping sends of one id): it adds nothing,
    // and set() at an offset past the end throws even for no bytes.
    for (const part of entry.parts) {
      if (part.offset < entry.totalLength) whole.set(part.data.subarray(0, entry.totalLength - part.offset), part.offset);
    }
    this.#pending.delete(key);
    return { ...p, fragmentOffset: 0, moreFragments: false, payload: whole };
  }
}
