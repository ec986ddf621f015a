import { scenario } from "../../harness/mod.ts";

// The classic netboot mistake (seed 000): a kernel with no initramfs and no root= has nothing to mount.
// The run must name the real symptom, as a product failure, within seconds — not a timeout.
export default scenario({
  name: "a kernel booted without an initramfs panics: VFS: Unable to mount root fs",
  targets: "all",
  timeouts: { bootSeconds: 90 },
  expectFailure: { kind: "product", message: "VFS: Unable to mount root fs" },
}, async ({ lab, target, fixtures }) => {
  const board = await lab.boot(target, { kernel: await fixtures.kernel() });
  await board.shell();
});
