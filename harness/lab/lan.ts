// The lab LAN of one run: the switch, the capture (lan.pcap), the lab's own hosts with their services
// (BOOTP/DHCP now; TFTP, HTTP, NBD as they come), and the transaction log written next to the capture.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Owner } from "../lifecycle/owner.ts";
import { type FrameEvent, LanSegment } from "../lan/segment.ts";
import { PcapWriter } from "../lan/pcap.ts";
import type { FaultEngine } from "../lan/faults.ts";
import { LabHost } from "../lan/host.ts";
import { ipToNumber, numberToIp } from "../lan/packets/ipv4.ts";
import { macFor } from "../machine/qemu-args.ts";
import { type DhcpConfig, DhcpServer, serveDhcp } from "../services/dhcp/server.ts";
import { ScenarioError } from "../errors/failures.ts";
import { LabHttpServer } from "../services/http/server.ts";
import { generateKeyPair, type SshKeyPair } from "../services/ssh/client.ts";
import { TftpServer } from "../services/tftp/server.ts";
import { NbdServer } from "../services/nbd/server.ts";
import type { TransferConfig } from "../services/tftp/transfer.ts";
import { type TftpMiss, tftpMisses } from "./blame.ts";
import type { LanEvent } from "../timeline/model.ts";

/** The lab LAN's addressing and services (`lab.lan(opts)`; options count on the first call only). */
export interface LanOptions {
  /** The subnet in CIDR form (default 192.168.1.0/24). */
  subnet?: string;
  /** The lab server's address (default: .10 of the subnet). */
  server?: string;
  /** DHCP settings beyond the defaults (pool .100–.199 of a /24, lease 1 h). */
  dhcp?: Partial<Omit<DhcpConfig, "serverIp" | "prefix">>;
  /** A folder the TFTP server also serves (files put in `lan.tftpFiles` come first). */
  tftpRoot?: string;
  /** Accept TFTP uploads (WRQ) into `tftpRoot`: a board backing something up to the lab. */
  tftpUploads?: boolean;
  /** TFTP retransmit timing, blksize/windowsize caps. */
  tftp?: Partial<TransferConfig>;
}

export function parseSubnet(subnet: string): { network: number; prefix: number } {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(subnet);
  if (!m || Number(m[2]) < 8 || Number(m[2]) > 30) {
    throw new ScenarioError(`lan.subnet "${subnet}" is not a subnet`, { expected: "CIDR like 192.168.1.0/24 (prefix 8–30)" });
  }
  const prefix = Number(m[2]);
  const mask = (0xffffffff << (32 - prefix)) >>> 0;
  return { network: (ipToNumber(m[1]!) & mask) >>> 0, prefix };
}

interface LabLanInit {
  owner: Owner;
  artifacts: string;
  seed: string;
  opts: LanOptions;
  /** The time every log of the LAN is on (default performance.now()). */
  clock?: () => number;
}

/** Fault firings listed one by one in timeline.json; the rest are summed up in one event. */
const MAX_FIRINGS = 1000;

function sizeOf(bytes: number): string {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(0)} KB` : `${bytes} B`;
}

/**
 * The lab LAN of a run (`await lab.lan()`): a learning switch the boards plug into, a capture of every frame
 * (lan.pcap), seeded fault rules, and the lab server with BOOTP/DHCP, TFTP, HTTP and NBD. Its transaction logs
 * land in lan-log.json.
 */
export class LabLan {
  /** The switch: ports, link state (`linkDownFor`), counters. */
  readonly segment: LanSegment;
  /** The lab server host (192.168.1.10 by default): `server.ip`, `server.ping(ip)`. */
  readonly server: LabHost;
  /**
   * BOOTP/DHCP on the server host: per-MAC entries with `dhcp.host({ mac, ip, file, nextServer })`, faults with
   * `dhcp.withhold(kind, n)`, and its log (`DhcpLogEntry`).
   */
  readonly dhcp: DhcpServer;
  /** HTTP on the server host, port 80. */
  readonly http: LabHttpServer;
  /** Files the TFTP server hands out by name (checked before `tftpRoot`). */
  readonly tftpFiles = new Map<string, Uint8Array>();
  /** NBD on the server host, port 10809: exports added with `nbd.addFile` / `nbd.addBytes`. */
  readonly nbd: NbdServer;
  /** TFTP on the server host, port 69 (set once the LAN is created). */
  tftp!: TftpServer;
  /** The subnet in CIDR form, normalised ("192.168.1.0/24"). */
  readonly subnet: string;
  /** The subnet's prefix length. */
  readonly prefix: number;
  /** The lab's own hosts on this LAN (the server first, then `addHost`/`addTftpHost` ones). */
  readonly hosts: LabHost[] = [];
  /** Frames seen on the switch so far (the first 20 000; lan.pcap has them all). */
  readonly frames: FrameEvent[] = [];
  #pcap: PcapWriter;
  #artifacts: string;
  #owner: Owner;
  /** The time every log of this LAN is on (the run's axis: ms since the run began). */
  readonly clock: () => number;
  /** TFTP servers on other lab hosts (a next-server that is not the DHCP server), by host name. */
  readonly extraTftp = new Map<string, { host: LabHost; server: TftpServer; files: Map<string, Uint8Array> }>();

  private constructor(o: LabLanInit) {
    this.clock = o.clock ?? (() => performance.now());
    const { network, prefix } = parseSubnet(o.opts.subnet ?? "192.168.1.0/24");
    this.subnet = `${numberToIp(network)}/${prefix}`;
    this.prefix = prefix;
    this.#artifacts = o.artifacts;
    this.#owner = o.owner;
    let seed = 0;
    for (const ch of o.seed) seed = (Math.imul(seed, 31) + ch.charCodeAt(0)) >>> 0;
    this.segment = new LanSegment("lan0", o.owner, seed, this.clock);
    this.#pcap = new PcapWriter(join(o.artifacts, "lan.pcap"));
    this.segment.onFrame((e) => {
      this.#pcap.write(e.frame, e.wallMs);
      if (this.frames.length < 20_000) this.frames.push(e);
    });
    const serverIp = o.opts.server ?? numberToIp(network + 10);
    this.#checkInSubnet("lan.server", serverIp);
    this.server = this.addHost("server", serverIp);
    this.dhcp = new DhcpServer({
      serverIp, prefix,
      pool: { start: numberToIp(network + 100), end: numberToIp(network + Math.min(199, 2 ** (32 - prefix) - 2)) },
      ...o.opts.dhcp,
    }, this.clock);
    this.http = new LabHttpServer({}, this.clock);
    this.nbd = new NbdServer({ clock: this.clock });
    const stopHttp = this.http.attach(this.server, 80);
    const stopNbd = this.nbd.attach(this.server);
    o.owner.adopt("lan capture and log", async () => {
      stopHttp();
      this.http.close();
      stopNbd();
      await this.nbd.close();
      for (const h of this.hosts) h.close();
      await this.#pcap.close();
      writeFileSync(join(this.#artifacts, "lan-log.json"), JSON.stringify({
        subnet: this.subnet,
        frames: this.segment.counters,
        duplicateMacs: this.segment.duplicateMacs,
        hosts: this.hosts.map((h) => ({ name: h.name, ip: h.ip, mac: h.mac, counters: h.counters })),
        faults: this.segment.faults.log,
        dhcp: this.dhcp.log,
        http: this.http.log,
        nbd: this.nbd.sessions,
        tftp: this.tftp?.log,
        tftpRequests: this.tftp?.requests,
        otherTftpServers: Object.fromEntries([...this.extraTftp].map(([n, t]) => [n, { ip: t.host.ip, log: t.server.log, requests: t.server.requests }])),
      }, null, 2) + "\n");
    });
  }

  static async create(o: LabLanInit): Promise<LabLan> {
    const lan = new LabLan(o);
    const dhcpSocket = await serveDhcp(lan.server, lan.dhcp);
    o.owner.adopt("dhcp server", () => dhcpSocket.close());
    // A function, not the map itself: the server snapshots a map at start, and scenarios add files later.
    lan.tftp = await TftpServer.start({
      network: lan.server, root: o.opts.tftpRoot, files: (name) => lan.tftpFiles.get(name), transfer: o.opts.tftp, clock: lan.clock,
      ...(o.opts.tftpUploads ? { write: true } : {}),
    });
    o.owner.adopt("tftp server", () => lan.tftp.close());
    return lan;
  }

  #checkInSubnet(field: string, ip: string): void {
    const { network, prefix } = parseSubnet(this.subnet);
    const mask = (0xffffffff << (32 - prefix)) >>> 0;
    if (((ipToNumber(ip) & mask) >>> 0) !== network) {
      throw new ScenarioError(`${field} ${ip} is outside the lab subnet ${this.subnet}`);
    }
  }

  #sshKey: SshKeyPair | undefined;

  /** The key pair the lab logs in to guests with (made once per run). */
  get sshKey(): SshKeyPair {
    return (this.#sshKey ??= generateKeyPair());
  }

  /** Source MACs the switch saw on two live ports at once (see LanSegment.duplicateMacs). */
  get duplicateMacs(): LanSegment["duplicateMacs"] {
    return this.segment.duplicateMacs;
  }

  /** Fault rules on this LAN's switch (seeded per scenario and target, so a run is reproducible). */
  get faults(): FaultEngine {
    return this.segment.faults;
  }

  /**
   * Another lab host with a TFTP server of its own (seed 002: the BOOTP reply's next-server is not the
   * BOOTP server). Put files in the returned map; the server's log is in `lan-log.json` too.
   */
  async addTftpHost(name: string, ip: string): Promise<{ host: LabHost; server: TftpServer; files: Map<string, Uint8Array> }> {
    const host = this.addHost(name, ip);
    const files = new Map<string, Uint8Array>();
    const server = await TftpServer.start({ network: host, files: (f) => files.get(f), clock: this.clock });
    this.#owner.adopt(`tftp server on ${name}`, () => server.close());
    const entry = { host, server, files };
    this.extraTftp.set(name, entry);
    return entry;
  }

  /** Every read a lab TFTP server refused because it does not have the name, in the order they ended. */
  tftpMisses(): TftpMiss[] {
    return [
      ...tftpMisses(this.server.name, this.tftp?.log ?? []),
      ...[...this.extraTftp.values()].flatMap((t) => tftpMisses(t.host.name, t.server.log)),
    ];
  }

  /**
   * The LAN's transactions and fault firings as the run's timeline keeps them, each named by the board on
   * the other end when its MAC (or the address the lab leased to it) says which. `boards`: MAC → board.
   */
  timelineEvents(boards: Map<string, string>): LanEvent[] {
    // A board's address: what the lab's hosts learned by ARP (static addresses too), or leased to its MAC.
    const byIp = new Map<string, string>();
    for (const h of this.hosts) {
      for (const [ip, mac] of h.arpTable) {
        const b = boards.get(mac.toLowerCase());
        if (b) byIp.set(ip, b);
      }
    }
    for (const e of this.dhcp.log) {
      const b = boards.get(e.mac.toLowerCase());
      if (b && e.ip && (e.reply === "ACK" || e.reply === "BOOTREPLY")) byIp.set(e.ip, b);
    }
    const who = (ip: string) => byIp.get(ip.replace(/:\d+$/, "")) ?? undefined;
    const named = (b: string | undefined) => (b === undefined ? {} : { board: b });
    const out: LanEvent[] = [];
    for (const e of this.dhcp.log) {
      out.push({
        kind: "dhcp", atMs: e.atMs, ...named(boards.get(e.mac.toLowerCase())),
        summary: `${e.request} → ${e.reply ?? "no answer"}${e.ip ? ` ${e.ip}` : ""}${e.file ? ` file ${e.file}` : ""}${e.note ? ` (${e.note})` : ""}`,
        ...(e.reply === undefined || e.reply === "NAK" ? { problem: true } : {}),
      });
    }
    const tftp = [{ host: this.server.name, server: this.tftp }, ...[...this.extraTftp.values()].map((t) => ({ host: t.host.name, server: t.server }))];
    for (const { host, server } of tftp) {
      if (!server) continue;
      for (const t of [...server.log, ...server.active()]) {
        const done = server.log.includes(t);
        out.push({
          kind: "tftp", atMs: Math.round(t.startedAtMs), endMs: Math.round(t.startedAtMs + t.durationMs), ...named(who(t.client.address)),
          summary: `${t.kind === "read" ? "RRQ" : "WRQ"} ${t.file} from ${host}: ${sizeOf(t.bytes)}, ${done ? t.outcome : "unfinished"}` +
            `${t.retransmits ? `, ${t.retransmits} retransmits` : ""}${t.error ? ` (${t.error.message})` : ""}`,
          ...(!done || t.outcome !== "ok" ? { problem: true } : {}),
        });
      }
    }
    for (const h of this.http.log) {
      out.push({
        kind: "http", atMs: h.atMs, endMs: h.atMs + h.ms, ...named(who(h.client)),
        summary: `${h.method} ${h.path} → ${h.status}, ${sizeOf(h.bytes)}`, ...(h.status >= 400 ? { problem: true } : {}),
      });
    }
    for (const s of this.nbd.sessions) {
      out.push({
        kind: "nbd", atMs: Math.round(s.startedAtMs), ...(s.endedAtMs !== undefined ? { endMs: Math.round(s.endedAtMs) } : {}), ...named(who(s.client)),
        summary: `NBD ${s.export ?? "(no export)"}: ${s.reads} reads ${sizeOf(s.readBytes)}, ${s.writes} writes ${sizeOf(s.writeBytes)}, ${s.outcome ?? s.state}`,
        ...(s.errors.length || ["refused", "protocol-error", "server-error"].includes(s.outcome ?? "") ? { problem: true } : {}),
      });
    }
    // A long lossy transfer fires thousands of times: the first ones show the pattern, lan-log.json has them all.
    const firings = this.segment.faults.log;
    for (const f of firings.slice(0, MAX_FIRINGS)) {
      out.push({ kind: "fault", atMs: f.atMs ?? 0, ...named(f.port === this.server.name ? undefined : f.port), summary: `fault "${f.rule}": ${f.action} frame ${f.frameNumber} from ${f.port} (${f.summary})`, problem: true });
    }
    if (firings.length > MAX_FIRINGS) {
      const rest = firings.slice(MAX_FIRINGS);
      out.push({
        kind: "fault", atMs: rest[0]!.atMs ?? 0, endMs: rest.at(-1)!.atMs ?? 0, problem: true,
        summary: `${rest.length} more fault firings until ${((rest.at(-1)!.atMs ?? 0) / 1000).toFixed(1)} s, not listed here (lan-log.json has every one)`,
      });
    }
    for (const d of this.segment.duplicateMacs) {
      out.push({ kind: "duplicate-mac", atMs: Math.round(d.at), summary: `${d.mac} on two live ports: ${d.ports.join(" and ")}`, problem: true });
    }
    return out.sort((a, b) => a.atMs - b.atMs);
  }

  /** Adds another host of the lab's own (e.g. a separate TFTP server named by next-server). */
  addHost(name: string, ip: string): LabHost {
    this.#checkInSubnet(`lab host ${name}`, ip);
    if (this.hosts.some((h) => h.ip === ip || h.name === name)) throw new ScenarioError(`lab host ${name} (${ip}) clashes with another lab host`);
    // Not per scenario: a guest restored from a snapshot still has this host's MAC in its ARP cache.
    const h = new LabHost(this.segment, { name, mac: macFor(`lab/${this.subnet}/${name}`), ip, prefix: this.prefix });
    this.hosts.push(h);
    return h;
  }
}
