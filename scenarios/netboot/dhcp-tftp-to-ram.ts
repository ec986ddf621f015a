import { readFileSync } from "node:fs";
import { ProductFailure, scenario } from "../../harness/mod.ts";

// Seed 000 the other way: U-Boot's `dhcp` takes its address, the server and the boot file from the lab's
// DHCP server (a host entry for this board's MAC, found by U-Boot's own vendor class), then tftpboots.
export default scenario({
  name: "U-Boot: dhcp sets ipaddr/serverip/bootfile from a host entry, tftpboot ${bootfile}, boot to a shell",
  targets: "all",
  timeouts: { bootSeconds: 90, stepSeconds: 60 },
}, async ({ lab, target, fixtures }) => {
  const lan = await lab.lan();
  lan.tftpFiles.set(`boards/${target.name}.bin`, readFileSync((await fixtures.bootloaderKernel()).path));
  lan.tftpFiles.set("initramfs.cpio.gz", readFileSync(await fixtures.initramfs({ modules: target.machine.nic.linuxModules })));
  const board = await lab.boot(target, { firmware: await fixtures.uboot() });
  lan.dhcp.host({ mac: board.mac, ip: "192.168.1.42", file: `boards/${target.name}.bin` });
  const ub = await board.uboot();
  // autoload off: `dhcp` only configures; the scenario chooses where each file goes.
  await ub.setenv("autoload", "no");
  await ub.expectOk("dhcp", { step: "U-Boot: dhcp" });
  const env = { ipaddr: await ub.getenv("ipaddr"), serverip: await ub.getenv("serverip"), bootfile: await ub.getenv("bootfile") };
  const want = { ipaddr: "192.168.1.42", serverip: lan.server.ip, bootfile: `boards/${target.name}.bin` };
  if (JSON.stringify(env) !== JSON.stringify(want)) {
    throw new ProductFailure("U-Boot's environment after dhcp differs from the host entry", { expected: JSON.stringify(want), seen: JSON.stringify(env) });
  }
  const asked = lan.dhcp.log.filter((e) => e.mac === board.mac);
  if (!asked.some((e) => e.reply === "ACK") || !asked.every((e) => e.vendorClass?.startsWith("U-Boot"))) {
    throw new ProductFailure("the DHCP log does not show U-Boot (option 60 \"U-Boot…\") getting an ACK", { seen: JSON.stringify(asked) });
  }
  await ub.tftp("kernel", "${bootfile}");
  const rd = await ub.tftp("ramdisk", "initramfs.cpio.gz");
  await ub.bootLoaded({ consoleDevice: target.machine.console.linuxDevice, ramdiskSize: rd });
  const sh = await board.shell();
  // Linux asks again with udhcpc (its own vendor class) and gets the same host entry.
  await board.networkUp();
  await sh.expectOk("ip -4 addr show eth0 | grep -q 'inet 192.168.1.42/'");
  await board.powerOff();
});
