import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { decodeBootp, encodeBootp, messageType, OPT, optIp, optString } from "../../harness/services/dhcp/packets.ts";
import { DhcpServer } from "../../harness/services/dhcp/server.ts";

// Real requests from busybox 1.35 udhcpc (Debian busybox-static) captured on the lab LAN.
const data = (name: string) => new Uint8Array(readFileSync(new URL(`../data/dhcp/${name}`, import.meta.url)));
const DISCOVER = data("udhcpc-1.35-virt-arm64-discover.bin");
const REQUEST = data("udhcpc-1.35-virt-arm64-request.bin");
const MALTA_DISCOVER = data("udhcpc-1.35-malta-mipsel-discover.bin");

function server() {
  const s = new DhcpServer({ serverIp: "192.168.1.10", prefix: 24, pool: { start: "192.168.1.100", end: "192.168.1.101" } });
  return s;
}

test("dhcp: decodes a real udhcpc DISCOVER: MAC, vendor class, parameter list", () => {
  const m = decodeBootp(DISCOVER);
  assert.ok(typeof m !== "string");
  assert.equal(messageType(m), 1);
  assert.match(m.chaddr, /^52:54:00:/);
  assert.equal(optString(m, OPT.VENDOR_CLASS), "udhcp 1.35.0");
  assert.ok(m.options!.get(OPT.PARAM_LIST)!.length > 0);
});

test("dhcp: a host entry gets its fixed address, next-server and boot file; replies are ≥ 300 bytes and broadcast", () => {
  const s = server();
  const mac = (decodeBootp(DISCOVER) as { chaddr: string }).chaddr;
  s.host({ mac, ip: "192.168.1.20", file: "openwrt-initramfs.bin", nextServer: "192.168.1.11", hostname: "router" });
  const offer = s.handle(DISCOVER);
  assert.equal(offer.to, "255.255.255.255");
  assert.ok(offer.reply!.length >= 300);
  const o = decodeBootp(offer.reply!);
  assert.ok(typeof o !== "string");
  assert.equal(messageType(o), 2);
  assert.equal(o.yiaddr, "192.168.1.20");
  assert.equal(o.siaddr, "192.168.1.11");
  assert.equal(o.file, "openwrt-initramfs.bin");
  assert.equal(optIp(o, OPT.SERVER_ID), "192.168.1.10");
  assert.equal(optIp(o, OPT.SUBNET_MASK), "255.255.255.0");
  assert.equal(optString(o, OPT.HOSTNAME), "router");
  const ack = decodeBootp(s.handle(REQUEST).reply!);
  assert.ok(typeof ack !== "string");
  assert.equal(messageType(ack), 5);
  assert.deepEqual(s.log.map((e) => `${e.request}→${e.reply}`), ["DISCOVER→OFFER", "REQUEST→ACK"]);
});

test("dhcp: clients without a host entry get pool addresses, stable per MAC; once the pool runs out, a new client takes over the oldest offer nobody confirmed", () => {
  const s = server();
  const a = decodeBootp(s.handle(DISCOVER).reply!);
  const a2 = decodeBootp(s.handle(DISCOVER).reply!);
  const b = decodeBootp(s.handle(MALTA_DISCOVER).reply!);
  assert.ok(typeof a !== "string" && typeof a2 !== "string" && typeof b !== "string");
  assert.equal(a.yiaddr, "192.168.1.100");
  assert.equal(a2.yiaddr, "192.168.1.100");
  assert.equal(b.yiaddr, "192.168.1.101");
  const third = DISCOVER.slice();
  third[28 + 5] = third[28 + 5]! ^ 0xff; // another MAC
  const c = decodeBootp(s.handle(third).reply!);
  assert.ok(typeof c !== "string");
  assert.equal(c.yiaddr, "192.168.1.100");
  assert.equal(s.stats.offersReclaimed, 1);
  // A pool with no offer left to reclaim answers nothing (bounds.test.ts: bound leases are never taken).
  const none = new DhcpServer({ serverIp: "192.168.1.10", prefix: 24 });
  assert.equal(none.handle(third).reply, undefined);
  assert.match(none.log.at(-1)!.note!, /no free pool address/);
});

test("dhcp: vendor-class rules pick the boot file (U-Boot vs udhcpc)", () => {
  const s = new DhcpServer({
    serverIp: "192.168.1.10", prefix: 24, pool: { start: "192.168.1.100", end: "192.168.1.110" },
    vendorClasses: [{ match: "U-Boot", file: "uImage" }, { match: /^udhcp /, file: "boot.sh" }],
  });
  const o = decodeBootp(s.handle(DISCOVER).reply!);
  assert.ok(typeof o !== "string");
  assert.equal(o.file, "boot.sh");
});

test("dhcp: a REQUEST for another address is NAKed", () => {
  const s = server();
  s.host({ mac: (decodeBootp(REQUEST) as { chaddr: string }).chaddr, ip: "192.168.1.50" });
  const nak = decodeBootp(s.handle(REQUEST).reply!);
  assert.ok(typeof nak !== "string");
  assert.equal(messageType(nak), 6);
  assert.equal(nak.yiaddr, "0.0.0.0");
});

test("dhcp: withheld answers are logged as such, then service resumes", () => {
  const s = server();
  s.withhold("DISCOVER", 2);
  assert.equal(s.handle(DISCOVER).reply, undefined);
  assert.equal(s.handle(DISCOVER).reply, undefined);
  assert.ok(s.handle(DISCOVER).reply);
  assert.deepEqual(s.log.map((e) => e.note ?? e.reply), ["withheld (fault)", "withheld (fault)", "OFFER"]);
});

test("dhcp: a plain BOOTP request (no DHCP options) gets a BOOTREPLY of at least 300 bytes", () => {
  const bootp = DISCOVER.slice(0, 300);
  bootp.fill(0, 236); // no magic cookie, no options: RFC 951
  const s = server();
  const r = s.handle(bootp);
  assert.ok(r.reply && r.reply.length >= 300);
  const m = decodeBootp(r.reply);
  assert.ok(typeof m !== "string");
  assert.equal(m.options, undefined);
  assert.equal(m.yiaddr, "192.168.1.100");
  assert.equal(s.log[0]!.request, "BOOTP");
});

test("dhcp: truncated and lying packets are logged as malformed, never thrown", () => {
  const s = server();
  for (const bad of [DISCOVER.slice(0, 100), new Uint8Array(0), (() => {
    const b = DISCOVER.slice(0, 250);
    b[240] = OPT.HOSTNAME; b[241] = 200; // an option longer than the packet
    return b;
  })(), (() => {
    const b = DISCOVER.slice();
    b[1] = 6; // token ring
    return b;
  })()]) {
    assert.equal(s.handle(bad).reply, undefined);
  }
  assert.deepEqual(s.log.map((e) => e.request), ["malformed", "malformed", "malformed", "malformed"]);
  assert.match(s.log[2]!.note!, /option 12 says 200 bytes/);
});

test("dhcp: encode → decode keeps every field", () => {
  const m = decodeBootp(DISCOVER);
  assert.ok(typeof m !== "string");
  const again = decodeBootp(encodeBootp(m));
  assert.deepEqual(again, m);
});

test("dhcp: an address a client DECLINEs (found in use) is never offered again", () => {
  const s = server();
  const first = decodeBootp(s.handle(DISCOVER).reply!);
  assert.ok(typeof first !== "string");
  assert.equal(first.yiaddr, "192.168.1.100");
  const m = decodeBootp(DISCOVER);
  assert.ok(typeof m !== "string");
  const decline = encodeBootp({ ...m, options: new Map([[OPT.MESSAGE_TYPE, Uint8Array.of(4)], [OPT.REQUESTED_IP, Uint8Array.of(192, 168, 1, 100)]]) });
  assert.equal(s.handle(decline).reply, undefined);
  const second = decodeBootp(s.handle(DISCOVER).reply!);
  assert.ok(typeof second !== "string");
  assert.equal(second.yiaddr, "192.168.1.101");
});

const UBOOT_ARM64_DISCOVER = data("u-boot-2023.01-virt-arm64-discover.bin");
const UBOOT_MALTA_DISCOVER = data("u-boot-2023.01-malta-mipsel-discover.bin");
const UBOOT_ARM64_REQUEST = data("u-boot-2023.01-virt-arm64-request.bin");

test("dhcp: U-Boot's real DISCOVER (captured on the lab LAN) names U-Boot's vendor class and gets the U-Boot rule's file", () => {
  const m = decodeBootp(UBOOT_ARM64_DISCOVER);
  assert.ok(typeof m !== "string", String(m));
  assert.equal(messageType(m), 1);
  assert.equal(optString(m, OPT.VENDOR_CLASS), "U-Boot.armv8");
  const malta = decodeBootp(UBOOT_MALTA_DISCOVER);
  assert.ok(typeof malta !== "string");
  assert.equal(optString(malta, OPT.VENDOR_CLASS), "U-Boot");
  const s = new DhcpServer({
    serverIp: "192.168.1.10", prefix: 24, pool: { start: "192.168.1.100", end: "192.168.1.110" },
    vendorClasses: [{ match: "U-Boot", file: "uImage" }, { match: "udhcp", file: "linux.cfg" }],
  });
  // The captured REQUEST asks for the address the capture's run was given.
  s.host({ mac: m.chaddr, ip: "192.168.1.77" });
  for (const d of [UBOOT_ARM64_DISCOVER, UBOOT_MALTA_DISCOVER]) {
    const o = decodeBootp(s.handle(d).reply!);
    assert.ok(typeof o !== "string");
    assert.equal(o.file, "uImage");
  }
  const ack = decodeBootp(s.handle(UBOOT_ARM64_REQUEST).reply!);
  assert.ok(typeof ack !== "string");
  assert.equal(messageType(ack), 5);
});

test("dhcp: a bootpOnly host gets a plain BOOTREPLY (no DHCP message type, no lease) and its DHCPREQUEST is not answered", () => {
  const m = decodeBootp(UBOOT_ARM64_DISCOVER);
  assert.ok(typeof m !== "string");
  const s = new DhcpServer({ serverIp: "192.168.1.10", prefix: 24 });
  s.host({ mac: m.chaddr, ip: "192.168.1.77", file: "de2.10000.0.bin", nextServer: "192.168.1.11", bootpOnly: true });
  const d = s.handle(UBOOT_ARM64_DISCOVER);
  const r = decodeBootp(d.reply!);
  assert.ok(typeof r !== "string");
  assert.equal(messageType(r), undefined);
  assert.equal(r.yiaddr, "192.168.1.77");
  assert.equal(r.siaddr, "192.168.1.11");
  assert.equal(r.file, "de2.10000.0.bin");
  assert.equal(r.options?.get(OPT.LEASE_TIME), undefined);
  assert.equal(d.entry.reply, "BOOTREPLY");
  const req = s.handle(UBOOT_ARM64_REQUEST);
  assert.equal(req.reply, undefined);
  assert.match(req.entry.note ?? "", /BOOTP-only/);
});
