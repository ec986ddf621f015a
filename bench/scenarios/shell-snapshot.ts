import { scenario } from "../../harness/mod.ts";

// The bench's machine: kernel + initramfs to a synced shell, as a snapshot point. With snapshots off it is
// a cold boot; with them on (after one save) a restore. Either way it ends when the shell answers.
export default scenario({
  name: "ready shell, cold or restored (bench)",
  targets: "all",
  timeouts: { bootSeconds: 120 },
}, async ({ lab, target, fixtures }) => {
  const board = await lab.boot(target, {
    kernel: await fixtures.kernel(),
    initrd: await fixtures.initramfs({ modules: target.machine.nic.linuxModules }),
    snapshot: { at: "shell", name: "bench-shell" },
  });
  await (await board.shell()).expectOk("true", { step: "shell answers a command" });
});
