import { scenario } from "../../../harness/mod.ts";

// Blame: the host. QEMU is killed under the guest, as the kernel's OOM killer would: an infrastructure
// error with QEMU's signal, exit 3.
export default scenario({
  name: "blame: QEMU killed under a running guest is the host's failure",
  targets: ["malta-mipsel"],
  timeouts: { bootSeconds: 60 },
}, async ({ lab, target, fixtures }) => {
  const board = await lab.boot(target, { firmware: await fixtures.uboot(), lan: false });
  await board.uboot();
  // QEMU itself, as the OOM killer picks it (not the watchdog shell around it, board.machine.pid).
  process.kill(await board.machine.qemuPid(), "SIGKILL");
  await board.expect("a line that will not come", "the guest runs on", { timeoutMs: 30_000 });
});
