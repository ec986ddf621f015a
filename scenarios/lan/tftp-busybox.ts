import { createHash } from "node:crypto";
import { ProductFailure, scenario } from "../../harness/mod.ts";
import { seededBytes } from "../../harness/lan/faults.ts";

// busybox tftp in the guest fetches from the lab's TFTP server: byte-exact on a clean wire at blksize
// 1468, and a 256 KB file again under 10 % seeded loss plus 5 % duplication in both directions (the server's log
// shows the retransmits), and a missing file is the client's own "File not found".
export default scenario({
  name: "busybox tftp fetches 4 MB byte-exact, 256 KB also under 10% loss + duplication; a missing file is error 1",
  targets: "all",
  timeouts: { bootSeconds: 90, stepSeconds: 120 },
}, async ({ lab, target, fixtures, step }) => {
  const lan = await lab.lan();
  const blob = seededBytes(11, 4 << 20);
  const sha = createHash("sha256").update(blob).digest("hex");
  lan.tftpFiles.set("firmware.bin", blob);
  // Each lost datagram costs the server's first retransmit (200 ms): under faults a smaller file keeps
  // the run short while still losing dozens of blocks.
  const small = blob.subarray(0, 256 << 10);
  lan.tftpFiles.set("small.bin", small);
  const smallSha = createHash("sha256").update(small).digest("hex");

  const board = await lab.boot(target, {
    kernel: await fixtures.kernel(),
    initrd: await fixtures.initramfs({ modules: target.machine.nic.linuxModules }),
    // Booted once to the shell, restored from there afterwards (where the target allows it).
    snapshot: { at: "shell", name: "nic-shell" },
  });
  const sh = await board.shell();
  await board.networkUp({ ip: "192.168.1.20" });

  const fetch = async (label: string, file = "firmware.bin", want = sha) => {
    const out = await sh.expectOk(`rm -f /tmp/fw; tftp -b 1468 -g -r ${file} -l /tmp/fw 192.168.1.10 && sha256sum /tmp/fw`, {
      step: `tftp ${file} (${label})`, timeoutMs: 120_000,
    });
    if (!out.startsWith(want)) throw new ProductFailure(`sha256 of the TFTP download (${label}) differs`, { expected: sha, seen: out });
    // The server's record of this transfer: finished, or still waiting for a final ACK that a fault ate
    // (the client has everything and has left; RFC 1350 cannot tell the two apart).
    const t = [...lan.tftp.log, ...lan.tftp.active()].filter((x) => x.file === file).at(-1)!;
    if (t.blksize !== 1468) throw new ProductFailure(`the server negotiated blksize ${t.blksize}`, { expected: "1468" });
    return t;
  };
  await fetch("clean wire");
  // The client's final ACK and its console output race to the harness; give the ACK a moment.
  for (let i = 0; i < 30 && !lan.tftp.log.some((x) => x.file === "firmware.bin"); i++) await new Promise((r) => setTimeout(r, 100));
  const clean = lan.tftp.log.find((x) => x.file === "firmware.bin");
  if (clean?.outcome !== "ok") throw new ProductFailure(`the clean transfer ended "${clean?.outcome ?? "never"}"`, { expected: "ok" });
  await step("10% loss and 5% duplication both ways", async () => {
    lan.faults.add({ name: "10% UDP loss", match: { protocol: "udp", port: 69 }, probability: 0.1, action: "drop" });
    lan.faults.add({ name: "TFTP loss", match: { tftpOpcode: "DATA" }, probability: 0.1, action: "drop" });
    lan.faults.add({ name: "ACK loss", match: { tftpOpcode: "ACK" }, probability: 0.1, action: "drop" });
    lan.faults.add({ name: "duplication", match: { protocol: "udp" }, probability: 0.05, action: "duplicate" });
    const t = await fetch("faults", "small.bin", smallSha);
    if (t.retransmits === 0) throw new ProductFailure("no retransmits logged under 10% loss");
    lan.faults.clear();
  });
  const r = await sh.run("tftp -g -r nope.bin -l /tmp/nope 192.168.1.10 2>&1", { step: "tftp a missing file" });
  if (r.status === 0 || !/File not found/.test(r.output)) throw new ProductFailure("a missing file did not give TFTP error 1", { seen: r.output });
});
