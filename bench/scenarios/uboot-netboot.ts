import { readFileSync } from "node:fs";
import { scenario } from "../../harness/mod.ts";

// The bench's flow (seed 000): power on → U-Boot → tftpboot kernel + initramfs → boot → first userspace
// line, through the lab LAN (BENCH_NET=lab, BENCH_WINDOW=U-Boot's tftpwindowsize) or QEMU's slirp
// (BENCH_NET=slirp, files from BENCH_TFTP_ROOT, named kernel-<target> and initramfs-<target>.cpio.gz).
const env = process.env;
export default scenario({
  name: "U-Boot TFTP to RAM to the first userspace line (bench)",
  targets: "all",
  timeouts: { bootSeconds: 120, stepSeconds: 120 },
}, async ({ lab, target, fixtures }) => {
  const slirp = env.BENCH_NET === "slirp";
  const root = env.BENCH_TFTP_ROOT!;
  const kernel = `kernel-${target.name}`, initrd = `initramfs-${target.name}.cpio.gz`;
  if (!slirp) {
    const lan = await lab.lan();
    lan.tftpFiles.set(kernel, new Uint8Array(readFileSync(`${root}/${kernel}`)));
    lan.tftpFiles.set(initrd, new Uint8Array(readFileSync(`${root}/${initrd}`)));
  }
  const board = await lab.boot(target, { firmware: await fixtures.uboot(), lan: slirp ? "slirp" : true, slirpTftpRoot: slirp ? root : undefined });
  const ub = await board.uboot();
  await ub.setenv("ipaddr", slirp ? "10.0.2.15" : "192.168.1.20");
  await ub.setenv("serverip", slirp ? "10.0.2.2" : "192.168.1.10");
  if (!slirp && env.BENCH_WINDOW && env.BENCH_WINDOW !== "1") await ub.setenv("tftpwindowsize", env.BENCH_WINDOW);
  await ub.tftp("kernel", kernel);
  const rd = await ub.tftp("ramdisk", initrd);
  await ub.bootLoaded({ consoleDevice: target.machine.console.linuxDevice, ramdiskSize: rd });
  await board.expect(/bootlab-init: ready[^\n]*\n/, "first userspace line", { timeoutMs: 120_000 });
});
