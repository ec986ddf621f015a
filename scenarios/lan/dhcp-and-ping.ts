import { ProductFailure, scenario } from "../../harness/mod.ts";

// udhcpc in the guest gets its lease, next-server and boot file from the lab's DHCP server (a per-MAC
// host entry); then the guest pings the lab and the lab pings the guest.
export default scenario({
  name: "udhcpc gets a per-MAC lease with a boot file; ping works both ways",
  targets: "all",
  timeouts: { bootSeconds: 90 },
}, async ({ lab, target, fixtures, step }) => {
  const lan = await lab.lan({ subnet: "192.168.1.0/24", server: "192.168.1.10" });
  const board = await lab.boot(target, {
    kernel: await fixtures.kernel(),
    initrd: await fixtures.initramfs({ modules: target.machine.nic.linuxModules }),
    // Booted once to the shell, restored from there afterwards (where the target allows it).
    snapshot: { at: "shell", name: "nic-shell" },
  });
  lan.dhcp.host({ mac: board.mac, ip: "192.168.1.20", file: "openwrt-initramfs.bin" });
  const sh = await board.shell();
  const nic = target.machine.nic.linuxName;
  await sh.expectOk(`for m in ${target.machine.nic.linuxModules.join(" ")}; do modprobe $m; done`);
  await sh.expectOk(`ip link set ${nic} up && udhcpc -i ${nic} -n -q -t 5 -T 1`, { timeoutMs: 30_000 });
  const lease = Object.fromEntries((await sh.expectOk("cat /tmp/udhcpc.lease")).split("\n").map((l) => l.split("=", 2) as [string, string]));
  await step("the lease is the host entry's", async () => {
    for (const [k, want] of [["ip", "192.168.1.20"], ["siaddr", "192.168.1.10"], ["boot_file", "openwrt-initramfs.bin"], ["serverid", "192.168.1.10"]]) {
      if (lease[k!] !== want) throw new ProductFailure(`udhcpc's ${k} is "${lease[k!]}"`, { expected: want, seen: JSON.stringify(lease) });
    }
    const ack = lan.dhcp.log.find((e) => e.mac === board.mac && e.reply === "ACK");
    if (!ack || !ack.vendorClass?.startsWith("udhcp")) {
      throw new ProductFailure("the DHCP log has no ACK for a udhcpc client", { seen: JSON.stringify(lan.dhcp.log) });
    }
  });
  await sh.expectOk("ping -c 2 -W 2 192.168.1.10");
  await step("the lab pings the guest", async () => {
    const rtt = await lan.server.ping("192.168.1.20");
    if (rtt === undefined) throw new ProductFailure("no echo reply from 192.168.1.20 within 2 s");
  });
});
