import { readFileSync } from "node:fs";
import { ProductFailure, scenario } from "../../harness/mod.ts";

// U-Boot's TFTP options as the server negotiates them: `tftpblocksize` (RFC 2348) and `tftpwindowsize`
// (RFC 7440). The server's log is the evidence: what U-Boot asked for, what was acknowledged, and what
// the transfer ran with. The kernel is loaded at windowsize 1 and 16 and both runs boot-check the same
// bytes (U-Boot's crc32 of the loaded image).
export default scenario({
  name: "U-Boot TFTP options: tftpblocksize 512 and tftpwindowsize 16 negotiated; the kernel at windowsize 1 and 16 is identical",
  targets: ["virt-armhf", "virt-arm64"],
  timeouts: { bootSeconds: 90, stepSeconds: 90 },
}, async ({ lab, target, fixtures, step, log }) => {
  const lan = await lab.lan();
  const kernel = readFileSync((await fixtures.bootloaderKernel()).path);
  lan.tftpFiles.set("kernel", kernel);
  lan.tftpFiles.set("initramfs.cpio.gz", readFileSync(await fixtures.initramfs()));
  const board = await lab.boot(target, { firmware: await fixtures.uboot() });
  const ub = await board.uboot();
  await ub.setenv("ipaddr", "192.168.1.20");
  await ub.setenv("serverip", lan.server.ip);
  const count = (file: string) => lan.tftp.log.filter((x) => x.file === file).length;
  // The server logs a transfer when U-Boot's last ACK reaches it, a moment after U-Boot says "done".
  const check = async (file: string, before: number, want: { blksize: number; windowsize: number }) => {
    const t = await lan.tftp.finished(file, before);
    if (!t) throw new ProductFailure(`the server logged no finished transfer of ${file}`, { expected: "one, after U-Boot's tftpboot returned" });
    const asked = Object.fromEntries(t.requested.map((o) => [o.name, o.value]));
    if (t.blksize !== want.blksize || t.windowsize !== want.windowsize || t.outcome !== "ok") {
      throw new ProductFailure(`the ${file} transfer ran with blksize ${t.blksize}, windowsize ${t.windowsize} (${t.outcome})`, {
        expected: `blksize ${want.blksize}, windowsize ${want.windowsize}, ok`, seen: `U-Boot asked ${JSON.stringify(asked)}`,
      });
    }
    log(`${file}: blksize ${t.blksize} windowsize ${t.windowsize}: ${t.bytes} bytes in ${t.durationMs.toFixed(0)} ms, ${t.retransmits} retransmits`);
  };
  const crc = async () => (await ub.expectOk(`crc32 ${ub.addr("kernel")} 0x${kernel.length.toString(16)}`)).trim().split(" ").at(-1);

  await step("tftpblocksize 512", async () => {
    await ub.setenv("tftpblocksize", "512");
    const before = count("initramfs.cpio.gz");
    await ub.tftp("ramdisk", "initramfs.cpio.gz");
    await check("initramfs.cpio.gz", before, { blksize: 512, windowsize: 1 });
    // Deleting the variable does not bring the default back (U-Boot keeps the last value it parsed):
    // set it explicitly.
    await ub.setenv("tftpblocksize", "1468");
  });
  const crc1 = await step("kernel at windowsize 1", async () => {
    const before = count("kernel");
    await ub.tftp("kernel", "kernel");
    await check("kernel", before, { blksize: 1468, windowsize: 1 });
    return await crc();
  });
  await ub.expectOk(`mw.b ${ub.addr("kernel")} 0 0x${kernel.length.toString(16)}`, { step: "U-Boot: clear the kernel's RAM" });
  const crc16 = await step("kernel at windowsize 16", async () => {
    await ub.setenv("tftpwindowsize", "16");
    const before = count("kernel");
    await ub.tftp("kernel", "kernel");
    await check("kernel", before, { blksize: 1468, windowsize: 16 });
    return await crc();
  });
  if (crc1 !== crc16) throw new ProductFailure("the kernel loaded at windowsize 16 differs from windowsize 1", { expected: crc1, seen: crc16 });
  const rd = await ub.tftp("ramdisk", "initramfs.cpio.gz");
  await ub.bootLoaded({ consoleDevice: target.machine.console.linuxDevice, ramdiskSize: rd });
  await board.shell();
  await board.powerOff();
});
