import { ProductFailure, scenario } from "../../../harness/mod.ts";

// The test suite's snapshot scenario (test/integration/snapshot.test.ts drives it through env:
// BOOTLAB_TEST_DISK, the disk image; BOOTLAB_TEST_VARIANT, a file that changes the initramfs):
// a board prepared up to "network up, marker written to its disk", then checked the same way whether it
// was cold-booted or restored: shell, NIC and LAN both ways, the disk's content, and a write of its own.
const env = process.env;
export default scenario({
  name: "snapshot: prepared shell + lease + disk write; restored or cold, it behaves the same",
  targets: ["virt-arm64", "virt-armhf", "malta-mipsel"],
  timeouts: { bootSeconds: 90, stepSeconds: 60 },
}, async ({ lab, target, fixtures, step, log }) => {
  const modules = [...target.machine.nic.linuxModules, ...target.machine.disk!.linuxModules];
  const extra = env.BOOTLAB_TEST_VARIANT ? [{ path: "etc/variant", data: env.BOOTLAB_TEST_VARIANT }] : [];
  const board = await lab.boot(target, {
    kernel: await fixtures.kernel(),
    initrd: await fixtures.initramfs({ modules, files: extra }),
    disks: [{ path: env.BOOTLAB_TEST_DISK! }],
    snapshot: {
      at: "shell", name: "test-disk-lan",
      prepare: async (b) => {
        const sh = await b.shell();
        await sh.expectOk(`for m in ${target.machine.disk!.linuxModules.join(" ")}; do modprobe $m; done; sleep 1; ls /dev/vda`);
        await sh.expectOk("printf 'prepared' | dd of=/dev/vda bs=1 seek=0 conv=notrunc 2>/dev/null && sync");
        await b.networkUp();
      },
    },
  });
  log(`restored: ${board.restoredFrom ? board.restoredFrom.key : "no (cold boot)"}`);
  const sh = await board.shell();
  const lan = await lab.lan();
  const ip = board.leasedIp();
  await step("the guest's timer ticks: sleep 1 returns", async () => {
    // A restored malta whose CP0 timer QEMU did not re-arm would sit here until Count wraps (~21 s).
    await sh.expectOk("sleep 1", { timeoutMs: 10_000 });
  });
  await step("the guest still holds its lease and reaches the lab", async () => {
    const addr = (await sh.expectOk("ip -4 -o addr show eth0")).match(/inet (\S+)\//)?.[1];
    if (!addr || (ip && addr !== ip)) throw new ProductFailure("the guest's address differs from its lease", { expected: ip, seen: addr });
    await sh.expectOk(`ping -c 1 -W 2 ${lan.server.ip}`);
    if ((await lan.server.ping(addr, 2000)) === undefined) throw new ProductFailure(`the lab cannot ping ${addr}`);
    // The lease is renewed by the lab that runs now.
    await sh.expectOk("udhcpc -i eth0 -n -q -t 3 -T 1");
  });
  await step("the disk holds what preparation wrote; this run's write is its own", async () => {
    const head = await sh.expectOk("dd if=/dev/vda bs=1 count=8 2>/dev/null");
    if (head !== "prepared") throw new ProductFailure("the disk lost the prepared marker", { expected: "prepared", seen: head });
    // A token of this run's own: a fork restored from the same snapshot next to it writes another.
    const mine = `fork-${Math.random().toString(36).slice(2, 10)}`;
    await sh.expectOk(`printf '%s' ${mine} | dd of=/dev/vda bs=1 seek=4096 conv=notrunc 2>/dev/null && sync`);
    // Let a sibling fork write too before reading back.
    await sh.expectOk("sleep 2");
    const back = await sh.expectOk(`dd if=/dev/vda bs=1 skip=4096 count=${mine.length} 2>/dev/null`);
    if (back !== mine) throw new ProductFailure("another machine's write shows on this disk", { expected: mine, seen: back });
  });
  await board.powerOff();
});
