// Live progress: on a terminal one line per running pair, redrawn in place under the result lines; in a log,
// a plain start line per pair and never a cursor movement.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LiveProgress } from "../../harness/cli/progress.ts";

test("progress: on a terminal, a line per running pair with its current step and time, cleared and redrawn around each result", () => {
  let out = "";
  let now = 0;
  const p = new LiveProgress({ write: (t: string) => (out += t), isTTY: true }, { now: () => now });
  p.start("netboot/tftp-to-ram", "malta-mipsel");
  p.start("smoke/boot-to-shell", "virt-arm64");
  now = 12_400;
  p.step("netboot/tftp-to-ram", "malta-mipsel", "U-Boot: tftpboot kernel malta-mipsel/kernel");
  assert.deepEqual(p.lines(), [
    "  ⋯ malta-mipsel  netboot/tftp-to-ram            12 s  U-Boot: tftpboot kernel malta-mipsel/kernel",
    "  ⋯ virt-arm64    smoke/boot-to-shell            12 s  starting",
  ]);
  out = "";
  p.result("smoke/boot-to-shell", "virt-arm64", () => (out += "✔ virt-arm64 smoke/boot-to-shell\n"));
  // Up over the two live lines, clear, the result, then the one pair still running.
  assert.equal(out, "\x1b[2A\r\x1b[J✔ virt-arm64 smoke/boot-to-shell\n  ⋯ malta-mipsel  netboot/tftp-to-ram            12 s  U-Boot: tftpboot kernel malta-mipsel/kernel\n");
  out = "";
  p.result("netboot/tftp-to-ram", "malta-mipsel", () => (out += "✔ malta\n"));
  assert.equal(out, "\x1b[1A\r\x1b[J✔ malta\n");
  assert.deepEqual(p.lines(), []);
  p.stop();
});

test("progress: in a log (not a terminal), a plain line when a pair starts and the results as they come, no escape codes", () => {
  let out = "";
  const p = new LiveProgress({ write: (t: string) => (out += t) });
  p.start("lan/http-wget", "virt-armhf");
  p.step("lan/http-wget", "virt-armhf", "power on virt-armhf");
  p.result("lan/http-wget", "virt-armhf", () => (out += "✔ virt-armhf lan/http-wget\n"));
  assert.equal(out, "▶ virt-armhf    lan/http-wget\n✔ virt-armhf lan/http-wget\n");
  p.stop();
});
