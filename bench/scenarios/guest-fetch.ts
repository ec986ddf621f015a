import { scenario } from "../../harness/mod.ts";

// The bench's guest side: fetch the same 32 MB file with busybox tftp and wget, through the lab LAN or
// through QEMU's slirp (BENCH_NET=lab|slirp). The bench reads the two fetch steps' durations.
const env = process.env;
export default scenario({
  name: "guest fetches 32 MB by tftp and wget (bench)",
  targets: "all",
  timeouts: { bootSeconds: 120, stepSeconds: 300, scenarioSeconds: 900 },
}, async ({ lab, target, fixtures }) => {
  const slirp = env.BENCH_NET === "slirp";
  const blob = env.BENCH_BLOB!;
  const lan = slirp ? undefined : await lab.lan();
  if (lan) {
    const { readFileSync } = await import("node:fs");
    const bytes = new Uint8Array(readFileSync(blob));
    lan.tftpFiles.set("blob.bin", bytes);
    lan.http.file("/blob.bin", bytes);
  }
  const board = await lab.boot(target, {
    kernel: await fixtures.kernel(),
    initrd: await fixtures.initramfs({ modules: target.machine.nic.linuxModules }),
    lan: slirp ? "slirp" : true,
    slirpTftpRoot: slirp ? env.BENCH_TFTP_ROOT : undefined,
  });
  const sh = await board.shell();
  const nic = target.machine.nic.linuxName;
  await sh.expectOk(`for m in ${target.machine.nic.linuxModules.join(" ")}; do modprobe $m; done; ip link set ${nic} up && udhcpc -i ${nic} -n -q -t 5 -T 1`);
  const server = slirp ? "10.0.2.2" : "192.168.1.10";
  const http = slirp ? `http://10.0.2.2:${env.BENCH_HTTP_PORT}/blob.bin` : "http://192.168.1.10/blob.bin";
  await sh.expectOk(`tftp -b 1428 -g -r blob.bin -l /tmp/b ${server} && rm /tmp/b`, { step: "tftp 32 MB", timeoutMs: 300_000 });
  await sh.expectOk(`wget -q -O /tmp/b ${http} && rm /tmp/b`, { step: "wget 32 MB", timeoutMs: 300_000 });
});
