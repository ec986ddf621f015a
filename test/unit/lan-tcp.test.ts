import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Owner } from "../../harness/lifecycle/owner.ts";
import { LanSegment } from "../../harness/lan/segment.ts";
import { LabHost } from "../../harness/lan/host.ts";
import { seededRandom } from "../../harness/lan/faults.ts";
import type { TcpConnection } from "../../harness/lan/tcp/connection.ts";

async function pair(seed = 1) {
  const owner = new Owner("tcp-test");
  const seg = new LanSegment("tcp", owner, seed);
  const a = new LabHost(seg, { name: "a", mac: "52:54:00:00:00:0a", ip: "10.0.0.1", prefix: 24 });
  const b = new LabHost(seg, { name: "b", mac: "52:54:00:00:00:0b", ip: "10.0.0.2", prefix: 24 });
  return { owner, seg, a, b, close: async () => (a.close(), b.close(), await owner.close()) };
}

function blob(n: number, seed: number): Uint8Array {
  const r = seededRandom(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

/** Echo 1 MiB through a lab TCP connection between two lab hosts; both directions carry data. */
async function echo(p: Awaited<ReturnType<typeof pair>>, size: number): Promise<void> {
  p.b.listenTcp(7, (c) => c.pipe(c));
  const conn = await p.a.connectTcp("10.0.0.2", 7);
  const data = blob(size, 3);
  const got: Buffer[] = [];
  let n = 0;
  const done = new Promise<void>((resolve) => conn.on("data", (d: Buffer) => {
    got.push(d);
    if ((n += d.length) >= size) resolve();
  }));
  conn.write(data);
  await done;
  assert.equal(createHash("sha256").update(Buffer.concat(got)).digest("hex"), createHash("sha256").update(data).digest("hex"));
  conn.end();
}

test("tcp: 1 MiB echoes byte-exact between two lab hosts, data flowing both ways (window scaling on)", async () => {
  const p = await pair();
  try {
    await echo(p, 1 << 20);
  } finally {
    await p.close();
  }
});

test("tcp: the same under 5 % seeded loss, duplication and reordering", async () => {
  const p = await pair(9);
  p.seg.faults.add({ name: "loss", match: { protocol: "tcp" }, probability: 0.05, action: "drop" });
  p.seg.faults.add({ name: "dup", match: { protocol: "tcp" }, probability: 0.02, action: "duplicate" });
  p.seg.faults.add({ name: "reorder", match: { protocol: "tcp" }, probability: 0.03, action: "reorder", delayMs: 3 });
  try {
    await echo(p, 256 << 10);
    assert.ok(p.seg.faults.log.length > 20);
  } finally {
    await p.close();
  }
});

test("tcp: a connection to a closed port is refused with RST; one to a silent host times out", async () => {
  const p = await pair();
  try {
    await assert.rejects(p.a.connectTcp("10.0.0.2", 9), /reset by peer/);
    await assert.rejects(p.a.connectTcp("10.0.0.99", 9, 1500), /timed out|no answer/);
  } finally {
    await p.close();
  }
});

test("tcp: a reader that stops reading closes the window: the sender waits, memory stays at the receive buffer, and nothing is lost", async () => {
  const p = await pair(5);
  try {
    let server: TcpConnection | undefined;
    const accepted = new Promise<TcpConnection>((resolve) => p.b.listenTcp(9, (c) => resolve((server = c))));
    const conn = await p.a.connectTcp("10.0.0.2", 9);
    await accepted;
    server!.pause();
    const size = 8 << 20;
    const data = blob(size, 4);
    let written = 0;
    const writing = (async () => {
      for (let off = 0; off < size; off += 64 << 10) {
        if (!conn.write(data.subarray(off, off + (64 << 10)))) await new Promise((r) => conn.once("drain", r));
        written = off + (64 << 10);
      }
      conn.end();
    })();
    await new Promise((r) => setTimeout(r, 700));
    const held = server!.readableLength;
    const rcvBuf = server!.core.config.receiveBuffer;
    assert.ok(held > 0 && held <= rcvBuf, `the paused reader holds ${held} bytes (receive buffer ${rcvBuf})`);
    assert.equal(server!.core.receiveWindow, rcvBuf - held);
    assert.ok(written < size, "the writer is held back");
    assert.ok(conn.core.sendBuffered <= 256 * 1024 + (64 << 10), `the sender queues ${conn.core.sendBuffered} bytes`);
    assert.ok(conn.core.stats.windowProbes > 0, "the sender probed the zero window");
    const hash = createHash("sha256");
    let n = 0;
    const done = new Promise<void>((resolve) => server!.on("end", resolve));
    server!.on("data", (d: Buffer) => (hash.update(d), (n += d.length)));
    server!.resume();
    await done;
    await writing;
    assert.equal(n, size);
    assert.equal(hash.digest("hex"), createHash("sha256").update(data).digest("hex"));
  } finally {
    await p.close();
  }
});
