import { scenario } from "../../harness/mod.ts";

// The bench's bootlab side: boot the same kernel + initramfs as the bare-QEMU side and stop at the same
// console marker. The moment the marker is seen is handed to the bench through a global.
export default scenario({
  name: "boot to the init marker (bench)",
  targets: "all",
  timeouts: { bootSeconds: 120 },
}, async ({ lab, target, fixtures }) => {
  const kernel = await fixtures.kernel();
  const initrd = await fixtures.initramfs();
  const board = await lab.boot(target, { kernel, initrd });
  await board.expect(/bootlab-init: ready/, "kernel boots to the marker", { timeoutMs: 120_000 });
  (globalThis as { bootlabBenchMarkerAt?: number }).bootlabBenchMarkerAt = performance.now();
});
