import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameStream, frameForStream } from "../../harness/lan/frame-stream.ts";

test("lan framing: frames split and joined at any byte boundary come out whole", () => {
  const frames = [new Uint8Array(60).fill(1), new Uint8Array(1514).fill(2), new Uint8Array(42).fill(3)];
  const wire = Buffer.concat(frames.map(frameForStream));
  for (const step of [1, 3, 5, 100, wire.length]) {
    const fs = new FrameStream();
    const out: Uint8Array[] = [];
    for (let i = 0; i < wire.length; i += step) out.push(...fs.push(wire.subarray(i, i + step)));
    assert.deepEqual(out.map((f) => f.length), [60, 1514, 42]);
    assert.equal(out[1]![0], 2);
  }
});

test("lan framing: a length that cannot be a frame is counted, not thrown", () => {
  const fs = new FrameStream();
  assert.deepEqual(fs.push(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3])), []);
  assert.equal(fs.malformed, 1);
  assert.deepEqual(fs.push(new Uint8Array([0, 0, 0, 0])), []);
  assert.equal(fs.malformed, 2);
});
