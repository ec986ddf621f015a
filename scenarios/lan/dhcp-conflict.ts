import { ProductFailure, scenario } from "../../harness/mod.ts";

// Another host already answers ARP for the address the DHCP server offers: udhcpc's ARP check (-a) must
// see the conflict, DECLINE it, and take the next offer. The lab plays the conflicting host.
export default scenario({
  name: "an offered address already in use: udhcpc declines it and takes the next one",
  targets: ["virt-arm64"],
}, async ({ lab, target, fixtures, step }) => {
  const lan = await lab.lan();
  lan.server.impersonate("192.168.1.100"); // the pool's first address
  const board = await lab.boot(target, {
    kernel: await fixtures.kernel(),
    initrd: await fixtures.initramfs({ modules: target.machine.nic.linuxModules }),
    // Booted once to the shell, restored from there afterwards (where the target allows it).
    snapshot: { at: "shell", name: "nic-shell" },
  });
  const sh = await board.shell();
  const nic = target.machine.nic.linuxName;
  await sh.expectOk(`for m in ${target.machine.nic.linuxModules.join(" ")}; do modprobe $m; done; ip link set ${nic} up`);
  // -A 1: after its DECLINE udhcpc starts over once -A's seconds have passed (RFC 2131 asks for at least ten;
  // busybox's default is 20), and that wait is the client's setting, not what this scenario checks.
  const out = await sh.expectOk(`udhcpc -i ${nic} -n -q -t 5 -T 1 -A 1 -a 2>&1`, { timeoutMs: 30_000 });
  await step("declined .100, leased .101", async () => {
    const requests = lan.dhcp.log.filter((e) => e.mac === board.mac).map((e) => e.request);
    if (!requests.includes("DECLINE")) throw new ProductFailure("udhcpc never sent DHCPDECLINE", { seen: requests.join(", ") });
    if (board.leasedIp() !== "192.168.1.101") throw new ProductFailure(`the lease is ${board.leasedIp()}`, { expected: "192.168.1.101", seen: out });
  });
});
