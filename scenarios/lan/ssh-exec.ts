import { ProductFailure, scenario } from "../../harness/mod.ts";

// The lab logs in to Debian's dropbear in the guest over the lab LAN (ssh2 over the lab's own TCP) and
// runs commands: output and exit status come back.
export default scenario({
  name: "ssh exec to dropbear in the guest returns output and exit status",
  targets: "all",
  timeouts: { bootSeconds: 90, stepSeconds: 60 },
}, async ({ lab, target, fixtures, step }) => {
  const lan = await lab.lan();
  const board = await lab.boot(target, {
    kernel: await fixtures.kernel(),
    initrd: await fixtures.initramfs({ modules: target.machine.nic.linuxModules, programs: ["/usr/sbin/dropbear"] }),
    // Booted once to the shell, restored from there afterwards (where the target allows it).
    snapshot: { at: "shell", name: "ssh-shell" },
  });
  const sh = await board.shell();
  await board.networkUp({ ip: "192.168.1.20" });
  const ssh = await board.ssh();
  await step("exec returns output and status", async () => {
    const a = await ssh.exec("uname -m; echo to-stderr >&2");
    if (a.status !== 0 || a.stdout.trim() !== target.guest.unameMachine || a.stderr.trim() !== "to-stderr") {
      throw new ProductFailure("ssh exec gave the wrong answer", { expected: `0, ${target.guest.unameMachine}, to-stderr`, seen: JSON.stringify(a) });
    }
    const b = await ssh.exec("exit 7");
    if (b.status !== 7) throw new ProductFailure(`ssh exec of "exit 7" gave status ${b.status}`, { expected: "7" });
  });
  ssh.close();
});
