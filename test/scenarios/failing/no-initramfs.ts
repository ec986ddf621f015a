import { scenario } from "../../../harness/mod.ts";

// Must fail: a kernel with nothing to mount panics. The harness has to report a product failure that
// quotes the panic line, long before any deadline.
export default scenario({
  name: "boots a kernel with no initramfs and expects a shell (it cannot get one)",
  targets: ["malta-mipsel"],
  timeouts: { bootSeconds: 120 },
}, async ({ lab, target, fixtures }) => {
  const board = await lab.boot(target, { kernel: await fixtures.kernel() });
  await board.shell();
});
