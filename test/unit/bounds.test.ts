// Bounds (issue 14 §5): each service is flooded by one client with a bounded number of requests — on
// loopback sockets or in-process, no QEMU — and what it keeps per request stays bounded, the flooder gets a
// protocol answer (TFTP ERROR, HTTP 503/413, NBD hang-up, RST), and another client is still served.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSocket } from "node:dgram";
import { Owner } from "../../harness/lifecycle/owner.ts";
import { LanSegment } from "../../harness/lan/segment.ts";
import { LabHost } from "../../harness/lan/host.ts";
import { encodeEthernet, ETH_IPV4 } from "../../harness/lan/packets/ethernet.ts";
import { encodeIpv4, PROTO_TCP } from "../../harness/lan/packets/ipv4.ts";
import { encodeTcp, SYN } from "../../harness/lan/packets/tcp.ts";
import { HostUdpNetwork } from "../../harness/net/host-udp.ts";
import { TftpServer } from "../../harness/services/tftp/server.ts";
import { decodePacket, encodePacket } from "../../harness/services/tftp/packets.ts";
import { DhcpServer } from "../../harness/services/dhcp/server.ts";
import { BOOTREQUEST, DHCP, decodeBootp, encodeBootp, messageType, OPT } from "../../harness/services/dhcp/packets.ts";
import { LabHttpServer } from "../../harness/services/http/server.ts";
import { NbdServer } from "../../harness/services/nbd/server.ts";
import { listenNbdOnHost } from "../../harness/services/nbd/host-tcp.ts";
import { seededRandom } from "../../harness/lan/faults.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 5000, seen?: () => string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) assert.fail(`${what}: not within ${ms} ms${seen ? ` (${seen()})` : ""}`);
    await sleep(10);
  }
}

/** A UDP client on a loopback address of its own (127.0.0.0/8 is all loopback on Linux). */
async function udpClient(address: string) {
  const s = createSocket({ type: "udp4" });
  await new Promise<void>((r) => s.bind({ address, port: 0 }, () => r()));
  const inbox: { data: Uint8Array; port: number }[] = [];
  s.on("message", (m, rinfo) => inbox.push({ data: new Uint8Array(m), port: rinfo.port }));
  return {
    inbox,
    send: (port: number, data: Uint8Array) => new Promise<void>((r) => s.send(data, port, "127.0.0.1", () => r())),
    close: () => s.close(),
  };
}

test("bounds: TFTP on host UDP: a flood of 300 requests from one client gets 'Server busy' past 8 transfers; the log stays at its limit, one copy of the file is held, and another client downloads it whole", async () => {
  const root = mkdtempSync(join(tmpdir(), "bootlab-bounds-"));
  const file = new Uint8Array(20 * 512 + 100).map((_, i) => (i * 31) & 255);
  writeFileSync(join(root, "kernel.bin"), file);
  const server = await TftpServer.start({
    // The flooder's transfers must still be waiting for their first ACK when the other client comes, however
    // slow a loaded machine makes the flood: their retransmit timer is far beyond the test.
    network: new HostUdpNetwork({ host: "127.0.0.1" }), port: 0, root, limits: { logLimit: 100 }, transfer: { initialRetransmitMs: 120_000, maxRetries: 1 },
  });
  const flooder = await udpClient("127.0.0.2");
  const good = await udpClient("127.0.0.3");
  try {
    let maxActive = 0, maxFiles = 0;
    for (let i = 0; i < 300; i++) {
      // Each request a new name (no duplicate of another), most for the same file; the flooder never ACKs.
      await flooder.send(server.port, encodePacket({ op: "RRQ", filename: `/kernel.bin${"/".repeat(i)}`, mode: "octet", options: [] }));
      // One at a time, each answered before the next: a burst overflows the server socket's receive buffer
      // and the kernel drops the rest — how many depends on the machine's load, not on the server.
      await until(`request ${i + 1} answered`, () => server.stats.busy + server.log.length + server.active().length >= i + 1, 5000);
      maxActive = Math.max(maxActive, server.active().length);
      maxFiles = Math.max(maxFiles, server.filesHeld);
    }
    await until("the flood is answered", () => server.stats.busy + server.log.length + server.active().length >= 300, 5000, () => JSON.stringify({ inbox: flooder.inbox.length, stats: server.stats, active: server.active().length }));
    const busy = flooder.inbox.filter((m) => {
      const p = decodePacket(m.data);
      return typeof p !== "string" && p.op === "ERROR" && /busy/i.test(p.message);
    });
    assert.ok(busy.length >= 280, `${busy.length} busy answers`);
    assert.ok(maxActive <= 8, `${maxActive} transfers at once`);
    assert.ok(maxFiles <= 1, `${maxFiles} copies of the file held`);
    assert.equal(server.requests.length, 100);
    assert.ok(server.stats.droppedRequests >= 200 && server.stats.busy >= 280);

    // Another client, while the flooder's transfers still wait for their ACKs.
    assert.ok(server.active().length > 0);
    await good.send(server.port, encodePacket({ op: "RRQ", filename: "kernel.bin", mode: "octet", options: [] }));
    const got: number[] = [];
    for (let block = 1; ; block++) {
      await until(`DATA block ${block}`, () => good.inbox.length > 0);
      const m = good.inbox.shift()!;
      const p = decodePacket(m.data);
      assert.ok(typeof p !== "string" && p.op === "DATA", `block ${block}: ${JSON.stringify(p)}`);
      if (p.op !== "DATA") break;
      got.push(...p.data);
      await good.send(m.port, encodePacket({ op: "ACK", block: p.block }));
      if (p.data.length < 512) break;
    }
    assert.deepEqual(Uint8Array.from(got), file);
  } finally {
    flooder.close();
    good.close();
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test("bounds: DHCP: 20 000 DISCOVERs from made-up MACs hold at most the pool; the log stays at its limit; a real client still gets an OFFER and an ACK", () => {
  const server = new DhcpServer({ serverIp: "192.168.1.10", prefix: 24, pool: { start: "192.168.1.100", end: "192.168.1.119" }, logLimit: 1000 });
  const r = seededRandom(21);
  const msg = (mac: string, type: number, requested?: string) => encodeBootp({
    op: BOOTREQUEST, xid: Math.floor(r() * 2 ** 32), secs: 0, broadcast: true, ciaddr: "0.0.0.0", yiaddr: "0.0.0.0", siaddr: "0.0.0.0", giaddr: "0.0.0.0",
    chaddr: mac, sname: "", file: "",
    options: new Map([[OPT.MESSAGE_TYPE, Uint8Array.of(type)], ...(requested ? [[OPT.REQUESTED_IP, Uint8Array.from(requested.split(".").map(Number))] as [number, Uint8Array]] : [])]),
  });
  const hex = () => Math.floor(r() * 256).toString(16).padStart(2, "0");
  let offers = 0;
  for (let i = 0; i < 20_000; i++) {
    const d = server.handle(msg(`02:${hex()}:${hex()}:${hex()}:${hex()}:${hex()}`, DHCP.DISCOVER));
    if (d.reply) offers++;
  }
  assert.equal(offers, 20_000, "every DISCOVER got an OFFER (reclaimed from an earlier made-up client)");
  assert.ok(server.leases <= 20, `${server.leases} leases`);
  assert.equal(server.log.length, 1000);
  assert.equal(server.stats.droppedLogEntries, 19_000);
  const board = "52:54:00:12:34:56";
  const offer = decodeBootp(server.handle(msg(board, DHCP.DISCOVER)).reply!);
  assert.ok(typeof offer !== "string" && messageType(offer) === DHCP.OFFER);
  if (typeof offer === "string") return;
  const ack = decodeBootp(server.handle(msg(board, DHCP.REQUEST, offer.yiaddr)).reply!);
  assert.ok(typeof ack !== "string" && messageType(ack) === DHCP.ACK && ack.yiaddr === offer.yiaddr);
  // Once bound, the flood no longer takes its address.
  for (let i = 0; i < 100; i++) server.handle(msg(`02:${hex()}:${hex()}:${hex()}:${hex()}:${hex()}`, DHCP.DISCOVER));
  const again = decodeBootp(server.handle(msg(board, DHCP.REQUEST, offer.yiaddr)).reply!);
  assert.ok(typeof again !== "string" && messageType(again) === DHCP.ACK);
});

async function lab(seed = 3) {
  const owner = new Owner("bounds-test");
  const seg = new LanSegment("bounds", owner, seed, undefined, { maxMacs: 64 });
  const server = new LabHost(seg, { name: "server", mac: "52:54:00:00:00:0a", ip: "10.0.0.1", prefix: 24 });
  const flooder = new LabHost(seg, { name: "flooder", mac: "52:54:00:00:00:0b", ip: "10.0.0.2", prefix: 24 });
  const client = new LabHost(seg, { name: "client", mac: "52:54:00:00:00:0c", ip: "10.0.0.3", prefix: 24 });
  return { owner, seg, server, flooder, client, close: async () => (server.close(), flooder.close(), client.close(), await owner.close()) };
}

function get(host: LabHost, path: string, extra = ""): Promise<string> {
  return host.connectTcp("10.0.0.1", 80).then((c) => new Promise<string>((resolve, reject) => {
    let text = "";
    c.on("data", (d: Buffer) => (text += d.toString("latin1")));
    c.on("end", () => (resolve(text), c.end()));
    c.on("error", reject);
    c.write(`GET ${path} HTTP/1.1\r\nHost: 10.0.0.1\r\nConnection: close\r\n${extra}\r\n`);
  }));
}

test("bounds: HTTP on the lab LAN: 40 connections that send nothing fill 8 slots, the rest get 503; a body over the limit gets 413; another client is served; idle connections are let go", async () => {
  const l = await lab();
  const http = new LabHttpServer({ maxConnections: 8, maxBodyBytes: 1 << 20, idleMs: 800 });
  http.file("/boot.sh", "echo hello\n");
  http.attach(l.server);
  try {
    const answers: string[] = [];
    const conns = await Promise.all(Array.from({ length: 40 }, () => l.flooder.connectTcp("10.0.0.1", 80)));
    for (const c of conns) {
      c.on("error", () => {});
      c.on("data", (d: Buffer) => answers.push(d.toString("latin1")));
    }
    await until("32 refusals", () => answers.filter((a) => a.startsWith("HTTP/1.1 503")).length === 32);
    assert.equal(http.connections, 8);
    assert.equal(http.stats.refusedConnections, 32);
    // The idle ones are closed after idleMs; then another client is served.
    await until("the idle connections closed", () => http.connections === 0, 5000);
    const ok = await get(l.client, "/boot.sh");
    assert.match(ok, /^HTTP\/1.1 200/);
    assert.match(ok, /echo hello/);
    const big = await get(l.client, "/boot.sh", "Content-Length: 2000000000\r\n");
    assert.match(big, /^HTTP\/1.1 413/);
    // The refused ones were ended by the server and, as their clients never closed, reset 2 s later.
    await until("the refused connections gone", () => l.server.tcpConnections <= 2, 4000, () => `${l.server.tcpConnections} open`);
  } finally {
    http.close();
    await l.close();
  }
});

test("bounds: the lab host: a SYN flood from 2000 spoofed addresses holds at most 64 handshakes (the oldest given up) and 256 ARP entries; the switch keeps 64 MACs; a real client still connects", async () => {
  const l = await lab();
  const http = new LabHttpServer();
  http.file("/x", "x");
  http.attach(l.server);
  const port = l.seg.addHostPort("spoofer", () => {});
  try {
    for (let i = 0; i < 2000; i++) {
      const src = `10.0.${1 + (i >> 8)}.${i & 255}`;
      const mac = `02:00:00:00:${((i >> 8) & 255).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`;
      const tcp = encodeTcp({ srcPort: 1024 + i, dstPort: 80, seq: i * 1000, ack: 0, flags: SYN, window: 1000, mss: 1460, payload: new Uint8Array(0) }, src, "10.0.0.1");
      port.send(encodeEthernet({ dst: "52:54:00:00:00:0a", src: mac, type: ETH_IPV4, payload: encodeIpv4({ src, dst: "10.0.0.1", protocol: PROTO_TCP, id: i, payload: tcp }) }));
    }
    await sleep(50); // the switch delivers in microtasks
    assert.ok(l.server.tcpConnections <= 64, `${l.server.tcpConnections} connections`);
    assert.ok(l.server.arpTable.size <= 256, `${l.server.arpTable.size} ARP entries`);
    assert.ok(l.seg.macTableSize <= 64, `${l.seg.macTableSize} MACs`);
    assert.ok((l.server.counters["tcp: oldest handshake dropped (too many)"] ?? 0) >= 2000 - 64, JSON.stringify(l.server.counters));
    const ok = await get(l.client, "/x");
    assert.match(ok, /^HTTP\/1.1 200/);
  } finally {
    http.close();
    await l.close();
  }
});

test("bounds: NBD on a host TCP port: 40 connections past 4 sessions are closed at once; another client still gets the greeting", async () => {
  const server = new NbdServer({ maxSessions: 4 });
  server.addBytes("disk", new Uint8Array(1 << 20));
  const listener = await listenNbdOnHost(server, 0);
  const sockets: Socket[] = [];
  try {
    let closed = 0;
    for (let i = 0; i < 44; i++) {
      const s = connect(listener.port, "127.0.0.1");
      s.on("error", () => {});
      s.on("close", () => closed++);
      sockets.push(s);
    }
    await until("40 refused connections closed", () => closed >= 40);
    assert.equal(server.active().length, 4);
    assert.equal(server.stats.refusedSessions, 40);
    assert.ok(server.sessions.length <= 4);
    // The flooders leave; a new client is greeted (NBDMAGIC).
    for (const s of sockets) s.destroy();
    await until("the sessions ended", () => server.active().length === 0);
    const greeting = await new Promise<Buffer>((resolve, reject) => {
      const s = connect(listener.port, "127.0.0.1");
      sockets.push(s);
      s.once("data", (d: Buffer) => resolve(d));
      s.once("error", reject);
    });
    assert.equal(greeting.subarray(0, 8).toString("latin1"), "NBDMAGIC");
  } finally {
    for (const s of sockets) s.destroy();
    await listener.close();
  }
});
