// The lab switch's view of who is plugged in: one MAC on two live ports is reported once as a duplicate;
// a MAC that moves from a port whose device is gone is a move, not a duplicate. Frames for a QEMU port
// leave in one socket write per turn (each write wakes QEMU's main loop on the other core).
import { test } from "node:test";
import assert from "node:assert/strict";
import { LanSegment } from "../../harness/lan/segment.ts";
import { Owner } from "../../harness/lifecycle/owner.ts";
import { FrameStream } from "../../harness/lan/frame-stream.ts";
import { connect } from "node:net";
import { join } from "node:path";
import { tempDir } from "../helpers.ts";

const frameFrom = (src: number[]) => new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...src, 0x08, 0x06, ...new Array(46).fill(0)]);
const A = [0x52, 0x54, 0x00, 0xaa, 0x00, 0x01];

test("lan segment: one MAC sending from two live ports is reported once as a duplicate, with both ports", async () => {
  const owner = new Owner("test");
  try {
    const seg = new LanSegment("lan0", owner);
    const working = seg.addHostPort("working", () => {});
    const bricked = seg.addHostPort("bricked", () => {});
    const other = seg.addHostPort("other", () => {});
    working.send(frameFrom(A));
    other.send(frameFrom([0x52, 0x54, 0x00, 0xcc, 0x00, 0x03]));
    assert.equal(seg.duplicateMacs.length, 0);
    bricked.send(frameFrom(A));
    working.send(frameFrom(A));
    bricked.send(frameFrom(A));
    assert.equal(seg.duplicateMacs.length, 1);
    assert.equal(seg.duplicateMacs[0]!.mac, "52:54:00:aa:00:01");
    assert.deepEqual(seg.duplicateMacs[0]!.ports, ["bricked", "working"]);
  } finally {
    await owner.close();
  }
});

test("lan segment: frames for a QEMU port made in one turn leave in one socket write, in order, framed as QEMU reads them", async () => {
  const owner = new Owner("test");
  const dir = tempDir("bootlab-seg-");
  try {
    const seg = new LanSegment("lan0", owner);
    const sock = join(dir.path, "board.sock");
    await seg.addSocketPort("board", sock);
    const host = seg.addHostPort("lab", () => {});
    const qemu = connect(sock);
    await new Promise((r) => qemu.once("connect", r));
    const reads: Buffer[] = [];
    qemu.on("data", (b: Buffer) => reads.push(b));
    await new Promise((r) => setTimeout(r, 50)); // the segment has accepted the connection
    // A TFTP window: sixteen frames sent in one go (broadcast, so they reach the QEMU port).
    const window = Array.from({ length: 16 }, (_, i) => frameFrom([0x52, 0x54, 0x00, 0xbb, 0x00, i]));
    for (const f of window) host.send(f);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(seg.counters.socketWrites, 1, "one write for the window");
    const frames = new FrameStream().push(Buffer.concat(reads));
    assert.deepEqual(frames.map((f) => f[11]), window.map((_, i) => i), "all sixteen, in order");
    // A frame made later leaves in a write of its own.
    const before = Buffer.concat(reads).length;
    host.send(frameFrom(A));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(seg.counters.socketWrites, 2);
    assert.deepEqual(new FrameStream().push(Buffer.concat(reads).subarray(before)), [frameFrom(A)]);
    qemu.destroy();
  } finally {
    await owner.close();
    dir.remove();
  }
});
