import { test } from "node:test";
import assert from "node:assert/strict";
import { cleanOutput } from "../../harness/console/linux-shell.ts";

test("shell: printk lines between the markers are removed, also when they cut a line in two", () => {
  const raw = "\nhel[    3.977195] pcnet32 0000:00:12.0: enabling device (0000 -> 0003)\nlo\n[   12.000000] eth0: link up\nworld\n";
  assert.equal(cleanOutput(raw), "hello\nworld");
});

test("shell: terminal queries from busybox's line editing are removed", () => {
  assert.equal(cleanOutput("\x1b[6nmips\n"), "mips");
});

test("shell: output that merely looks like a timestamp without the kernel's format is kept", () => {
  assert.equal(cleanOutput("[1.5] not a printk\n"), "[1.5] not a printk");
});
