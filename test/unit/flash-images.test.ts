// Router flash images from a layout (fixtures/flash/), vfat sticks, and the kernel-config fragment check.
// The images are read back with independent tools: unsquashfs, debugfs (e2fsprogs), mtools' mdir/mtype.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildFlash, parseFlashLayout, readFlashLayout } from "../../harness/images/flash.ts";
import { buildVfat } from "../../harness/images/vfat.ts";
import { droppedOptions, parseFragment } from "../../harness/fixtures/kernel-build.ts";
import { ScenarioError } from "../../harness/errors/failures.ts";
import { tempDir } from "../helpers.ts";

const root = [
  { path: "bin/busybox", data: "not really busybox", mode: 0o755 },
  { path: "etc/banner", data: "flash root\n" },
  { path: "proc/", data: "" },
];

test("flash: the openwrt-like layout gives OpenWrt's partitions, a firmware span, and every byte where mtdparts says", async () => {
  const d = tempDir("bootlab-flash-");
  try {
    const kernel = join(d.path, "kernel");
    writeFileSync(kernel, new Uint8Array(100_000).fill(0x4b));
    const f = await buildFlash(join(d.path, "flash.img"), readFlashLayout("openwrt-like"), { kernel, rootFiles: root, dataFs: "ext4", factory: new Uint8Array([0, 0x11, 0x22, 0x33, 0x44, 0x55]) });
    const by = Object.fromEntries(f.partitions.map((p) => [p.name, p]));
    assert.deepEqual(f.partitions.map((p) => p.name), ["u-boot", "u-boot-env", "factory", "kernel", "rootfs", "rootfs_data", "firmware"]);
    assert.deepEqual([by["kernel"]!.offset, by["kernel"]!.size], [0x60000, 0x20000], "the kernel is fitted to whole 64 KiB erase blocks");
    assert.equal(by["firmware"]!.offset, by["kernel"]!.offset);
    assert.equal(by["firmware"]!.size, by["kernel"]!.size + by["rootfs"]!.size);
    assert.equal(f.size, by["rootfs_data"]!.offset + 4 * 1048576);
    assert.match(f.mtdparts, /^mtdparts=flash:256k\(u-boot\)ro,64k\(u-boot-env\),64k\(factory\)ro,128k\(kernel\),\d+k\(rootfs\),4m\(rootfs_data\),\d+k@0x60000\(firmware\)$/);
    const img = readFileSync(f.path);
    assert.ok(img.subarray(0, 0x40000).every((b) => b === 0xff), "u-boot is erased flash");
    assert.equal(img.subarray(by["factory"]!.offset, by["factory"]!.offset + 16).toString(), "BOOTLAB-FACTORY\n");
    assert.deepEqual([...img.subarray(by["factory"]!.offset + 16, by["factory"]!.offset + 22)], [0, 0x11, 0x22, 0x33, 0x44, 0x55]);
    assert.equal(img[by["kernel"]!.offset + 99_999], 0x4b);
    assert.equal(img[by["kernel"]!.offset + 100_000], 0xff);
    // The rootfs partition is a squashfs that unsquashfs reads back; rootfs_data an ext4 debugfs opens.
    const rootfs = join(d.path, "rootfs.bin");
    writeFileSync(rootfs, img.subarray(by["rootfs"]!.offset, by["rootfs"]!.offset + by["rootfs"]!.size));
    const listing = execFileSync("unsquashfs", ["-lls", rootfs], { encoding: "utf8" });
    assert.match(listing, /-rwxr-xr-x root\/root\s+18 .* squashfs-root\/bin\/busybox/);
    assert.match(listing, /squashfs-root\/etc\/banner/);
    const data = join(d.path, "data.bin");
    writeFileSync(data, img.subarray(by["rootfs_data"]!.offset));
    assert.match(execFileSync("debugfs", ["-R", "stats", data], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }), /Filesystem volume name:\s+rootfs_data/);
    // For jffs2 the data partition stays erased: the kernel formats it on first mount.
    const j = await buildFlash(join(d.path, "flash2.img"), readFlashLayout("openwrt-like"), { kernel, rootFiles: root, dataFs: "jffs2" });
    const data2 = j.partitions.find((p) => p.name === "rootfs_data")!;
    assert.ok(readFileSync(j.path).subarray(data2.offset).every((b) => b === 0xff));
  } finally {
    d.remove();
  }
});

test("flash: a bad layout names the file and every field that is wrong", () => {
  const bad = {
    chip: "my flash",
    eraseBlockKiB: 64,
    partitions: [
      { name: "u-boot", sizeKiB: 100, content: "erased" },
      { name: "rootfs", sizeKiB: "fit", content: "squash" },
      { name: "data", sizeKiB: 64, content: "data", colour: "blue" },
    ],
    spans: [{ name: "firmware", from: "kernel", to: "rootfs" }],
  };
  assert.throws(() => parseFlashLayout("layouts/bad.json", bad), (e: unknown) => {
    assert.ok(e instanceof ScenarioError);
    const m = (e as Error).message;
    assert.match(m, /^layouts\/bad\.json: invalid flash layout/);
    for (const want of [/field chip: expected an MTD name/, /field partitions\[0\]\.sizeKiB: expected a multiple of the erase block \(64 KiB\)/,
      /field partitions\[1\]\.content: expected one of erased, factory, kernel, rootfs, data/, /field partitions\[2\]\.colour: unknown field/,
      /field spans\[0\]\.to: expected partition names of this layout/, /exactly one partition with content "rootfs"/]) {
      assert.match(m, want);
    }
    return true;
  });
});

test("flash: a partition too small for its content is refused with the size it needs", async () => {
  const d = tempDir("bootlab-flash-");
  try {
    const layout = parseFlashLayout("small.json", {
      chip: "flash", eraseBlockKiB: 64,
      partitions: [{ name: "kernel", sizeKiB: 64, content: "kernel" }, { name: "rootfs", sizeKiB: "fit", content: "rootfs" }, { name: "rootfs_data", sizeKiB: 64, content: "data" }],
    });
    const kernel = join(d.path, "kernel");
    writeFileSync(kernel, new Uint8Array(70_000));
    await assert.rejects(buildFlash(join(d.path, "f.img"), layout, { kernel, rootFiles: root, dataFs: "jffs2" }), (e: unknown) => {
      assert.ok(e instanceof ScenarioError);
      assert.match(e.report(), /small\.json: partition kernel is 64 KiB but its kernel is 69 KiB[\s\S]*expected: sizeKiB ≥ 128/);
      return true;
    });
  } finally {
    d.remove();
  }
});

test("vfat: an image mtools reads back, with folders and binary files intact", async () => {
  const d = tempDir("bootlab-vfat-");
  try {
    const out = join(d.path, "stick.img");
    const bin = new Uint8Array(200_000).map((_, i) => (i * 7) & 0xff);
    await buildVfat(out, [{ path: "boot/boot.sh", data: "#!/bin/sh\necho hi\n" }, { path: "rootfs.img", data: bin }], { sizeMiB: 8, label: "usbboot" });
    const env = { ...process.env, MTOOLS_SKIP_CHECK: "1" };
    assert.match(execFileSync("mdir", ["-i", out, "::/"], { encoding: "utf8", env }), /Volume in drive : is USBBOOT/);
    assert.equal(execFileSync("mtype", ["-i", out, "::/boot/boot.sh"], { encoding: "utf8", env }), "#!/bin/sh\necho hi\n");
    execFileSync("mcopy", ["-i", out, "::/rootfs.img", join(d.path, "back.img")], { env });
    assert.deepEqual(new Uint8Array(readFileSync(join(d.path, "back.img"))), bin);
  } finally {
    d.remove();
  }
});

test("kernel fragment: options Kconfig dropped are found, values and 'is not set' lines included", () => {
  const frag = parseFragment("# comment\nCONFIG_A=y\nCONFIG_B=\"x y\"\n# CONFIG_C is not set\nCONFIG_D=y\n");
  assert.deepEqual([...frag], [["CONFIG_A", "y"], ["CONFIG_B", "\"x y\""], ["CONFIG_C", "n"], ["CONFIG_D", "y"]]);
  const config = "CONFIG_A=y\nCONFIG_B=\"x\"\nCONFIG_C=y\n# CONFIG_D is not set\n";
  assert.deepEqual(droppedOptions(frag, config), [
    "CONFIG_B=\"x y\" (the .config has \"x\")", "CONFIG_C=n (the .config has y)", "CONFIG_D=y (the .config has it off)",
  ]);
  assert.deepEqual(droppedOptions(frag, "CONFIG_A=y\nCONFIG_B=\"x y\"\nCONFIG_D=y\n"), []);
});
