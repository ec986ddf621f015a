import { scenario } from "../../../harness/mod.ts";

// Valid, and would start a machine: used to prove that a malformed neighbour stops the run first.
export default scenario({ name: "would power on a board", targets: ["malta-mipsel"] }, async ({ lab, target, fixtures }) => {
  await lab.boot(target, { kernel: await fixtures.kernel() });
});
