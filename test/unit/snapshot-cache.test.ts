// The snapshot cache and fingerprint without QEMU: keys change with any input, the note names what
// changed, half-written entries are cleaned, and the size bound drops the least recently used first.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SnapshotCache } from "../../harness/snapshot/cache.ts";
import { SnapshotPolicy } from "../../harness/snapshot/policy.ts";
import { differences, fileHash, fingerprintKey, type FingerprintInputs } from "../../harness/snapshot/fingerprint.ts";
import { getTarget } from "../../harness/targets/catalogue.ts";
import { tempDir } from "../helpers.ts";

const inputs = (over: Partial<FingerprintInputs> = {}): FingerprintInputs => ({
  point: "shell", name: "nic-shell", prepare: "", target: getTarget("virt-arm64"), qemuVersion: "QEMU emulator version 7.2.x",
  argv: ["qemu-system-aarch64", "-kernel", "sha256:aa"], lan: { plugged: true, subnet: "192.168.1.0/24", server: "192.168.1.10", mac: "52:54:00:00:00:01" },
  ...over,
});

test("snapshot fingerprint: any input changes the key, and the difference is named", () => {
  const base = fingerprintKey(inputs());
  assert.equal(fingerprintKey(inputs()), base);
  const changed: [Partial<FingerprintInputs>, string][] = [
    [{ argv: ["qemu-system-aarch64", "-kernel", "sha256:bb"] }, "QEMU command line or a boot file"],
    [{ qemuVersion: "QEMU emulator version 8.0.0" }, "qemuVersion"],
    [{ prepare: "async (b) => { await b.networkUp(); }" }, "prepare"],
    [{ lan: { ...inputs().lan, server: "192.168.1.11" } }, "lan"],
    [{ target: getTarget("virt-armhf") }, "target"],
  ];
  for (const [over, name] of changed) {
    assert.notEqual(fingerprintKey(inputs(over)), base);
    assert.deepEqual(differences(inputs(), inputs(over)), [name]);
  }
});

test("snapshot fingerprint: files are hashed by content, not by name", async () => {
  const d = tempDir("bootlab-fp-");
  try {
    writeFileSync(join(d.path, "a"), "kernel");
    writeFileSync(join(d.path, "b"), "kernel");
    assert.equal(await fileHash(join(d.path, "a")), await fileHash(join(d.path, "b")));
    writeFileSync(join(d.path, "b"), "kernel 2");
    utimesSync(join(d.path, "b"), new Date(), new Date(Date.now() + 5000));
    assert.notEqual(await fileHash(join(d.path, "a")), await fileHash(join(d.path, "b")));
  } finally {
    d.remove();
  }
});

test("snapshot cache: commit, get marks use, others() finds stale entries, prune drops the least recently used and half-made ones", async () => {
  const d = tempDir("bootlab-snapcache-");
  try {
    const cache = new SnapshotCache(d.path);
    const put = (key: string, bytes: number) => {
      const st = cache.staging(key);
      writeFileSync(join(st.dir, "state"), new Uint8Array(bytes));
      return st.commit({ key, name: "nic-shell", point: "shell", target: "virt-arm64", coldMs: 2000, disks: 0, inputs: inputs() });
    };
    put("k1", 1000);
    await new Promise((r) => setTimeout(r, 5));
    put("k2", 1000);
    await new Promise((r) => setTimeout(r, 5));
    assert.ok(cache.get("k1")); // k1 is now the most recently used
    assert.equal(cache.get("nope"), undefined);
    assert.deepEqual(cache.others("nic-shell", "virt-arm64", "k1").map((m) => m.key), ["k2"]);
    mkdirSync(join(d.path, "broken")); // no meta.json: a crash mid-commit
    const removed = cache.prune(1500);
    assert.deepEqual(removed.map((m) => m.key), ["k2"]);
    assert.deepEqual(readdirSync(d.path).sort(), ["k1"]);
    assert.equal(cache.clear(), 1);
    assert.deepEqual(cache.list(), []);
  } finally {
    d.remove();
  }
});

test("snapshot policy: a target whose data says it cannot be restored boots cold with a note quoting why, and saves nothing", async () => {
  const base = getTarget("virt-arm64");
  const refused = { ...base, machine: { ...base.machine, snapshots: { supported: false, why: "this QEMU loses the timer" } } };
  const notes: string[] = [];
  const lookup = await new SnapshotPolicy(true, (l) => notes.push(l)).lookup({
    target: refused, request: { at: "shell" }, plan: { media: {}, nics: [] }, lan: inputs().lan,
  });
  assert.equal(lookup.canSave, false);
  assert.equal(lookup.hit, undefined);
  assert.deepEqual(notes, ['snapshot "shell": cold boot: virt-arm64 cannot be restored (this QEMU loses the timer)']);
});
