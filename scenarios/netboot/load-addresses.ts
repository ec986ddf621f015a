import { ProductFailure, scenario } from "../../harness/mod.ts";
import { hex } from "../../harness/console/uboot.ts";

// Seed 000 found that the load address matters. A tftpboot aimed at U-Boot's own relocated copy (the top
// of RAM, from `bdinfo`) must be refused by U-Boot itself, and the prompt must stay usable.
export default scenario({
  name: "U-Boot: tftpboot over U-Boot's own relocated copy is refused: trying to overwrite reserved memory",
  targets: "all",
  timeouts: { bootSeconds: 60, stepSeconds: 60 },
}, async ({ lab, target, fixtures, step }) => {
  const lan = await lab.lan();
  lan.tftpFiles.set("payload.bin", new Uint8Array(1 << 20).fill(0xa5));
  const board = await lab.boot(target, { firmware: await fixtures.uboot() });
  const ub = await board.uboot();
  const info = await ub.bdinfo();
  const reloc = info.relocaddr;
  if (reloc === undefined) throw new ProductFailure("bdinfo printed no relocaddr", { seen: JSON.stringify(info) });
  await ub.setenv("ipaddr", "192.168.1.20");
  await ub.setenv("serverip", lan.server.ip);
  await step(`tftpboot onto U-Boot's own code at ${hex(reloc)} is refused`, async () => {
    const r = await ub.run(`tftpboot ${hex(reloc)} payload.bin`);
    if (r.error?.name !== "overwrite-reserved") {
      throw new ProductFailure("U-Boot did not refuse a load over its own relocated code", {
        expected: "TFTP error: trying to overwrite reserved memory", seen: r.error?.line ?? r.output.trim().split("\n").slice(-2).join(" | "),
      });
    }
  });
  // Still alive: the same file to a sane address works.
  await ub.tftp("kernel", "payload.bin");
});
