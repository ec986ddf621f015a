import { createHash } from "node:crypto";
import { ProductFailure, scenario } from "../../harness/mod.ts";
import { seededBytes } from "../../harness/lan/faults.ts";

// Debian's nbd-client in the guest attaches an export of the lab's NBD server as /dev/nbd0 (the kernel's
// nbd driver over the lab's TCP) and reads it whole: byte-exact. A write through it lands in the
// export's copy-on-write overlay.
export default scenario({
  name: "the guest reads a 16 MB NBD export byte-exact through the kernel's nbd driver; writes go to the overlay",
  targets: "all",
  timeouts: { bootSeconds: 90, stepSeconds: 120 },
}, async ({ lab, target, fixtures, step }) => {
  const lan = await lab.lan();
  const image = seededBytes(3, 16 << 20);
  const sha = createHash("sha256").update(image).digest("hex");
  const disk = lan.nbd.addBytes("disk", image.slice(), { mode: "copy-on-write" });
  const board = await lab.boot(target, {
    kernel: await fixtures.kernel(),
    initrd: await fixtures.initramfs({ modules: [...target.machine.nic.linuxModules, "nbd"], programs: ["/sbin/nbd-client"] }),
    // Booted once to the shell, restored from there afterwards (where the target allows it).
    snapshot: { at: "shell", name: "nbd-shell" },
  });
  const sh = await board.shell();
  await board.networkUp({ ip: "192.168.1.20" });
  await sh.expectOk("modprobe nbd");
  await sh.expectOk("nbd-client 192.168.1.10 10809 /dev/nbd0 -N disk -L 2>&1", { step: "nbd-client attaches /dev/nbd0" });
  // nbd-client returns once its child has handed the socket to the kernel; the device gets its size when
  // that child's NBD_DO_IT starts the device, a moment later. A read before that sees an empty device
  // (CI under load once hashed 0 bytes on malta), so wait for the kernel to show the 16 MiB first.
  await sh.expectOk(`i=0; while [ "$(cat /sys/block/nbd0/size)" != ${(16 << 20) / 512} ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; ` +
    `[ "$(cat /sys/block/nbd0/size)" = ${(16 << 20) / 512} ]`, { step: "the kernel shows /dev/nbd0's 16 MiB" });
  const got = await sh.expectOk("dd if=/dev/nbd0 bs=1M 2>/dev/null | sha256sum", { step: "read the whole device", timeoutMs: 120_000 });
  if (!got.startsWith(sha)) throw new ProductFailure("the NBD device's sha256 differs from the export's", { expected: sha, seen: got });
  await step("a write lands in the overlay, not in the image", async () => {
    await sh.expectOk("echo bootlab-was-here | dd of=/dev/nbd0 bs=512 seek=8 conv=notrunc,fsync 2>/dev/null && sync");
    const back = new TextDecoder().decode((await disk.read(8 * 512, 17)) as Uint8Array);
    if (back !== "bootlab-was-here\n") throw new ProductFailure("the export does not show the guest's write", { seen: JSON.stringify(back) });
    if (disk.overlayBytes() === 0) throw new ProductFailure("the write did not go to the copy-on-write overlay");
  });
  await sh.expectOk("nbd-client -d /dev/nbd0 2>&1");
});
