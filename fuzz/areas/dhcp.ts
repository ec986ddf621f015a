// BOOTP/DHCP (harness/services/dhcp): sequences of client datagrams — the captured DISCOVER/REQUEST pairs of
// U-Boot and udhcpc, and messages made with encodeBootp — through decodeBootp and a DhcpServer with fixed
// hosts, a BOOTP-only host, vendor-class rules and a small pool. Every reply must itself decode, answer the
// request's transaction, and go somewhere.

import type { Area } from "../area.ts";
import { dataFiles } from "../captures.ts";
import { BOOTP_MUTATORS } from "../mutators/bootp.ts";
import { BYTE_MUTATORS } from "../mutators/bytes.ts";
import { LAB } from "../mutators/packets.ts";
import { recordMutators } from "../mutators/records.ts";
import { decodeRecords, encodeRecords } from "../records.ts";
import { BOOTREPLY, BOOTREQUEST, decodeBootp, DHCP, encodeBootp, messageType, OPT } from "../../harness/services/dhcp/packets.ts";
import { DhcpServer } from "../../harness/services/dhcp/server.ts";

/** Control record, bit by bit: BOOTP off, the first DISCOVER withheld, a one-address pool, a remembered lease. */
function server(control: Uint8Array): DhcpServer {
  const c = control[0] ?? 0;
  const s = new DhcpServer({
    serverIp: LAB.serverIp, prefix: 24, router: "192.168.1.1", dns: ["192.168.1.1", "9.9.9.9"], leaseSeconds: control[1] === 255 ? 0xffffffff : (control[1] ?? 0) * 97,
    pool: c & 4 ? { start: "192.168.1.100", end: "192.168.1.100" } : { start: "192.168.1.100", end: "192.168.1.110" },
    file: "kernel", bootp: (c & 1) === 0,
    vendorClasses: [{ match: "U-Boot", file: "boot.scr" }, { match: /^udhcp/, nextServer: "192.168.1.11" }],
  });
  s.host({ mac: "52:54:00:d7:ad:8d", ip: LAB.guestIp, file: "openwrt-initramfs.bin", hostname: "router", rootPath: "/srv/nfs", options: { 43: "vendor", 150: Uint8Array.of(192, 168, 1, 10) } });
  s.host({ mac: "52:54:00:d2:60:39", ip: "192.168.1.21", bootpOnly: true, nextServer: "192.168.1.12" });
  if (c & 2) s.withhold("DISCOVER", 1);
  if (c & 8) s.remember("52:54:00:ad:83:60", "192.168.1.105");
  return s;
}

function built(): Uint8Array[] {
  const base = {
    op: BOOTREQUEST, xid: 0x1234abcd, secs: 3, broadcast: true, ciaddr: "0.0.0.0", yiaddr: "0.0.0.0", siaddr: "0.0.0.0", giaddr: "0.0.0.0",
    chaddr: "52:54:00:df:0d:60", sname: "", file: "",
  };
  const opts = (type: number, more: [number, number[]][] = []) => new Map<number, Uint8Array>([[OPT.MESSAGE_TYPE, Uint8Array.of(type)], ...more.map(([k, v]) => [k, Uint8Array.from(v)] as [number, Uint8Array])]);
  return [
    encodeBootp({ ...base, options: undefined }),
    encodeBootp({ ...base, options: opts(DHCP.REQUEST, [[OPT.REQUESTED_IP, [192, 168, 1, 105]], [OPT.SERVER_ID, [192, 168, 1, 10]]]) }),
    encodeBootp({ ...base, options: opts(DHCP.REQUEST, [[OPT.SERVER_ID, [192, 168, 1, 77]]]) }),
    encodeBootp({ ...base, ciaddr: "192.168.1.100", broadcast: false, options: opts(DHCP.INFORM) }),
    encodeBootp({ ...base, options: opts(DHCP.DECLINE, [[OPT.REQUESTED_IP, [192, 168, 1, 100]]]) }),
    encodeBootp({ ...base, options: opts(DHCP.RELEASE) }),
    encodeBootp({ ...base, op: BOOTREPLY, options: opts(DHCP.OFFER) }),
  ];
}

export function dhcpArea(): Area {
  const captured = dataFiles("dhcp/", ".bin");
  const control = Uint8Array.of(0, 36);
  const seeds: Uint8Array[] = [];
  for (const c of captured.filter((f) => f.name.endsWith("-discover.bin"))) {
    const request = captured.find((f) => f.name === c.name.replace("-discover", "-request"))!;
    seeds.push(encodeRecords([control, c.bytes, request.bytes]));
  }
  const made = built();
  seeds.push(...made.map((m) => encodeRecords([control, m])));
  seeds.push(encodeRecords([Uint8Array.of(4, 36), made[1]!, made[4]!, captured[6]!.bytes, captured[7]!.bytes]));
  return {
    name: "dhcp",
    corpus: () => seeds,
    mutators: recordMutators({ inner: [...BOOTP_MUTATORS, ...BOOTP_MUTATORS, ...BYTE_MUTATORS], fixed: 1, maxRecords: 16 }),
    maxBytes: 8192,
    expects: ["reply:OFFER", "reply:ACK", "reply:NAK", "reply:BOOTREPLY", "refused", "ignored"],
    run(input) {
      const [ctl = new Uint8Array(0), ...datagrams] = decodeRecords(input);
      const s = server(ctl);
      let outcome = "ignored:nothing sent";
      for (const d of datagrams) {
        const r = s.handle(d);
        if (!r.reply) {
          outcome = r.entry.request === "malformed" ? `refused:${(r.entry.note ?? "").split(":").slice(0, 2).join(":")}` : `ignored:${r.entry.note ?? r.entry.request}`;
          continue;
        }
        const reply = decodeBootp(r.reply);
        if (typeof reply === "string") throw new Error(`DHCP: our own reply does not decode: ${reply}`);
        const asked = decodeBootp(d);
        if (typeof asked === "string" || reply.op !== BOOTREPLY || reply.xid !== asked.xid || reply.chaddr !== asked.chaddr) {
          throw new Error("DHCP: a reply that does not answer the request it was made for");
        }
        if (!r.to) throw new Error("DHCP: a reply with nowhere to go");
        outcome = `reply:${r.entry.reply}`;
        if (r.entry.reply !== "BOOTREPLY" && messageType(reply) === undefined) throw new Error(`DHCP: a ${r.entry.reply} without a message type`);
      }
      return outcome;
    },
  };
}
