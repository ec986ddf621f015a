import { ProductFailure, scenario } from "../../harness/mod.ts";

export default scenario({
  name: "the target's Debian kernel boots a busybox initramfs to a shell, drives its NIC, and powers off",
  targets: "all",
  timeouts: { bootSeconds: 90 },
}, async ({ lab, target, fixtures }) => {
  const board = await lab.boot(target, {
    kernel: await fixtures.kernel(),
    initrd: await fixtures.initramfs({ init: "shell", modules: target.machine.nic.linuxModules }),
  });
  const sh = await board.shell();

  const machine = await sh.expectOk("uname -m");
  if (machine !== target.guest.unameMachine) {
    throw new ProductFailure(`uname -m says "${machine}"`, { expected: target.guest.unameMachine, seen: machine });
  }

  // The NIC driver loads from the initramfs (dependencies resolved by the fixtures) and the interface
  // appears with the MAC the lab gave the board.
  await sh.expectOk(`modprobe ${target.machine.nic.linuxModules.join(" && modprobe ")}`);
  const mac = await sh.expectOk(`cat /sys/class/net/${target.machine.nic.linuxName}/address`);
  if (mac !== board.mac) throw new ProductFailure(`${target.machine.nic.linuxName} has MAC ${mac}`, { expected: board.mac, seen: mac });

  // A frame sent by the guest reaches the lab LAN: the cable is really plugged in.
  await sh.expectOk(`ip link set ${target.machine.nic.linuxName} up && arping -c 1 -w 2 -I ${target.machine.nic.linuxName} 192.0.2.1 || true`);
  if (!lab.frames.some((f) => f.port === board.name && f.frame[12] === 0x08 && f.frame[13] === 0x06)) {
    throw new ProductFailure("no ARP frame from the board reached the lab LAN", { expected: "an ARP request from " + board.mac });
  }

  await board.powerOff();
});
