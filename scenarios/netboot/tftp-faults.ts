import { readFileSync } from "node:fs";
import { ProductFailure, scenario } from "../../harness/mod.ts";
import { encodeUImage } from "../../harness/images/uimage.ts";

// TFTP as it fails in the field, on one U-Boot session per target:
//  1. every DATA frame lost: U-Boot's own give-up ("Retry count exceeded") after its retries, and a prompt
//     that still works;
//  2. a truncated kernel image on the server: the transfer is fine, U-Boot's CRC check refuses to boot it;
//  3. 2 % seeded loss of DATA while the initramfs loads: the boot completes, and the server's log shows
//     the retransmits that carried it.
export default scenario({
  name: "U-Boot TFTP under faults: all DATA lost → U-Boot gives up; truncated image → Bad Data CRC; 2% loss → boots",
  targets: "all",
  timeouts: { bootSeconds: 90, stepSeconds: 90 },
}, async ({ lab, target, fixtures, step, log: ctxLog }) => {
  const lan = await lab.lan();
  const kernel = await fixtures.bootloaderKernel();
  const u = target.firmware.uboot!;
  lan.tftpFiles.set("kernel", readFileSync(kernel.path));
  lan.tftpFiles.set("initramfs.cpio.gz", readFileSync(await fixtures.initramfs()));
  // The kernel as a legacy uImage on every target (bootm checks its CRC), cut short by 64 KB.
  const uimage = kernel.format === "uImage" ? readFileSync(kernel.path) : encodeUImage({
    arch: u.uimageArch, type: "kernel", load: u.addresses.kernel, entry: u.addresses.kernel, name: "truncated", data: readFileSync(kernel.path),
  });
  lan.tftpFiles.set("truncated.uimg", uimage.subarray(0, uimage.length - 65536));

  const board = await lab.boot(target, { firmware: await fixtures.uboot() });
  const ub = await board.uboot();
  await ub.setenv("ipaddr", "192.168.1.20");
  await ub.setenv("serverip", lan.server.ip);
  // U-Boot's defaults wait 5 s ten times, and retry forever; a field loader gives up sooner.
  await ub.setenv("tftptimeout", "1000");
  await ub.setenv("tftptimeoutcountmax", "3");
  await ub.setenv("netretry", "no");

  await step("every DATA frame lost: U-Boot gives up", async () => {
    lan.faults.add({ name: "all DATA lost", match: { tftpOpcode: "DATA" }, action: "drop" });
    const r = await ub.run("tftpboot ${loadaddr} kernel", { timeoutMs: 60_000 });
    lan.faults.clear();
    if (r.error?.name !== "retry-exceeded") {
      throw new ProductFailure("U-Boot did not give up on a transfer whose DATA never arrived", {
        expected: "Retry count exceeded", seen: r.error?.line ?? r.output.trim().split("\n").slice(-2).join(" | "),
      });
    }
    const t = [...lan.tftp.log, ...lan.tftp.active()].filter((x) => x.file === "kernel").at(-1);
    if (!t || t.bytes !== 0 || t.retransmits < 1) {
      throw new ProductFailure("the server's log does not show a transfer that delivered nothing despite retransmits", { seen: JSON.stringify(t) });
    }
  });
  await ub.sync("U-Boot prompt answers after the give-up");

  await step("a truncated image: bootm refuses it on its CRC", async () => {
    await ub.tftp("kernel", "truncated.uimg");
    const r = await ub.run(`bootm ${ub.addr("kernel")}`);
    if (r.error?.name !== "bad-crc") {
      throw new ProductFailure("bootm did not refuse a truncated image", { expected: "Bad Data CRC", seen: r.error?.line ?? r.output.trim() });
    }
  });

  await ub.tftp("kernel", "kernel");
  const rd = await step("2% of DATA frames lost while the initramfs loads", async () => {
    const before = lan.faults.log.length;
    const transfers = lan.tftp.log.filter((x) => x.file === "initramfs.cpio.gz").length;
    lan.faults.add({ name: "2% DATA loss", match: { tftpOpcode: "DATA" }, probability: 0.02, action: "drop" });
    const size = await ub.tftp("ramdisk", "initramfs.cpio.gz");
    lan.faults.clear();
    const dropped = lan.faults.log.length - before;
    // Logged when U-Boot's last ACK reaches the server, a moment after U-Boot printed "done".
    const t = await lan.tftp.finished("initramfs.cpio.gz", transfers);
    // Not one retransmit per drop: a dropped frame can be an early retransmit whose original arrived.
    if (!t || t.outcome !== "ok" || t.bytes !== size || dropped === 0 || t.retransmits === 0) {
      throw new ProductFailure("the server's log does not show a complete transfer carried by retransmits", {
        expected: `outcome ok, ${size} bytes, retransmits for the ${dropped} frames dropped`, seen: JSON.stringify(t),
      });
    }
    ctxLog(`initramfs: ${dropped} DATA frames dropped, ${t.retransmits} retransmits, ${t.durationMs.toFixed(0)} ms`);
    return size;
  });
  await ub.bootLoaded({ consoleDevice: target.machine.console.linuxDevice, ramdiskSize: rd });
  await board.shell();
  await board.powerOff();
});
