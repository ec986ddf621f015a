import { ProductFailure, scenario } from "../../harness/mod.ts";

// Pulling the cable, two ways: at the board (QMP set_link: the guest sees carrier drop) and at the lab's
// switch port (the guest sees nothing, frames just vanish). Pings stop and come back both times.
export default scenario({
  name: "a pulled cable (QMP set_link, or the switch port) stops traffic until it is plugged back",
  targets: ["virt-arm64", "malta-mipsel"],
  timeouts: { bootSeconds: 90 },
}, async ({ lab, target, fixtures, step }) => {
  const lan = await lab.lan();
  const board = await lab.boot(target, {
    kernel: await fixtures.kernel(),
    initrd: await fixtures.initramfs({ modules: target.machine.nic.linuxModules }),
    // Booted once to the shell, restored from there afterwards (where the target allows it).
    snapshot: { at: "shell", name: "nic-shell" },
  });
  const sh = await board.shell();
  await board.networkUp({ ip: "192.168.1.20" });
  const nic = target.machine.nic.linuxName;
  const ping = () => lan.server.ping("192.168.1.20", 1000);
  await step("QMP set_link off: no carrier, no echo; on again: echo", async () => {
    if ((await ping()) === undefined) throw new ProductFailure("no echo before pulling the cable");
    await board.setLink(false);
    await sh.expectOk(`(for i in 1 2 3 4 5 6 7 8 9 10; do grep -q 0 /sys/class/net/${nic}/carrier && exit 0; sleep 0.2; done; exit 1)`, { step: "the guest sees the carrier drop" });
    if ((await ping()) !== undefined) throw new ProductFailure("an echo came back with the cable pulled");
    await board.setLink(true);
    await sh.expectOk(`(for i in 1 2 3 4 5 6 7 8 9 10; do grep -q 1 /sys/class/net/${nic}/carrier && exit 0; sleep 0.2; done; exit 1)`, { step: "the guest sees the carrier return" });
    let back: number | undefined;
    for (let i = 0; i < 5 && back === undefined; i++) back = await ping();
    if (back === undefined) throw new ProductFailure("no echo after plugging the cable back in");
  });
  await step("switch port down for 2 s: echoes stop, then come back", async () => {
    lan.segment.linkDownFor(board.name, 2000);
    if ((await ping()) !== undefined) throw new ProductFailure("an echo came back through a port that is down");
    await new Promise((r) => setTimeout(r, 1200));
    if ((await ping()) === undefined) throw new ProductFailure("no echo after the port came back up");
  });
});
