import { readFileSync } from "node:fs";
import { ProductFailure, scenario } from "../../harness/mod.ts";
import type { Board } from "../../harness/mod.ts";

// Two boards of the same kind on one LAN netbooting at the same time, as on a production line: each
// gets its own host entry (address and boot file) by its MAC, and boots its own initramfs. On virt,
// U-Boot would send both from 52:52:52:52:52:52 — the board driver sets each one's ethaddr.
export default scenario({
  name: "two boards netboot at once: each gets its own address and boot file by MAC, and boots its own initramfs",
  targets: "all",
  timeouts: { bootSeconds: 120, stepSeconds: 120 },
}, async ({ lab, target, fixtures, step }) => {
  const lan = await lab.lan();
  lan.tftpFiles.set("kernel", readFileSync((await fixtures.bootloaderKernel()).path));
  const firmware = await fixtures.uboot();
  const names = ["board-a", "board-b"];
  for (const n of names) {
    lan.tftpFiles.set(`${n}.cpio.gz`, readFileSync(await fixtures.initramfs({ files: [{ path: "etc/board", data: `${n}\n` }] })));
  }
  const boards: Board[] = [];
  for (const n of names) boards.push(await lab.boot(target, { name: n, firmware }));
  boards.forEach((b, i) => lan.dhcp.host({ mac: b.mac, ip: `192.168.1.${31 + i}`, file: `${b.name}.cpio.gz` }));

  await Promise.all(boards.map((b, i) => step(`${b.name} netboots`, async () => {
    const ub = await b.uboot();
    await ub.setenv("autoload", "no");
    await ub.expectOk("dhcp", { step: "U-Boot: dhcp" });
    const ip = await ub.getenv("ipaddr");
    if (ip !== `192.168.1.${31 + i}`) throw new ProductFailure(`${b.name} got ${ip}`, { expected: `192.168.1.${31 + i}` });
    await ub.tftp("kernel", "kernel");
    const rd = await ub.tftp("ramdisk", "${bootfile}");
    await ub.bootLoaded({ consoleDevice: target.machine.console.linuxDevice, ramdiskSize: rd });
    const sh = await b.shell();
    const who = (await sh.expectOk("cat /etc/board")).trim();
    if (who !== b.name) throw new ProductFailure(`${b.name} booted ${who}'s initramfs`, { expected: b.name, seen: who });
  })));
  const macs = new Set(lan.dhcp.log.map((e) => e.mac));
  if (macs.size !== 2) throw new ProductFailure("the DHCP server did not see exactly two clients", { seen: [...macs].join(", ") });
  for (const b of boards) await b.powerOff();
});
