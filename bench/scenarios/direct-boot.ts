import { scenario } from "../../harness/mod.ts";

// The baseline of bench/factory-flash: the same Debian kernel booted directly (-kernel, -initrd) to a shell.
export default scenario({ name: "bench: direct kernel boot to a shell", targets: ["virt-armhf", "virt-arm64"] }, async ({ lab, target, fixtures }) => {
  const board = await lab.boot(target, { kernel: await fixtures.kernel(), initrd: await fixtures.initramfs() });
  await board.shell();
  await board.powerCut();
});
