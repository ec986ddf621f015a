// The lab LAN with real guests: udhcpc leases from our DHCP server, ping both ways, and the capture
// opens in Debian's tshark with every exchange in it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runScenarios } from "../../harness/scenario/runner.ts";
import { projectRoot } from "../../harness/paths.ts";
import { libraryRun, qemuProcesses, secondRuntime, tempDir } from "../helpers.ts";

test("lan: on every target udhcpc gets its host entry, pings work both ways, lan.pcap reads in tshark; with OFFERs dropped udhcpc gives up", async () => {
  const out = tempDir("bootlab-lan-");
  try {
    const results = await runScenarios({ paths: [join(projectRoot, "scenarios/lan")], outDir: out.path, ...libraryRun() });
    assert.equal(new Set(results.map((r) => r.target)).size, 3, "every target ran");
    for (const r of results) assert.equal(r.status, "passed", r.failure?.report());
    const withheld = results.find((r) => r.id === "lan/dhcp-withheld")!;
    assert.ok(withheld.steps.some((s) => s.name === "udhcpc gave up after three discovers" && s.status === "passed"));
    const pings = results.filter((r) => r.id === "lan/dhcp-and-ping");
    assert.equal(pings.length, secondRuntime ? 1 : 3);
    for (const r of pings) {
      const pcap = join(r.artifacts, "lan.pcap");
      const summary = execFileSync("tshark", ["-r", pcap, "-Y", "dhcp || icmp", "-T", "fields", "-e", "dhcp.option.dhcp", "-e", "icmp.type"], {
        encoding: "utf8", stdio: ["ignore", "pipe", "ignore"],
      });
      const dhcpTypes = summary.split("\n").map((l) => l.split("\t")[0]).filter(Boolean);
      assert.deepEqual(dhcpTypes, ["1", "2", "3", "5"], `${r.target}: DISCOVER, OFFER, REQUEST, ACK`);
      const icmp = summary.split("\n").map((l) => l.split("\t")[1]).filter(Boolean);
      assert.ok(icmp.filter((t) => t === "8").length >= 3 && icmp.filter((t) => t === "0").length >= 3, `${r.target}: echo both ways: ${icmp}`);
      const malformed = execFileSync("tshark", ["-r", pcap, "-Y", "_ws.malformed"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      assert.equal(malformed.trim(), "");
      const log = JSON.parse(readFileSync(join(r.artifacts, "lan-log.json"), "utf8"));
      assert.equal(log.dhcp.filter((e: { reply?: string }) => e.reply === "ACK").length, 1);
    }
    assert.deepEqual(qemuProcesses(out.path), []);
  } finally {
    out.remove();
  }
});
