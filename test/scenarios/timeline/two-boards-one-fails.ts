import { ProductFailure, scenario } from "../../../harness/mod.ts";

// Two boards side by side, each in a step of the scenario's own (no board named): board-b's step fails by
// the scenario's own check, with no console tail of its own, while board-a is still busy. The timeline
// must blame board-b's step, quote board-b's console, and cut board-a's work short — not mix them up.
export default scenario({
  name: "two boards side by side: board-b's scenario step fails while board-a still works",
  targets: ["virt-armhf"],
  timeouts: { bootSeconds: 90, stepSeconds: 90 },
}, async ({ lab, target, fixtures, step }) => {
  const kernel = await fixtures.kernel();
  const initrd = await fixtures.initramfs();
  const boards = [
    await lab.boot(target, { name: "board-a", kernel, initrd, lan: false }),
    await lab.boot(target, { name: "board-b", kernel, initrd, lan: false }),
  ];
  await Promise.all(boards.map((b) => step(`${b.name} works`, async () => {
    const sh = await b.shell();
    if (b.name === "board-a") {
      await sh.run("sleep 60", { timeoutMs: 80_000 });
      return;
    }
    await sh.expectOk("echo board-b-was-here");
    throw new ProductFailure("board-b's check failed", { expected: "the check to pass", seen: "board-b-was-here" });
  })));
});
