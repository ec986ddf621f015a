import { scenario } from "../../../harness/mod.ts";

// Boots and then waits for minutes: the orphan tests interrupt or kill the harness while it waits.
export default scenario({
  name: "boots and then waits a long time",
  targets: ["virt-arm64"],
  timeouts: { scenarioSeconds: 600, stepSeconds: 600 },
}, async ({ lab, target, fixtures }) => {
  const board = await lab.boot(target, { kernel: await fixtures.kernel(), initrd: await fixtures.initramfs() });
  const sh = await board.shell();
  await sh.run("echo bootlab-test: waiting; sleep 600");
});
