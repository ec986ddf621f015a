// The lab switch's view of who is plugged in: one MAC on two live ports is reported once as a duplicate;
// a MAC that moves from a port whose device is gone is a move, not a duplicate.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LanSegment } from "../../harness/lan/segment.ts";
import { Owner } from "../../harness/lifecycle/owner.ts";

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
