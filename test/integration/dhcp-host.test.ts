// `bootlab serve dhcp` on real host UDP (loopback, high ports, the loopback broadcast address), answering
// the DISCOVER and REQUEST that busybox udhcpc really sent (captured from guests). Real DHCP clients need
// raw sockets and root, so the client side is those bytes on a plain UDP socket.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../../harness/paths.ts";
import { decodeBootp, DHCP, messageType, OPT, optIp, optString } from "../../harness/services/dhcp/packets.ts";
import { tempDir, waitFor } from "../helpers.ts";

const data = (f: string) => new Uint8Array(readFileSync(join(projectRoot, "test/data/dhcp", f)));
const freePort = async (): Promise<number> => {
  const s = createSocket("udp4");
  await new Promise<void>((ok) => s.bind(0, "127.0.0.1", ok));
  const p = s.address().port;
  s.close();
  return p;
};

function cli(argv: string[]): string[] {
  const serveTs = join(projectRoot, "harness/services/dhcp/serve.ts");
  const code = `import(${JSON.stringify(serveTs)}).then((m) => m.serveDhcpCommand(${JSON.stringify(argv)})).then(async (c) => (await import("node:process")).default.exit(c))`;
  return "Deno" in globalThis ? [process.execPath, "eval", code] : [process.execPath, "--import", "tsx", "-e", code];
}

function start(argv: string[]): { out: () => string; exited: Promise<number | null>; pid: number } {
  const a = cli(argv);
  const child = spawn(a[0]!, a.slice(1), { cwd: projectRoot, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  return { out: () => out, exited: new Promise((r) => child.on("close", (c) => r(c))), pid: child.pid! };
}

test("dhcp host: `serve dhcp` names the file and field of a bad configuration and binds nothing", async () => {
  const dir = tempDir("bootlab-dhcp-");
  try {
    const cfg = join(dir.path, "bad.json");
    writeFileSync(cfg, JSON.stringify({ serverIp: "192.168.1.300", prefix: 24, hosts: [{ mac: "52:54:00:12:34", ip: "192.168.1.2" }], pool: { start: "192.168.1.100" } }));
    const s = start(["--config", cfg, "--port", String(await freePort())]);
    assert.equal(await s.exited, 2, s.out());
    const out = s.out();
    assert.match(out, /bad\.json: invalid DHCP server configuration/);
    assert.match(out, /field serverIp: expected a dotted IPv4 address, got "192\.168\.1\.300"/);
    assert.match(out, /field hosts\[0\]\.mac: expected a MAC address/);
    assert.match(out, /field pool\.end: expected a dotted IPv4 address, got nothing/);
    assert.doesNotMatch(out, /serving/);
  } finally {
    dir.remove();
  }
});

test("dhcp host: `serve dhcp` answers udhcpc's real DISCOVER and REQUEST with a broadcast OFFER and ACK from the host entry", async () => {
  const dir = tempDir("bootlab-dhcp-");
  const port = await freePort();
  const discover = data("udhcpc-1.35-virt-arm64-discover.bin");
  const request = data("udhcpc-1.35-virt-arm64-request.bin");
  const req = decodeBootp(request);
  assert.ok(typeof req !== "string");
  const cfg = join(dir.path, "dhcp.json");
  writeFileSync(cfg, JSON.stringify({
    serverIp: optIp(req, OPT.SERVER_ID), prefix: 24, router: "192.168.1.1",
    pool: { start: "192.168.1.100", end: "192.168.1.110" },
    hosts: [{ mac: req.chaddr, ip: optIp(req, OPT.REQUESTED_IP), file: "boot.scr", nextServer: "192.168.1.20" }],
  }));
  // The client listens on every address, as a DHCP client must: the answers are broadcast.
  const client: Socket = createSocket({ type: "udp4" });
  await new Promise<void>((ok) => client.bind(0, "0.0.0.0", ok));
  const clientPort = client.address().port;
  const got: Uint8Array[] = [];
  client.on("message", (m: Uint8Array) => got.push(new Uint8Array(m)));
  const s = start(["--config", cfg, "--host", "127.0.0.1", "--port", String(port), "--client-port", String(clientPort), "--broadcast", "127.255.255.255"]);
  try {
    assert.ok(await waitFor(() => s.out().includes("serving"), 15_000), s.out());
    for (const [bytes, want] of [[discover, DHCP.OFFER], [request, DHCP.ACK]] as const) {
      const before = got.length;
      client.send(bytes, port, "127.0.0.1");
      assert.ok(await waitFor(() => got.length > before, 5000), `no answer to ${want === DHCP.OFFER ? "DISCOVER" : "REQUEST"}:\n${s.out()}`);
      const m = decodeBootp(got.at(-1)!);
      assert.ok(typeof m !== "string", String(m));
      assert.equal(messageType(m), want);
      assert.equal(m.yiaddr, optIp(req, OPT.REQUESTED_IP));
      assert.equal(m.siaddr, "192.168.1.20");
      assert.equal(m.file, "boot.scr");
      assert.equal(optString(m, OPT.BOOTFILE), "boot.scr");
      assert.ok(got.at(-1)!.length >= 300, "RFC 1542: replies of at least 300 bytes");
    }
    assert.ok(await waitFor(() => /REQUEST .* → ACK /.test(s.out()), 2000), s.out());
    assert.match(s.out(), /DISCOVER from [0-9a-f:]+ xid 0x[0-9a-f]{8} "udhcp 1\.35\.0" → OFFER 192\.168\.1\.\d+ file "boot\.scr" next-server 192\.168\.1\.20/);
  } finally {
    process.kill(s.pid, "SIGINT");
    client.close();
    dir.remove();
  }
  assert.equal(await s.exited, 0, s.out());
  assert.match(s.out(), /SIGINT: stopped \(2 requests\)/);
});
