import { ProductFailure, scenario } from "../../../harness/mod.ts";

// Drives a real QEMU through QMP: pause and resume under a running shell, then a reset that the console
// watcher must notice (a second kernel banner) and report as an unexpected reset.
export default scenario({
  name: "QMP stop/cont keeps the shell alive; system_reset is caught as an unexpected reset",
  targets: ["virt-arm64"],
  expectFailure: { kind: "product", message: "kernel-reset" },
}, async ({ lab, target, fixtures, step }) => {
  const board = await lab.boot(target, { kernel: await fixtures.kernel(), initrd: await fixtures.initramfs() });
  const sh = await board.shell();
  await step("pause and resume", async () => {
    await board.machine.qmp.execute("stop");
    if ((await board.status()) !== "paused") throw new ProductFailure("QEMU did not pause");
    await board.machine.qmp.execute("cont");
    if ((await board.status()) !== "running") throw new ProductFailure("QEMU did not resume");
  });
  await sh.expectOk("echo still here");
  await board.machine.qmp.execute("system_reset");
  // Nothing is expected to happen here but a quiet shell; the reset banner must fail this wait.
  await board.expect("this text never appears", "idle after reset", { timeoutMs: 60_000 });
});
