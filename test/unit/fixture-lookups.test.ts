// Lookups the fixtures remember (module dependencies and a guest program's files inside a process, the
// kernel U-Boot boots in the cache, named by the package's hash): asked again, the same answer; a refusal is
// not remembered, so it comes again, whole.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Fixtures } from "../../harness/fixtures/fixtures.ts";
import { resolveModules } from "../../harness/fixtures/kernel.ts";
import { guestProgramFiles } from "../../harness/fixtures/guest-programs.ts";
import { loadCatalogue } from "../../harness/targets/catalogue.ts";
import { ScenarioError } from "../../harness/errors/failures.ts";
import { elfToBinary } from "../../harness/images/elf.ts";
import { decodeUImage } from "../../harness/images/uimage.ts";
import { readFileSync } from "node:fs";

const fixtures = new Fixtures();
const target = loadCatalogue().get("virt-arm64")!;

test("fixture lookups: module dependencies come in load order, the same when asked again; an unknown module is refused every time", async () => {
  const kernel = await fixtures.kernel(target);
  const first = await resolveModules(kernel, ["ext4", "virtio_net"]);
  assert.ok(first.findIndex((p) => p.endsWith("/jbd2.ko") || p.endsWith("/jbd2.ko.xz")) < first.findIndex((p) => /\/ext4\.ko/.test(p)), first.join("\n"));
  assert.deepEqual(await resolveModules(kernel, ["ext4", "virtio_net"]), first);
  // Asked in another order, each module's dependencies still come first, without duplicates.
  const again = await resolveModules(kernel, ["virtio_net", "ext4"]);
  assert.deepEqual([...again].sort(), [...first].sort());
  for (let i = 0; i < 2; i++) {
    await assert.rejects(resolveModules(kernel, ["no_such_module_x"]), (e: unknown) => e instanceof ScenarioError && /no_such_module_x/.test(e.message));
  }
});

test("fixture lookups: a guest program's files are the same when asked again; a program no package has is refused every time", async () => {
  const a = await guestProgramFiles(fixtures.archive, fixtures.lock, target, ["/sbin/kexec"]);
  assert.ok(a.some((f) => f.path === "sbin/kexec") && a.some((f) => /^lib\/.*libc\.so/.test(f.path)), a.map((f) => f.path).join(" "));
  assert.equal(await guestProgramFiles(fixtures.archive, fixtures.lock, target, ["/sbin/kexec"]), await guestProgramFiles(fixtures.archive, fixtures.lock, target, ["/sbin/kexec"]));
  for (let i = 0; i < 2; i++) {
    await assert.rejects(guestProgramFiles(fixtures.archive, fixtures.lock, target, ["/sbin/no-such-program"]), (e: unknown) => e instanceof ScenarioError && /no-such-program/.test(e.message));
  }
});

test("fixture lookups: malta's uImage for bootm keeps the shipped ELF's load address and entry, read back from the cached file's header", async () => {
  const malta = loadCatalogue().get("malta-mipsel")!;
  const elf = elfToBinary(new Uint8Array(readFileSync((await fixtures.kernel(malta)).image)));
  if (typeof elf === "string") assert.fail(elf);
  for (let i = 0; i < 2; i++) {
    const k = await fixtures.bootloaderKernel(malta);
    assert.deepEqual([k.format, k.load, k.entry], ["uImage", elf.loadAddress, elf.entry]);
    const u = decodeUImage(new Uint8Array(readFileSync(k.path)));
    if (typeof u === "string") assert.fail(u);
    assert.ok(u.dataCrcOk && Buffer.from(u.data).equals(elf.binary));
  }
});
