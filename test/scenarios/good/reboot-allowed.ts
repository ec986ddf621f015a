import { scenario } from "../../../harness/mod.ts";

// A deliberate reboot, with the reset watcher scoped off for that step: the board comes back to a shell.
export default scenario({
  name: "a deliberate reboot inside an allowing() scope is not a failure",
  targets: ["virt-arm64"],
}, async ({ lab, target, fixtures, step }) => {
  const board = await lab.boot(target, { kernel: await fixtures.kernel(), initrd: await fixtures.initramfs() });
  const sh = await board.shell();
  await board.allowing(["kernel-reset"], async () => {
    board.console.sendLine("reboot -f");
    await board.expect(/bootlab-init: ready[^\n]*\n/, "the board boots again", { timeoutMs: 60_000 });
  });
  await step("the shell answers after the reboot", async () => {
    await sh.sync("shell answers again");
    await sh.expectOk("test -d /proc/1");
  });
});
