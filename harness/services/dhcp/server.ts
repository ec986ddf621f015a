// A BOOTP/DHCP server in the spirit of dhcpd.conf: per-MAC host entries (fixed address, next-server,
// boot file, options), a pool for everyone else, vendor-class rules (U-Boot sends "U-Boot.armv8", udhcpc
// "udhcp 1.35.0"), and a transaction log that scenarios assert on. The core is pure — bytes in, bytes
// out — and `serveDhcp` wires it to any DatagramNetwork (the lab LAN or a host UDP socket).

import { ipToBytes, ipToNumber, numberToIp } from "../../lan/packets/ipv4.ts";
import type { DatagramNetwork, DatagramSocket } from "../../net/datagram.ts";
import {
  BOOTREPLY, BOOTREQUEST, type BootpMessage, decodeBootp, DHCP, DHCP_TYPE_NAMES, encodeBootp, messageType, OPT, optIp, optString,
} from "./packets.ts";

/** A fixed host, as in dhcpd.conf (`lan.dhcp.host(entry)`): the address and boot parameters one MAC gets. */
export interface DhcpHostEntry {
  /** The client's MAC (any case). */
  mac: string;
  /** The address it is given. */
  ip: string;
  /** Boot file name (BOOTP `file`, DHCP option 67). */
  file?: string;
  /** siaddr: the TFTP server the client should use (defaults to the DHCP server). */
  nextServer?: string;
  /** Option 12. */
  hostname?: string;
  /** Option 17 (root-path). */
  rootPath?: string;
  /** More options by code; strings are sent as text. */
  options?: Record<number, Uint8Array | string>;
  /**
   * Answer this client as a BOOTP server would (dhcpd's `allow bootp` with a fixed host): a plain
   * BOOTREPLY without DHCP options even to a DHCPDISCOVER, and no answer to DHCPREQUEST. Clients such as
   * U-Boot then take the BOOTP path ("got BOOTP response") instead of the four-way DHCP exchange.
   */
  bootpOnly?: boolean;
}

/** Boot parameters for clients whose vendor class (option 60) matches (a substring or a RegExp), e.g. "U-Boot". */
export interface VendorClassRule {
  /** Matched against option 60 (a substring, or a regex). */
  match: string | RegExp;
  /** The boot file name they get. */
  file?: string;
  /** The TFTP server (siaddr) they get. */
  nextServer?: string;
}

/** The DHCP server's settings (`lab.lan({ dhcp })` for the lab's; `bootlab serve dhcp --config` for the host's). */
export interface DhcpConfig {
  /** The server's own address (server identifier, and siaddr unless `nextServer`). */
  serverIp: string;
  /** The subnet's prefix length (the netmask given out). */
  prefix: number;
  /** Option 3, when given. */
  router?: string;
  /** Option 6, when given. */
  dns?: string[];
  /** Lease time (default 3600). */
  leaseSeconds?: number;
  /** Addresses for clients without a host entry, inclusive (lab default: .100–.199). */
  pool?: { start: string; end: string };
  /** Defaults for every client. */
  file?: string;
  /** Default siaddr (the TFTP server) for every client. */
  nextServer?: string;
  /** Per vendor class (option 60) boot parameters, first match wins; a host entry overrides them. */
  vendorClasses?: VendorClassRule[];
  /** Answer plain BOOTP requests (no DHCP message type). Default true. */
  bootp?: boolean;
  /** Entries kept in `log`, oldest dropped first. Default 10 000: more than any scenario asserts on. */
  logLimit?: number;
}

/** One request the DHCP server saw and what it did (`lan.dhcp.log`, lan-log.json `dhcp`). */
export interface DhcpLogEntry {
  /** Milliseconds since the server started. */
  atMs: number;
  /** The client's MAC (chaddr). */
  mac: string;
  /** The client's transaction id. */
  xid: number;
  /** "BOOTP", or the DHCP message type ("DISCOVER", "REQUEST", …); "malformed" for garbage. */
  request: string;
  /** Option 60, as sent. */
  vendorClass?: string;
  /** Option 50, or ciaddr, as sent. */
  requestedIp?: string;
  /** What we answered: "BOOTREPLY", "OFFER", "ACK", "NAK", or undefined (ignored / withheld). */
  reply?: string;
  /** The address given (yiaddr). */
  ip?: string;
  /** The boot file name sent. */
  file?: string;
  /** The siaddr sent (the TFTP server). */
  nextServer?: string;
  /** Why, when not a plain answer: "withheld (fault)", "declined", "no host entry and no free pool address", "ignored", … */
  note?: string;
}

export interface DhcpDecision {
  reply?: Uint8Array;
  /** Where the reply goes: broadcast while the client has no address, else its address. */
  to?: string;
  entry: DhcpLogEntry;
}

function maskOf(prefix: number): string {
  return numberToIp(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
}

/**
 * bootlab's BOOTP/DHCP server (`lan.dhcp`): host entries, a pool, vendor classes, BOOTP-only answers, withheld
 * replies as a fault, and a log of every request.
 */
export class DhcpServer {
  /** The settings in force (defaults filled in). */
  readonly config: DhcpConfig;
  /** Every request and its answer, in order. */
  readonly log: DhcpLogEntry[] = [];
  #hosts = new Map<string, DhcpHostEntry>();
  /** Addresses by client MAC: offered (tentative) or bound. At most the pool's size. */
  #leases = new Map<string, string>();
  /**
   * Clients whose lease was acknowledged (or remembered). The others only hold an offer, which a new client
   * takes over, oldest first, once the pool is empty: a flood of DISCOVERs from made-up MACs, which never
   * REQUEST, cannot starve the board that does.
   */
  #bound = new Set<string>();
  readonly stats = { offersReclaimed: 0, droppedLogEntries: 0 };
  /** Addresses a client found in use (DHCPDECLINE): never offered from the pool again (RFC 2131 4.3.3). */
  #declined = new Set<string>();
  /** Remaining requests to ignore, by kind ("BOOTP", "DISCOVER", "REQUEST", …) — a fault a scenario sets. */
  #withhold = new Map<string, number>();
  #clock: () => number;

  /** `clock`: the log's time in ms (default: since this server was made); a lab gives its run's axis. */
  constructor(config: DhcpConfig, clock?: () => number) {
    this.config = { leaseSeconds: 3600, bootp: true, logLimit: 10_000, ...config };
    const t0 = performance.now();
    this.#clock = clock ?? (() => performance.now() - t0);
  }

  #record(entry: DhcpLogEntry): void {
    if (this.log.length >= this.config.logLimit!) {
      this.log.shift();
      this.stats.droppedLogEntries++;
    }
    this.log.push(entry);
  }

  /** Addresses handed out from the pool (offered or bound). */
  get leases(): number {
    return this.#leases.size;
  }

  /** Adds (or replaces) a fixed host by MAC. */
  host(entry: DhcpHostEntry): void {
    this.#hosts.set(entry.mac.toLowerCase(), entry);
  }

  /**
   * Takes over a lease the client already holds (a machine restored from a snapshot, whose lease was
   * granted by another run's server): the same address is offered and ACKed to it.
   */
  remember(mac: string, ip: string): void {
    const m = mac.toLowerCase();
    if (!this.#hosts.has(m)) {
      this.#leases.set(m, ip);
      this.#bound.add(m);
    }
  }

  /** Ignores the next `count` requests of a kind — e.g. withhold("DISCOVER", 3): no OFFER for three tries. */
  withhold(kind: string, count: number): void {
    this.#withhold.set(kind, count);
  }

  #addressFor(mac: string): string | undefined {
    const fixed = this.#hosts.get(mac);
    if (fixed) return fixed.ip;
    const leased = this.#leases.get(mac);
    if (leased) return leased;
    const pool = this.config.pool;
    if (!pool) return undefined;
    const used = new Set([...this.#leases.values(), ...[...this.#hosts.values()].map((h) => h.ip), this.config.serverIp, ...this.#declined]);
    for (let n = ipToNumber(pool.start); n <= ipToNumber(pool.end); n++) {
      const ip = numberToIp(n);
      if (!used.has(ip)) {
        this.#leases.set(mac, ip);
        return ip;
      }
    }
    for (const [other, ip] of this.#leases) {
      if (this.#bound.has(other)) continue;
      this.#leases.delete(other);
      this.#leases.set(mac, ip);
      this.stats.offersReclaimed++;
      return ip;
    }
    return undefined;
  }

  #bootParams(mac: string, vendorClass: string | undefined): { file?: string; nextServer: string } {
    const h = this.#hosts.get(mac);
    const rule = vendorClass === undefined ? undefined : this.config.vendorClasses?.find((r) =>
      typeof r.match === "string" ? vendorClass.includes(r.match) : r.match.test(vendorClass));
    return {
      file: h?.file ?? rule?.file ?? this.config.file,
      nextServer: h?.nextServer ?? rule?.nextServer ?? this.config.nextServer ?? this.config.serverIp,
    };
  }

  /** Decides the answer to one datagram from a client. Never throws. */
  handle(bytes: Uint8Array): DhcpDecision {
    const atMs = Math.round(this.#clock());
    const m = decodeBootp(bytes);
    if (typeof m === "string") {
      const entry = { atMs, mac: "?", xid: 0, request: "malformed", note: m };
      this.#record(entry);
      return { entry };
    }
    const mac = m.chaddr.toLowerCase();
    const type = messageType(m);
    const request = type === undefined ? "BOOTP" : (DHCP_TYPE_NAMES[type] ?? `type ${type}`);
    const entry: DhcpLogEntry = {
      atMs, mac, xid: m.xid, request, vendorClass: optString(m, OPT.VENDOR_CLASS), requestedIp: optIp(m, OPT.REQUESTED_IP),
    };
    this.#record(entry);
    if (m.op !== BOOTREQUEST) return (entry.note = "not a request", { entry });
    const left = this.#withhold.get(request) ?? 0;
    if (left > 0) {
      this.#withhold.set(request, left - 1);
      entry.note = "withheld (fault)";
      return { entry };
    }
    if (type === undefined && !this.config.bootp) return (entry.note = "BOOTP disabled", { entry });
    if (type === DHCP.RELEASE) {
      if (!this.#hosts.has(mac)) this.#leases.delete(mac);
      this.#bound.delete(mac);
      return { entry };
    }
    if (type === DHCP.DECLINE) {
      // The client found our address in use (ARP conflict): forget the lease and retire the address, so
      // the next offer differs.
      const bad = entry.requestedIp ?? this.#leases.get(mac);
      if (bad) this.#declined.add(bad);
      this.#leases.delete(mac);
      this.#bound.delete(mac);
      entry.note = "declined";
      return { entry };
    }
    if (this.#hosts.get(mac)?.bootpOnly && type !== undefined && type !== DHCP.DISCOVER) {
      return (entry.note = "BOOTP-only host: only its first request is answered", { entry });
    }
    const ip = type === DHCP.INFORM ? m.ciaddr : this.#addressFor(mac);
    if (!ip) return (entry.note = "no host entry and no free pool address", { entry });
    let replyType: number | undefined;
    if (this.#hosts.get(mac)?.bootpOnly) {
      replyType = undefined;
    } else if (type === DHCP.DISCOVER) replyType = DHCP.OFFER;
    else if (type === DHCP.REQUEST) {
      const wanted = entry.requestedIp ?? (m.ciaddr !== "0.0.0.0" ? m.ciaddr : undefined);
      const serverId = optIp(m, OPT.SERVER_ID);
      if (serverId && serverId !== this.config.serverIp) return (entry.note = `for server ${serverId}`, { entry });
      replyType = wanted && wanted !== ip ? DHCP.NAK : DHCP.ACK;
    } else if (type === DHCP.INFORM) replyType = DHCP.ACK;
    else if (type !== undefined) return (entry.note = "ignored", { entry });

    const boot = this.#bootParams(mac, entry.vendorClass);
    const nak = replyType === DHCP.NAK;
    const reply: BootpMessage = {
      op: BOOTREPLY, xid: m.xid, secs: 0, broadcast: m.broadcast,
      ciaddr: type === DHCP.INFORM ? m.ciaddr : "0.0.0.0",
      yiaddr: nak || type === DHCP.INFORM ? "0.0.0.0" : ip,
      siaddr: nak ? "0.0.0.0" : boot.nextServer,
      giaddr: m.giaddr, chaddr: m.chaddr, sname: "", file: nak ? "" : boot.file ?? "",
    };
    const host = this.#hosts.get(mac);
    const wantsOptions = type !== undefined || m.options !== undefined;
    if (wantsOptions) {
      const o = new Map<number, Uint8Array>();
      const text = (s: string) => new TextEncoder().encode(s);
      if (replyType !== undefined) o.set(OPT.MESSAGE_TYPE, Uint8Array.of(replyType));
      if (replyType !== undefined) o.set(OPT.SERVER_ID, ipToBytes(this.config.serverIp));
      if (!nak) {
        o.set(OPT.SUBNET_MASK, ipToBytes(maskOf(this.config.prefix)));
        if (this.config.router) o.set(OPT.ROUTER, ipToBytes(this.config.router));
        if (this.config.dns?.length) o.set(OPT.DNS, Uint8Array.from(this.config.dns.flatMap((d) => [...ipToBytes(d)])));
        if (replyType !== undefined && type !== DHCP.INFORM) {
          const lease = this.config.leaseSeconds!;
          const be = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
          o.set(OPT.LEASE_TIME, be(lease));
          o.set(OPT.RENEWAL, be(Math.floor(lease / 2)));
          o.set(OPT.REBINDING, be(Math.floor((lease * 7) / 8)));
        }
        if (host?.hostname) o.set(OPT.HOSTNAME, text(host.hostname));
        if (host?.rootPath) o.set(OPT.ROOT_PATH, text(host.rootPath));
        if (boot.file) o.set(OPT.BOOTFILE, text(boot.file));
        o.set(OPT.TFTP_SERVER, text(boot.nextServer));
        for (const [code, v] of Object.entries(host?.options ?? {})) o.set(Number(code), typeof v === "string" ? text(v) : v);
      } else o.set(OPT.MESSAGE, text(`requested address is not ${mac}'s`));
      reply.options = o;
    }
    // A BOOTP client never confirms, and an ACKed one holds its address: neither is reclaimed.
    if ((replyType === DHCP.ACK || replyType === undefined) && this.#leases.get(mac) === ip) this.#bound.add(mac);
    entry.reply = replyType === undefined ? "BOOTREPLY" : DHCP_TYPE_NAMES[replyType];
    if (!nak) Object.assign(entry, { ip, file: boot.file, nextServer: boot.nextServer });
    // A client without an address cannot take unicast to it: broadcast (RFC 2131 4.1).
    const to = m.ciaddr !== "0.0.0.0" && !m.broadcast ? m.ciaddr : "255.255.255.255";
    return { reply: encodeBootp(reply), to, entry };
  }
}

export interface ServeDhcpOptions {
  /** Default 67. */
  port?: number;
  /** Where clients listen. Default 68. */
  clientPort?: number;
  /** Replaces 255.255.255.255 as the destination of broadcast replies (a subnet broadcast on a host socket). */
  broadcastAddress?: string;
  /** Called after every datagram, with what was decided (for a log line). */
  onDecision?: (d: DhcpDecision) => void;
}

/** Serves a DhcpServer on a network; returns the socket (close it to stop). */
export async function serveDhcp(network: DatagramNetwork, server: DhcpServer, opts: ServeDhcpOptions = {}): Promise<DatagramSocket> {
  const sock = await network.bind(opts.port ?? 67);
  sock.onMessage((data) => {
    const d = server.handle(data);
    if (d.reply && d.to) {
      const to = d.to === "255.255.255.255" && opts.broadcastAddress ? opts.broadcastAddress : d.to;
      sock.send({ address: to, port: opts.clientPort ?? 68 }, d.reply);
    }
    opts.onDecision?.(d);
  });
  return sock;
}
