import { statSync } from "node:fs";
import { ProductFailure, ScenarioError, scenario } from "../../../harness/mod.ts";

// QEMU's malta loader keeps 255 bytes of command line, its own "rd_start=… rd_size=…" included, and
// drops the rest without a word. A line exactly at the limit must reach the kernel whole; one byte more
// must be refused before any machine starts.
export default scenario({
  name: "malta's command-line limit: a line at the limit arrives whole, one byte more is refused before power-on",
  targets: ["malta-mipsel"],
}, async ({ lab, target, fixtures }) => {
  const initrd = await fixtures.initramfs();
  const limit = target.guest.kernel.commandLineLimit!;
  const prefix = limit.initrdPrefix!.replace("{size}", String(statSync(initrd).size));
  const base = `console=${target.machine.console.linuxDevice} panic=1 ${target.guest.kernel.cmdline.map((w) => w + " ").join("")}`;
  const pad = (extra: number) => `bootlab.pad=${"x".repeat(limit.bytes - prefix.length - base.length - "bootlab.pad=".length - " bootlab.end=1".length + extra)} bootlab.end=1`;
  let refused = "";
  try {
    await lab.boot(target, { name: "too-long", kernel: await fixtures.kernel(), initrd, append: [pad(1)] });
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    refused = e.message;
  }
  if (!/is 256 bytes with QEMU's "rd_start=0xffffffff80000000 rd_size=\d+"; QEMU cuts it at 255/.test(refused)) {
    throw new ProductFailure("a command line one byte over the limit was not refused", { expected: "a ScenarioError naming 256 and 255", seen: refused || "no error" });
  }
  const board = await lab.boot(target, { kernel: await fixtures.kernel(), initrd, append: [pad(0)] });
  const sh = await board.shell();
  const cmdline = (await sh.expectOk("cat /proc/cmdline")).trim();
  if (!cmdline.endsWith("bootlab.end=1")) throw new ProductFailure("the line at the limit did not arrive whole", { expected: "… bootlab.end=1", seen: cmdline });
  await board.powerOff();
});
