import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { lstatSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeCpio } from "../../harness/images/cpio.ts";
import { tempDir } from "../helpers.ts";

const enc = new TextEncoder();
const entries = () => [
  { type: "dir" as const, path: "etc", mode: 0o755 },
  { type: "file" as const, path: "etc/hostname", data: enc.encode("bootlab\n") },
  { type: "file" as const, path: "init", data: enc.encode("#!/bin/sh\necho hi\n"), mode: 0o755 },
  { type: "file" as const, path: "lib/modules/x/deep/odd-size.bin", data: new Uint8Array(4097).fill(7) },
  { type: "file" as const, path: "empty", data: new Uint8Array(0) },
  { type: "symlink" as const, path: "bin/sh", target: "busybox" },
  { type: "char" as const, path: "dev/console", major: 5, minor: 1 },
];

test("cpio: GNU cpio lists every entry, parents first, in the order written", () => {
  const t = tempDir();
  try {
    const img = join(t.path, "a.cpio");
    writeFileSync(img, writeCpio(entries()));
    const listed = execFileSync("cpio", ["-t", "--quiet", "-F", img], { encoding: "utf8" }).trim().split("\n");
    assert.deepEqual(listed, [
      "etc", "etc/hostname", "init", "lib", "lib/modules", "lib/modules/x", "lib/modules/x/deep",
      "lib/modules/x/deep/odd-size.bin", "empty", "bin", "bin/sh", "dev", "dev/console",
    ]);
    const verbose = execFileSync("cpio", ["-tv", "--quiet", "-F", img], { encoding: "utf8" });
    assert.match(verbose, /^crw------- .* 5,\s+1 .* dev\/console$/m);
    assert.match(verbose, /^-rwxr-xr-x .* init$/m);
  } finally {
    t.remove();
  }
});

test("cpio: GNU cpio extracts the same bytes, modes and symlinks", () => {
  const t = tempDir();
  try {
    const img = join(t.path, "a.cpio");
    writeFileSync(img, writeCpio(entries().filter((e) => e.type !== "char")));
    const out = join(t.path, "x");
    execFileSync("sh", ["-c", `mkdir -p '${out}' && cd '${out}' && cpio -id --quiet --no-absolute-filenames < '${img}'`]);
    assert.equal(readFileSync(join(out, "etc/hostname"), "utf8"), "bootlab\n");
    assert.deepEqual(readFileSync(join(out, "lib/modules/x/deep/odd-size.bin")), Buffer.alloc(4097, 7));
    assert.equal(readFileSync(join(out, "empty")).length, 0);
    assert.equal(lstatSync(join(out, "init")).mode & 0o777, 0o755);
    assert.equal(readlinkSync(join(out, "bin/sh")), "busybox");
  } finally {
    t.remove();
  }
});

test("cpio: the same entries give the same bytes, every record 4-byte aligned", () => {
  const a = writeCpio(entries());
  const b = writeCpio(entries());
  assert.deepEqual(a, b);
  assert.equal(a.length % 4, 0);
  assert.equal(new TextDecoder().decode(a.subarray(0, 6)), "070701");
});

test("cpio: refuses paths that would escape or collide", () => {
  assert.throws(() => writeCpio([{ type: "dir", path: "../etc" }]), /bad path/);
  assert.throws(() => writeCpio([{ type: "dir", path: "a/./b" }]), /bad path/);
  assert.throws(() => writeCpio([
    { type: "file", path: "x", data: new Uint8Array(1) },
    { type: "file", path: "x", data: new Uint8Array(1) },
  ]), /duplicate/);
});
