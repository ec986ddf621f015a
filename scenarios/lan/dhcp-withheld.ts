import { ProductFailure, scenario } from "../../harness/mod.ts";

// The DHCP server never answers (every DISCOVER dropped on the wire by a fault rule): udhcpc must give up
// with its own words, and the capture/log must show its retries.
export default scenario({
  name: "no OFFER ever comes: udhcpc retries and gives up with its own message",
  targets: ["virt-arm64"],
}, async ({ lab, target, fixtures, step }) => {
  const lan = await lab.lan();
  lan.faults.add({ name: "no DHCP offers", match: { dhcpType: "OFFER" }, action: "drop" });
  const board = await lab.boot(target, {
    kernel: await fixtures.kernel(),
    initrd: await fixtures.initramfs({ modules: target.machine.nic.linuxModules }),
    // Booted once to the shell, restored from there afterwards (where the target allows it).
    snapshot: { at: "shell", name: "nic-shell" },
  });
  const sh = await board.shell();
  const nic = target.machine.nic.linuxName;
  await sh.expectOk(`for m in ${target.machine.nic.linuxModules.join(" ")}; do modprobe $m; done; ip link set ${nic} up`);
  const r = await sh.run(`udhcpc -i ${nic} -n -q -t 3 -T 1 2>&1`, { timeoutMs: 30_000 });
  await step("udhcpc gave up after three discovers", async () => {
    if (r.status === 0) throw new ProductFailure("udhcpc got a lease although every OFFER was dropped", { seen: r.output });
    if (!/no lease, failing/.test(r.output)) throw new ProductFailure("udhcpc did not give up in its own words", { expected: "no lease, failing", seen: r.output });
    const discovers = lan.dhcp.log.filter((e) => e.request === "DISCOVER").length;
    const dropped = lan.faults.log.filter((f) => f.rule === "no DHCP offers").length;
    if (discovers !== 3 || dropped !== 3) {
      throw new ProductFailure(`${discovers} DISCOVERs reached the server, ${dropped} OFFERs were dropped`, { expected: "3 and 3" });
    }
  });
});
