// A host of the lab's own on the LAN segment (the "server" of a scenario: 192.168.1.10 and friends).
// It speaks ARP (answers, asks, gratuitous), IPv4 with reassembly, ICMP echo both ways, UDP (offered to
// services through the DatagramNetwork interface) and TCP (tcp/). Malformed frames are counted by
// reason, never thrown.

import { ARP_REPLY, ARP_REQUEST, decodeArp, encodeArp } from "./packets/arp.ts";
import { BROADCAST_MAC, decodeEthernet, encodeEthernet, ETH_ARP, ETH_IPV4 } from "./packets/ethernet.ts";
import {
  decodeIcmp, decodeIpv4, decodeUdp, encodeIcmp, encodeIpv4, encodeUdp, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ipToNumber,
  PROTO_ICMP, PROTO_TCP, PROTO_UDP,
} from "./packets/ipv4.ts";
import { Reassembler } from "./reassembly.ts";
import { ACK, decodeTcp, encodeTcp, RST, seqAdd, SYN } from "./packets/tcp.ts";
import { TcpConnection } from "./tcp/connection.ts";
import type { LanSegment, PortHandle } from "./segment.ts";
import type { DatagramNetwork, DatagramSocket, Endpoint } from "../net/datagram.ts";
import { ScenarioError } from "../errors/failures.ts";
import { callSite } from "../errors/stack.ts";

export interface LabHostConfig {
  name: string;
  mac: string;
  ip: string;
  /** Prefix length of the subnet, e.g. 24. */
  prefix: number;
  /** What one host keeps per peer; see DEFAULT_LAB_HOST_LIMITS for why each default. */
  limits?: Partial<LabHostLimits>;
}

/**
 * What one lab host's stack takes at most (ARP entries, addresses being resolved, TCP connections and half-open
 * handshakes): past a bound packets are dropped or a SYN gets RST, and the host goes on.
 */
export interface LabHostLimits {
  /** ARP entries kept, least recently learnt forgotten first. */
  arpEntries: number;
  /** Addresses being resolved at once (each holds up to 64 packets and a timer); past it, packets are dropped. */
  pendingArp: number;
  /** TCP connections at once, all ports; a SYN past it gets RST. */
  tcpConnections: number;
  /** Of those, handshakes not yet completed (a SYN flood holds only these). */
  tcpHalfOpen: number;
}

export const DEFAULT_LAB_HOST_LIMITS: Readonly<LabHostLimits> = {
  // A /24 holds 254 neighbours; a guest sending from spoofed addresses must not grow the table beyond that.
  arpEntries: 256,
  // Our replies go to a few boards; a burst of answers to spoofed senders must not arm a timer each.
  pendingArp: 32,
  // A lab host serves a few boards, each with a handful of HTTP/NBD/SSH connections at a time.
  tcpConnections: 256,
  tcpHalfOpen: 64,
};

interface UdpBinding {
  handler: (data: Uint8Array, from: Endpoint) => void;
}

const ARP_RETRIES = 3;
const ARP_RETRY_MS = 500;

/**
 * A host of the lab's own on the lab LAN (the server, or one from `lan.addHost`): ARP, IPv4, ICMP, UDP and TCP in
 * user space. `ping(ip)` pings a guest.
 */
export class LabHost implements DatagramNetwork {
  /** Its name: also its switch port (`FaultMatch.fromPort`). */
  readonly name: string;
  /** Its MAC. */
  readonly mac: string;
  /** Its address. */
  readonly ip: string;
  /** Its subnet's prefix length. */
  readonly prefix: number;
  /**
   * What happened to frames it got, by kind ("arp: answered", "icmp: echo answered", "udp: no listener",
   * "malformed: udp", …); also in lan-log.json.
   */
  readonly counters: Record<string, number> = {};
  /** What it learnt by ARP: IP to MAC. */
  readonly arpTable = new Map<string, string>();
  #port: PortHandle;
  #udp = new Map<number, UdpBinding>();
  #pendingArp = new Map<string, { frames: Uint8Array[]; tries: number; timer: ReturnType<typeof setTimeout> }>();
  #pings = new Map<string, (rttMs: number) => void>();
  #reasm = new Reassembler();
  #ipId = 1;
  #tcpListeners = new Map<number, (c: TcpConnection) => void>();
  #tcp = new Map<string, TcpConnection>();
  #nextEphemeral = 49152;
  /** Addresses this host also answers ARP for: a conflicting host, impersonated. */
  #claimed = new Set<string>();
  #closed = false;
  /** The bounds in force (defaults filled in). */
  readonly limits: Readonly<LabHostLimits>;

  constructor(segment: LanSegment, cfg: LabHostConfig) {
    this.name = cfg.name;
    this.limits = { ...DEFAULT_LAB_HOST_LIMITS, ...cfg.limits };
    this.mac = cfg.mac;
    this.ip = cfg.ip;
    this.prefix = cfg.prefix;
    this.#port = segment.addHostPort(cfg.name, (f) => this.#receive(f));
  }

  #count(what: string): void {
    this.counters[what] = (this.counters[what] ?? 0) + 1;
  }

  get broadcastIp(): string {
    const mask = this.prefix === 0 ? 0 : (0xffffffff << (32 - this.prefix)) >>> 0;
    const n = (ipToNumber(this.ip) & mask) | (~mask >>> 0);
    return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }

  #receive(frame: Uint8Array): void {
    if (this.#closed) return;
    const eth = decodeEthernet(frame);
    if (!eth) return this.#count("malformed: ethernet");
    if (eth.dst !== this.mac && eth.dst !== BROADCAST_MAC) return;
    if (eth.type === ETH_ARP) return this.#onArp(eth.payload);
    if (eth.type === ETH_IPV4) return this.#onIpv4(eth.payload, eth.src);
  }

  #onArp(b: Uint8Array): void {
    const a = decodeArp(b);
    if (!a) return this.#count("malformed: arp");
    if (a.senderIp !== "0.0.0.0") this.#learn(a.senderIp, a.senderMac);
    if (a.op === ARP_REQUEST && (a.targetIp === this.ip || this.#claimed.has(a.targetIp))) {
      this.#count("arp: answered");
      this.#sendFrame(a.senderMac, ETH_ARP, encodeArp({ op: ARP_REPLY, senderMac: this.mac, senderIp: a.targetIp, targetMac: a.senderMac, targetIp: a.senderIp }));
    }
  }

  /** Keeps ip → mac, forgetting the least recently learnt entry when the table is full. */
  #remember(ip: string, mac: string): void {
    const known = this.arpTable.delete(ip);
    if (!known && this.arpTable.size >= this.limits.arpEntries) {
      this.arpTable.delete(this.arpTable.keys().next().value!);
      this.#count("arp: entry forgotten (table full)");
    }
    this.arpTable.set(ip, mac);
  }

  /** TCP connections open now (all states but closed). */
  get tcpConnections(): number {
    return this.#tcp.size;
  }

  #learn(ip: string, mac: string): void {
    this.#remember(ip, mac);
    const pending = this.#pendingArp.get(ip);
    if (pending) {
      clearTimeout(pending.timer);
      this.#pendingArp.delete(ip);
      for (const f of pending.frames) this.#sendFrame(mac, ETH_IPV4, f);
    }
  }

  #onIpv4(b: Uint8Array, srcMac: string): void {
    const p0 = decodeIpv4(b);
    if (typeof p0 === "string") return this.#count(`malformed: ${p0.split(":")[0]}`);
    if (p0.dst !== this.ip && p0.dst !== "255.255.255.255" && p0.dst !== this.broadcastIp) return;
    // A packet from a neighbour tells us its MAC too (saves an ARP round trip for replies).
    if (p0.src !== "0.0.0.0" && !this.arpTable.has(p0.src)) this.#remember(p0.src, srcMac);
    const p = this.#reasm.push(p0, performance.now());
    if (!p) return;
    if (p.protocol === PROTO_ICMP) {
      const m = decodeIcmp(p.payload);
      if (typeof m === "string") return this.#count("malformed: icmp");
      if (m.type === ICMP_ECHO_REQUEST && p.dst === this.ip) {
        this.#count("icmp: echo answered");
        this.sendIp(p.src, PROTO_ICMP, encodeIcmp({ ...m, type: ICMP_ECHO_REPLY }));
      } else if (m.type === ICMP_ECHO_REPLY) {
        this.#pings.get(`${p.src}/${m.id}/${m.seq}`)?.(performance.now());
      }
      return;
    }
    if (p.protocol === PROTO_TCP) return this.#onTcp(p.payload, p.src);
    if (p.protocol === PROTO_UDP) {
      const u = decodeUdp(p.payload, p.src, p.dst);
      if (typeof u === "string") return this.#count("malformed: udp");
      const binding = this.#udp.get(u.dstPort);
      if (!binding) return this.#count("udp: no listener");
      binding.handler(u.payload, { address: p.src, port: u.srcPort });
    }
  }

  #onTcp(b: Uint8Array, src: string): void {
    const seg = decodeTcp(b, src, this.ip);
    if (typeof seg === "string") return this.#count("malformed: tcp");
    const key = `${src}:${seg.srcPort}>${seg.dstPort}`;
    const conn = this.#tcp.get(key);
    if (conn) return conn.receive(seg);
    const listener = this.#tcpListeners.get(seg.dstPort);
    if (listener && (seg.flags & (SYN | ACK | RST)) === SYN && this.#roomForConnection()) {
      const c = this.#newConnection(src, seg.srcPort, seg.dstPort, (err) => {
        if (!err) listener(c);
      });
      c.accept(seg);
      return;
    }
    if (seg.flags & RST) return;
    // Nobody here (or a connection from before a restore): reset it, as a real host would.
    this.#count("tcp: reset sent");
    const ack = seqAdd(seg.seq, seg.payload.length + (seg.flags & SYN ? 1 : 0));
    this.sendIp(src, PROTO_TCP, encodeTcp({
      srcPort: seg.dstPort, dstPort: seg.srcPort, seq: seg.flags & ACK ? seg.ack : 0, ack, flags: RST | ACK, window: 0, payload: new Uint8Array(0),
    }, this.ip, src));
  }

  /** Whether one more connection fits the limits; a refused SYN falls through to the RST below. */
  #roomForConnection(): boolean {
    if (this.#tcp.size >= this.limits.tcpConnections) {
      this.#count("tcp: refused, too many connections");
      return false;
    }
    let halfOpen = 0;
    let oldest: TcpConnection | undefined;
    for (const c of this.#tcp.values()) {
      if (c.state !== "SYN_RCVD") continue;
      halfOpen++;
      oldest ??= c;
    }
    if (halfOpen >= this.limits.tcpHalfOpen && oldest) {
      // A SYN flood: give up the oldest handshake for the new one. A real client answers our SYN-ACK within a
      // round trip, so a flood must outpace the lab's own RTT to crowd it out (no SYN cookies needed here).
      this.#count("tcp: oldest handshake dropped (too many)");
      oldest.destroy();
    }
    return true;
  }

  #newConnection(remote: string, remotePort: number, localPort: number, onEstablished: (err?: Error) => void): TcpConnection {
    const key = `${remote}:${remotePort}>${localPort}`;
    const c: TcpConnection = new TcpConnection({
      localPort, remoteAddress: remote, remotePort, iss: Math.floor(Math.random() * 0xffffffff), onEstablished,
      wire: {
        send: (seg) => this.sendIp(remote, PROTO_TCP, encodeTcp(seg, this.ip, remote)),
        forget: () => {
          if (this.#tcp.get(key) === c) this.#tcp.delete(key);
        },
      },
    });
    this.#tcp.set(key, c);
    return c;
  }

  /** Accepts TCP connections on `port`; each established connection is handed to `onConnection`. */
  listenTcp(port: number, onConnection: (c: TcpConnection) => void): () => void {
    if (this.#tcpListeners.has(port)) {
      throw new ScenarioError(`${this.name}: TCP port ${port} is in use`, { at: callSite(), expected: "one listener per TCP port of a lab host (close the first, or pick another port)" });
    }
    this.#tcpListeners.set(port, onConnection);
    return () => this.#tcpListeners.delete(port);
  }

  /** Opens a TCP connection to a guest (e.g. SSH to dropbear). */
  connectTcp(ip: string, port: number, timeoutMs = 10_000): Promise<TcpConnection> {
    let local: number;
    do local = this.#nextEphemeral = this.#nextEphemeral >= 65535 ? 49152 : this.#nextEphemeral + 1;
    while ([...this.#tcp.keys()].some((k) => k.endsWith(`>${local}`)));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        c.destroy();
        reject(Object.assign(new Error(`TCP connect to ${ip}:${port} timed out after ${timeoutMs} ms`), { code: "ETIMEDOUT" }));
      }, timeoutMs);
      const c = this.#newConnection(ip, port, local, (err) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(c);
      });
      c.connect();
    });
  }

  #sendFrame(dstMac: string, type: number, payload: Uint8Array): void {
    if (this.#closed) return;
    this.#port.send(encodeEthernet({ dst: dstMac, src: this.mac, type, payload }));
  }

  /** Sends an IPv4 packet, resolving the next hop's MAC by ARP (broadcasts go to ff:ff:…). */
  sendIp(dst: string, protocol: number, payload: Uint8Array): void {
    const packet = encodeIpv4({ src: this.ip, dst, protocol, id: this.#ipId++ & 0xffff, payload });
    if (dst === "255.255.255.255" || dst === this.broadcastIp) return this.#sendFrame(BROADCAST_MAC, ETH_IPV4, packet);
    const mac = this.arpTable.get(dst);
    if (mac) return this.#sendFrame(mac, ETH_IPV4, packet);
    const pending = this.#pendingArp.get(dst);
    if (pending) {
      if (pending.frames.length < 64) pending.frames.push(packet);
      return;
    }
    if (this.#pendingArp.size >= this.limits.pendingArp) {
      this.#count("arp: too many unresolved, packet dropped");
      return;
    }
    const entry = { frames: [packet], tries: 0, timer: setTimeout(() => {}, 0) };
    const ask = () => {
      if (this.#closed) return;
      if (entry.tries++ >= ARP_RETRIES) {
        this.#pendingArp.delete(dst);
        this.#count("arp: unresolved, packets dropped");
        return;
      }
      this.arpRequest(dst);
      entry.timer = setTimeout(ask, ARP_RETRY_MS);
    };
    this.#pendingArp.set(dst, entry);
    ask();
  }

  /** Answers ARP for `ip` as well, as if a conflicting host had it (a guest's address check must fire). */
  impersonate(ip: string): void {
    this.#claimed.add(ip);
    this.#count(`arp: impersonating ${ip}`);
  }

  /** Asks who has `ip` (also usable to impersonate a conflicting host: pass another sender). */
  arpRequest(targetIp: string, senderIp = this.ip, senderMac = this.mac): void {
    this.#sendFrame(BROADCAST_MAC, ETH_ARP, encodeArp({ op: ARP_REQUEST, senderMac, senderIp, targetMac: "00:00:00:00:00:00", targetIp }));
  }

  /** Announces `ip` as ours (gratuitous ARP) — e.g. to make a guest's conflict check fire. */
  gratuitousArp(ip = this.ip, mac = this.mac): void {
    this.#sendFrame(BROADCAST_MAC, ETH_ARP, encodeArp({ op: ARP_REPLY, senderMac: mac, senderIp: ip, targetMac: BROADCAST_MAC, targetIp: ip }));
  }

  /** Pings `ip` once; resolves with the round trip in ms, or undefined after `timeoutMs`. */
  ping(ip: string, timeoutMs = 2000, seq = 1): Promise<number | undefined> {
    const id = 0xb1ab;
    const key = `${ip}/${id}/${seq}`;
    return new Promise((resolve) => {
      const t0 = performance.now();
      const timer = setTimeout(() => {
        this.#pings.delete(key);
        resolve(undefined);
      }, timeoutMs);
      this.#pings.set(key, (t) => {
        clearTimeout(timer);
        this.#pings.delete(key);
        resolve(t - t0);
      });
      this.sendIp(ip, PROTO_ICMP, encodeIcmp({ type: ICMP_ECHO_REQUEST, code: 0, id, seq, data: new TextEncoder().encode("bootlab ping") }));
    });
  }

  bind(port: number): Promise<DatagramSocket> {
    let p = port;
    if (p === 0) {
      do p = this.#nextEphemeral = this.#nextEphemeral >= 65535 ? 49152 : this.#nextEphemeral + 1;
      while (this.#udp.has(p));
    }
    if (this.#udp.has(p)) {
      return Promise.reject(new ScenarioError(`${this.name}: UDP port ${p} is in use`, { at: callSite(), expected: "one socket per UDP port of a lab host (close the first, or pick another port)" }));
    }
    const binding: UdpBinding = { handler: () => {} };
    this.#udp.set(p, binding);
    const host = this;
    return Promise.resolve({
      port: p,
      send(to: Endpoint, data: Uint8Array) {
        host.sendIp(to.address, PROTO_UDP, encodeUdp({ srcPort: p, dstPort: to.port, payload: data }, host.ip, to.address));
      },
      onMessage(handler) {
        binding.handler = handler;
      },
      close() {
        if (host.#udp.get(p) === binding) host.#udp.delete(p);
      },
    });
  }

  /** Unplugs the host and stops its timers (the lab does it). */
  close(): void {
    for (const c of this.#tcp.values()) c.destroy();
    this.#tcp.clear();
    this.#tcpListeners.clear();
    this.#closed = true;
    for (const p of this.#pendingArp.values()) clearTimeout(p.timer);
    this.#pendingArp.clear();
    this.#udp.clear();
  }
}
