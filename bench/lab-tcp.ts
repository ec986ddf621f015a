// bench/lab-tcp: the lab's TCP (harness/lan/tcp/) between two lab hosts on one in-process switch, 16 MiB
// one way, on a clean wire and with the switch's seeded faults: 3 % of TCP frames dropped and 2 % held
// back 5 ms (what scenarios/lan/http-wget does to a guest). No QEMU: this measures our TCP alone, both ends.
// Usage: node --import tsx bench/lab-tcp.ts [RUNS]

import { createHash } from "node:crypto";
import { Owner } from "../harness/lifecycle/owner.ts";
import { LanSegment } from "../harness/lan/segment.ts";
import { LabHost } from "../harness/lan/host.ts";
import { seededBytes } from "../harness/lan/faults.ts";
import { median, seconds } from "./stats.ts";

const SIZE = 16 * 1024 * 1024;
const runs = Number(process.argv[2] ?? 3);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`bench/lab-tcp: RUNS must be a positive integer, not "${process.argv[2]}"`);

async function once(seed: number, faulty: boolean): Promise<{ ms: number; retransmits: number }> {
  const owner = new Owner("bench lab-tcp");
  const seg = new LanSegment("bench", owner, seed);
  const a = new LabHost(seg, { name: "a", mac: "52:54:00:00:00:0a", ip: "10.0.0.1", prefix: 24 });
  const b = new LabHost(seg, { name: "b", mac: "52:54:00:00:00:0b", ip: "10.0.0.2", prefix: 24 });
  try {
    if (faulty) {
      seg.faults.add({ name: "loss", match: { protocol: "tcp" }, probability: 0.03, action: "drop" });
      seg.faults.add({ name: "reorder", match: { protocol: "tcp" }, probability: 0.02, action: "reorder", delayMs: 5 });
    }
    const data = seededBytes(seed, SIZE);
    const want = createHash("sha256").update(data).digest("hex");
    const got = createHash("sha256");
    let n = 0;
    const done = new Promise<void>((resolve) => b.listenTcp(9, (c) => c.on("data", (d: Buffer) => (got.update(d), (n += d.length) >= SIZE && resolve()))));
    const t0 = performance.now();
    const conn = await a.connectTcp("10.0.0.2", 9);
    conn.end(data);
    await done;
    const ms = performance.now() - t0;
    if (got.digest("hex") !== want) throw new Error("bench/lab-tcp: the bytes differ");
    return { ms, retransmits: conn.stats.retransmits };
  } finally {
    a.close();
    b.close();
    await owner.close();
  }
}

for (const faulty of [false, true]) {
  const res = [];
  for (let i = 0; i < runs; i++) res.push(await once(i + 1, faulty));
  const ms = res.map((x) => x.ms);
  console.log(`${faulty ? "3 % loss, 2 % reordered" : "clean wire            "}: 16 MiB in ${seconds(median(ms))} median (${ms.map((m) => seconds(m)).join(", ")}), retransmits ${res.map((x) => x.retransmits).join(", ")}`);
}
