import { scenario } from "../../../harness/mod.ts";

// Blame: the product. A kernel with nothing to mount panics; the step that waited for a shell fails
// with the panic line, and `bootlab run` exits 1.
export default scenario({
  name: "blame: a kernel panic is the product's failure",
  targets: ["malta-mipsel"],
  timeouts: { bootSeconds: 120 },
}, async ({ lab, target, fixtures }) => {
  const board = await lab.boot(target, { kernel: await fixtures.kernel() });
  await board.shell();
});
