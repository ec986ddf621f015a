import { scenario } from "../../../harness/mod.ts";

// Blame: a deadline. U-Boot is up but never prints what the step waits for: a step timeout, exit 1.
export default scenario({
  name: "blame: a line that never comes is a step timeout",
  targets: ["malta-mipsel"],
  timeouts: { bootSeconds: 60 },
}, async ({ lab, target, fixtures }) => {
  const board = await lab.boot(target, { firmware: await fixtures.uboot(), lan: false });
  await board.uboot();
  await board.expect("a line U-Boot never prints", "wait for a line that never comes", { timeoutMs: 2000 });
});
